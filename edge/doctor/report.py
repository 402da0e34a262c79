"""Load the configuration leniently, run the checks, print them (text or JSON), choose the exit status."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TextIO

from edge.config.schema import GateConfig
from edge.config.validate import ConfigError, parse_config
from edge.doctor.framework import DoctorContext, Status, registered_checks, run_checks

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def load_lenient(path: Path) -> GateConfig:
    """Types, ranges and choices checked; files and devices NOT required to exist, so that each check can
    report its own missing path with its own fix (the `config` check reports them all too)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such configuration file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(raw, GateConfig)


def doctor_main(
    config_file: str,
    *,
    as_json: bool,
    only: list[str] | None,
    skip: list[str],
    timeout_s: float,
    list_only: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    checks, _ = registered_checks()
    if list_only:
        for c in checks:
            print(f"{c.name:12} {c.title}", file=out)
        return EXIT_OK
    known = {c.name for c in checks}
    unknown = sorted(set(only or []) | set(skip) - known)
    unknown = [n for n in unknown if n not in known]
    if unknown:
        print(f"doctor: unknown check(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})", file=err)
        return EXIT_CONFIG
    path = Path(config_file)
    try:
        config = load_lenient(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{config_file}: {problem}", file=err)
        return EXIT_CONFIG
    ctx = DoctorContext(config=config, config_path=path, timeout_s=timeout_s)
    selected = [n for n in (only or [c.name for c in checks]) if n not in skip]
    results = run_checks(ctx, selected)
    failed = any(result.status is Status.FAIL for _, result, _ in results)
    if as_json:
        document = {
            "config": str(path),
            "ok": not failed,
            "skipped_by_request": sorted(skip),
            "checks": [
                {"name": c.name, "title": c.title, "status": str(r.status), "message": r.message, "fix": r.fix,
                 "seconds": round(seconds, 3), "details": r.details}
                for c, r, seconds in results
            ],
        }
        json.dump(document, out, indent=2, default=str)
        out.write("\n")
    else:
        for c, r, _ in results:
            print(f"{r.status.upper():4}  {c.name:12} {r.message}", file=out)
            if r.fix and r.status in (Status.FAIL, Status.WARN):
                print(f"{'':6}{'':12} fix: {r.fix}", file=out)
        counts = {s: sum(1 for _, r, _ in results if r.status is s) for s in Status}
        print(f"doctor: {counts[Status.PASS]} passed, {counts[Status.WARN]} warnings, {counts[Status.SKIP]} skipped, "
              f"{counts[Status.FAIL]} failed", file=out)
    return EXIT_FAILED if failed else EXIT_OK
