"""config/simulated.toml moved aside, for tests that bring up a simulated gate beside someone else's."""

from __future__ import annotations

import json
from pathlib import Path

from simulators.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SIMULATED = ROOT / "config" / "simulated.toml"


def simulated_config(directory: Path, work_dir: Path, models_dir: Path) -> Path:
    """config/simulated.toml with its work directory, TCP ports and models directory moved."""
    text = SIMULATED.read_text()
    text = text.replace("/tmp/echannel-sim", str(work_dir))
    for port in ("18830", "18554", "18470"):
        assert port in text
        text = text.replace(port, str(free_port()))
    assert 'models_dir = "../models"' in text
    text = text.replace('models_dir = "../models"', f"models_dir = {json.dumps(str(models_dir))}")
    path = directory / "simulated.toml"
    path.write_text(text)
    return path
