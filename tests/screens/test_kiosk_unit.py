"""The kiosk unit that shows the traveller's page on the gate's screen: loads cleanly in systemd, points at
the page the daemon serves, and keeps its security exposure "OK" (at most 2.5, the house's goal)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edge.config import GateConfig  # noqa: F401  (first: settings modules import edge.config, which imports them)
from edge.display.settings import DisplaySettings

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "echannel-kiosk.service"
pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


def test_the_kiosk_unit_verifies_without_a_complaint(tmp_path):
    # A throwaway root: the distribution's units, a stand-in daemon unit, and stubs at the programs it runs.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(UNIT, units / UNIT.name)
    (units / "echannel.service").write_text("[Service]\nExecStart=/bin/true\n")
    for program in re.findall(r"^Exec\w+=[-@:+!]*(/\S+)", UNIT.read_text(), re.MULTILINE):
        stub = tmp_path / program.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={tmp_path}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_the_kiosk_exposure_is_ok():
    result = subprocess.run(
        ["systemd-analyze", "security", "--no-pager", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5 and match.group(2) == "OK", result.stdout


def test_the_kiosk_shows_the_daemons_page_full_screen_with_a_fresh_profile():
    text = UNIT.read_text()
    settings = DisplaySettings()
    assert f"ECHANNEL_DISPLAY_URL=http://{settings.bind}:{settings.port}/" in text
    assert f"/dev/tcp/{settings.bind}/{settings.port}" in text  # waits for the page before starting
    for flag in (
        "--kiosk",
        "--app=${ECHANNEL_DISPLAY_URL}",
        "--user-data-dir=${RUNTIME_DIRECTORY}/profile",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        assert flag in text
    assert "IPAddressAllow=localhost" in text and "IPAddressDeny=any" in text
