"""Render a documented example configuration from the schema, so the example can never drift from it.

`echannel config example > config/gate.example.toml`; a test checks the shipped file is up to date.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from edge.config.schema import GateConfig

HEADER = """\
# e-Channel gate configuration (a real gate). Copy to /etc/echannel/gate.toml and edit.
# Every key is shown with its default; paths are relative to this file unless absolute.
# Validate with: echannel config check /etc/echannel/gate.toml
"""


def render(schema: type = GateConfig) -> str:
    lines = [HEADER]
    _section(schema, [], lines)
    return "\n".join(lines).rstrip() + "\n"


def _section(cls: type, path: list[str], lines: list[str]) -> None:
    hints = typing.get_type_hints(cls)
    scalars = [f for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[f.name])]
    tables = [f for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])]
    if path and scalars:
        lines.append(f"[{'.'.join(path)}]")
    for f in scalars:
        lines.append(f"# {_describe(f)}")
        lines.append(f"{f.name} = {_toml(_example(f))}")
    if path and scalars:
        lines.append("")
    for f in tables:
        _section(hints[f.name], [*path, f.name], lines)


def _describe(f: dataclasses.Field) -> str:
    meta = f.metadata
    parts = [meta.get("help") or f.name.replace("_", " ")]
    if meta.get("min") is not None or meta.get("max") is not None:
        parts.append(f"range {_num(meta.get('min'))}..{_num(meta.get('max'))}")
    if meta.get("choices"):
        parts.append("one of " + ", ".join(_toml(c) for c in meta["choices"]))
    if meta.get("exists"):
        parts.append(f"must be an existing {meta['exists']}")
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        parts.append("required")
    return "; ".join(parts)


def _example(f: dataclasses.Field) -> Any:
    if "example" in f.metadata and f.metadata["example"] is not None:
        return f.metadata["example"]
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return ""


def _num(value: Any) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
