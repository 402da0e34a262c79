"""The checks registry and runner: checks never raise, they return a Result (a crash becomes a failure)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.config.schema import GateConfig
from edge.config.validate import resolve_path

# Modules whose import registers checks, in the order they run. A module that cannot be imported is
# reported as one skipped check, so a gate without an optional area still gets its other checks.
CHECK_MODULES: tuple[str, ...] = (
    "edge.doctor.checks.system",
    "edge.doctor.checks.document",
    "edge.doctor.checks.camera",
    "edge.doctor.checks.doors",
    "edge.doctor.checks.panel",
    "edge.doctor.checks.telemetry",
    "edge.doctor.checks.models",
)
# Checks an area keeps next to its own code (e.g. the face area's "camera sees a face"): imported when the
# module exists, silently left out when it does not.
AREA_CHECK_MODULES: tuple[str, ...] = (
    "edge.document.doctor_checks",
    "edge.biometrics.doctor_checks",
    "edge.doors.doctor_checks",
    "edge.panel.doctor_checks",
    "edge.telemetry.doctor_checks",
)


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"  # works, but someone should look (no card on the reader, CRL ageing)
    SKIP = "skip"  # not applicable or not possible here (module not installed, telemetry disabled)
    FAIL = "fail"  # the gate cannot work like this: exit status 1


@dataclass(frozen=True)
class Result:
    status: Status
    message: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, message: str, **details: Any) -> Result:
        return cls(Status.PASS, message, details=details)

    @classmethod
    def warn(cls, message: str, fix: str = "", **details: Any) -> Result:
        return cls(Status.WARN, message, fix, details)

    @classmethod
    def skip(cls, message: str, **details: Any) -> Result:
        return cls(Status.SKIP, message, details=details)

    @classmethod
    def fail(cls, message: str, fix: str, **details: Any) -> Result:
        return cls(Status.FAIL, message, fix, details)


@dataclass
class DoctorContext:
    """What every check gets: the configuration (paths not yet checked, so each check can say what is
    missing), the file it came from, a time budget per check, and `shared` for passing results on."""

    config: GateConfig
    config_path: Path
    timeout_s: float = 5.0
    shared: dict[str, Any] = field(default_factory=dict)

    def path(self, value: str) -> Path:
        """A path from the configuration, relative to the configuration file."""
        return resolve_path(self.config_path, value).resolve()


CheckFunction = Callable[[DoctorContext], Result]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    run: CheckFunction
    after: str | None = None


_REGISTRY: dict[str, Check] = {}


def check(name: str, *, title: str, after: str | None = None) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check. `after` names a check whose results (in ctx.shared) this one uses."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in _REGISTRY and _REGISTRY[name].run is not function:
            raise ValueError(f"doctor check {name!r} is registered twice")
        _REGISTRY[name] = Check(name, title, function, after)
        return function

    return register


def registered_checks(modules: Iterable[str] = CHECK_MODULES) -> tuple[list[Check], list[tuple[str, str]]]:
    """Import the check modules; return the checks in run order and (module, reason) for those that failed."""
    broken = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            broken.append((module, str(exc)))
    for module in AREA_CHECK_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the module exists but something it needs does not
                broken.append((module, str(exc)))
        except ImportError as exc:
            broken.append((module, str(exc)))
    return _ordered(list(_REGISTRY.values())), broken


def _ordered(checks: list[Check]) -> list[Check]:
    names = {c.name for c in checks}
    done: list[Check] = []
    pending = list(checks)
    while pending:
        for c in pending:
            if c.after is None or c.after not in names or any(d.name == c.after for d in done):
                done.append(c)
                pending.remove(c)
                break
        else:  # a cycle: run the rest in registration order
            done.extend(pending)
            break
    return done


def run_checks(ctx: DoctorContext, only: Iterable[str] | None = None) -> list[tuple[Check, Result, float]]:
    """Run the registered checks (or those named in `only`); return (check, result, seconds) each."""
    checks, broken = registered_checks()
    wanted = set(only) if only else None
    results = []
    for module, reason in broken:
        name = module.rsplit(".", 1)[-1]
        if wanted is None or name in wanted:
            stub = Check(name, f"checks from {module}", lambda _ctx: Result.skip(""))
            results.append((stub, Result.skip(f"check module not installed: {reason}"), 0.0))
    for c in checks:
        if wanted is not None and c.name not in wanted:
            continue
        started = time.monotonic()
        try:
            result = c.run(ctx)
        except Exception as exc:  # a check must not take the doctor down; its crash is the finding
            result = Result.fail(
                f"the check itself failed: {type(exc).__name__}: {exc}",
                "report this as a bug in echannel doctor, with the output of --json",
            )
        results.append((c, result, time.monotonic() - started))
    return results
