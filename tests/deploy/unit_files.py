"""Helpers for checking the unit files offline (no running systemd on this machine or in CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "systemd").glob("*.service"))
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def exec_paths(unit: Path) -> list[str]:
    """Absolute program paths of the Exec*= lines (prefixes such as '-' or '+' removed)."""
    paths = []
    for line in unit.read_text().splitlines():
        match = re.match(r"\s*Exec\w+=\s*[-@:+!]*(/\S+)", line)
        if match:
            paths.append(match.group(1))
    return paths


def verify_root(root: Path, units: list[Path]) -> Path:
    """A throwaway root in which `systemd-analyze verify --root` can load `units`: the distribution's own
    units (targets, pcscd.socket) and an executable stub at every Exec path the units name."""
    (root / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    if not (root / "usr/lib/systemd/system").exists():
        shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True, exist_ok=True)
    for unit in units:
        shutil.copy(unit, target / unit.name)
        for program in exec_paths(unit):
            stub = root / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\nexit 0\n")
            stub.chmod(0o755)
    return root


def verify(root: Path, unit_name: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify`; note that it exits 0 even for unknown keys or unparsable values, which it
    reports on stderr only, so callers must treat any output as a failure."""
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", unit_name],
        capture_output=True,
        text=True,
        timeout=60,
    )


def security(unit: Path) -> tuple[float, str, str]:
    """(overall exposure, its verdict such as 'OK', the whole table) from the offline security review."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--no-pager", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    if not match:
        raise AssertionError(f"no overall exposure in:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1)), match.group(2), result.stdout
