"""Turn a TOML document into typed configuration dataclasses, collecting every problem at once.

A section is a frozen dataclass; each field may carry metadata:
    setting(default, help="...", min=0, max=10)      range check for numbers
    setting(default, choices=("bac", "pace"))        allowed values
    setting(default, exists="file" | "dir" | "device")   the named path must exist
    setting(example="hkg-lok-ma-chau")               shown in the generated example for required keys
    setting(exists="dir", runtime=True)              a path that may appear only at run time (devices, and what
                                                     a simulated gate's launcher creates): checked only when
                                                     devices are checked
Problems are reported one per line, each naming its key in dotted form (`gate.timeouts.face_capture_s`).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_INVALID: Any = object()  # marks a value that failed validation (its problem is already recorded)


class ConfigError(Exception):
    """The configuration has problems; `problems` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
    exists: str | None = None,
    example: Any = None,
    runtime: bool = False,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    metadata = {
        "help": help,
        "min": min,
        "max": max,
        "choices": choices,
        "exists": exists,
        "example": example,
        "runtime": runtime or exists == "device",
    }
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def load_config(
    path: str | os.PathLike[str], schema: type[T] | None = None, *, check_devices: bool = True
) -> T:
    """Read and validate `path`; raise ConfigError listing every problem.

    Files and directories named in the configuration must exist; devices and other run-time paths too
    unless `check_devices` is false (a simulated gate's pseudo-terminals and test trust store exist only
    while its simulators run).
    """
    from edge.config.schema import GateConfig

    schema = schema or GateConfig  # type: ignore[assignment]
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{file}: no such configuration file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: not valid TOML: {exc}"]) from None
    problems: list[str] = []
    ctx = _Context(file.resolve().parent, check_devices)
    value = _build(schema, raw, "", problems, ctx)  # type: ignore[arg-type]
    if problems:
        raise ConfigError(problems)
    return value


def parse_config(raw: dict[str, Any], schema: type[T], base: Path | None = None) -> T:
    """Validate an already-parsed mapping (tests, defaults); paths are checked only when `base` is given."""
    problems: list[str] = []
    value = _build(schema, raw, "", problems, _Context(base, base is not None))
    if problems:
        raise ConfigError(problems)
    return value


@dataclasses.dataclass(frozen=True)
class _Context:
    base: Path | None  # directory that relative paths are resolved against; None: paths are not checked
    check_devices: bool


def _build(cls: type, raw: Any, prefix: str, problems: list[str], ctx: _Context) -> Any:
    where = prefix.rstrip(".") or "(top level)"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table, got {_kind(raw)}")
        return _INVALID
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            close = _closest(key, list(fields))
            hint = f" (did you mean '{close}'?)" if close else ""
            problems.append(f"{prefix}{key}: unknown key{hint}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                if dataclasses.is_dataclass(hints[name]):
                    values[name] = _build(hints[name], {}, f"{key}.", problems, ctx)
                else:
                    problems.append(f"{key}: required key is missing")
            continue
        values[name] = _convert(hints[name], raw[name], key, f.metadata, problems, ctx)
    if any(v is _INVALID for v in values.values()):
        return _INVALID
    try:
        return cls(**values)
    except TypeError:
        return _INVALID  # a problem has already been recorded for the missing field


def _convert(tp: Any, value: Any, key: str, meta: Any, problems: list[str], ctx: _Context) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):  # optional settings: `X | None`
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value, key, meta, problems, ctx)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, f"{key}.", problems, ctx)
    if origin in (list, tuple):
        (item_type, *_) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{key}: expected a list, got {_kind(value)}")
            return _INVALID
        items = [_convert(item_type, v, f"{key}[{i}]", meta, problems, ctx) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{key}: expected a table, got {_kind(value)}")
            return _INVALID
        _, value_type = typing.get_args(tp)
        return {k: _convert(value_type, v, f"{key}.{k}", meta, problems, ctx) for k, v in value.items()}
    expected = _SCALARS.get(tp)
    if expected is not None:
        wanted, accepts = expected
        if isinstance(value, bool) != (tp is bool) or not isinstance(value, accepts):
            problems.append(f"{key}: expected {wanted}, got {_kind(value)}")
            return _INVALID
        if tp is float:
            value = float(value)
    return _check(value, key, meta, problems, ctx)


# type -> (what to call it in a message, Python types a TOML value may have)
_SCALARS: dict[Any, tuple[str, Any]] = {
    float: ("a number", int | float),
    int: ("an integer", int),
    bool: ("true or false", bool),
    str: ("a string", str),
}


def _check(value: Any, key: str, meta: Any, problems: list[str], ctx: _Context) -> Any:
    low, high, choices, exists = meta.get("min"), meta.get("max"), meta.get("choices"), meta.get("exists")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if low is not None and value < low:
            problems.append(f"{key}: {value} is below the minimum {low}")
            return _INVALID
        if high is not None and value > high:
            problems.append(f"{key}: {value} is above the maximum {high}")
            return _INVALID
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        problems.append(f"{key}: {value!r} is not one of {allowed}")
        return _INVALID
    if exists and isinstance(value, str) and value and ctx.base is not None:
        if meta.get("runtime") and not ctx.check_devices:
            return value
        path = Path(value) if Path(value).is_absolute() else ctx.base / value
        problem = _path_problem(path, exists)
        if problem:
            problems.append(f"{key}: {value}: {problem}")
    return value


def _path_problem(path: Path, kind: str) -> str:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"no such {'device' if kind == 'device' else kind}"
    except OSError as exc:
        return f"cannot access: {exc.strerror}"
    if kind == "file" and not stat.S_ISREG(mode):
        return "not a regular file"
    if kind == "dir" and not stat.S_ISDIR(mode):
        return "not a directory"
    if kind == "device" and not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
        return "not a device"
    return ""


def resolve_path(config_file: str | os.PathLike[str], value: str) -> Path:
    """Paths in a configuration are relative to the file that names them."""
    path = Path(value)
    return path if path.is_absolute() else Path(config_file).resolve().parent / path


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _closest(key: str, candidates: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.7)
    return match[0] if match else None
