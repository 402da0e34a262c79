"""`echannel firmware build` output, and the optional door encoder."""

from __future__ import annotations

from pathlib import Path

from raw_host import RawHost

from edge.commands.firmware import build
from firmware import config
from firmware import protocol as P
from simulators.doors.sim import DoorSim, make_config


def test_build_compiles_every_module_and_keeps_main_as_source(tmp_path: Path) -> None:
    files = {path.name for path in build(tmp_path)}
    assert {"protocol.mpy", "controller.mpy", "door.mpy", "sensors.mpy", "hal.mpy", "config.mpy"} <= files
    assert "main.py" in files and "main.mpy" not in files  # MicroPython boots main.py
    assert all((tmp_path / name).stat().st_size > 0 for name in files)


def test_an_encoder_reports_the_door_opening_in_percent() -> None:
    entry = dict(config.DOORS[0], encoder=(18, 19))
    sim = DoorSim(make_config(DOORS=(entry, config.DOORS[1])))
    host = RawHost(sim)
    host.hello()
    host.command(P.OP_CLOSE, P.DOOR_ENTRY)
    host.run(2000)
    assert host.status().doors[P.DOOR_ENTRY].percent == 0
    host.command(P.OP_OPEN, P.DOOR_ENTRY)
    host.run(700)
    halfway = host.status().doors[P.DOOR_ENTRY].percent
    assert 20 < halfway < 80
    host.run(1500)
    assert host.status().doors[P.DOOR_ENTRY].percent == 100


def test_unknown_configuration_names_are_refused() -> None:
    try:
        make_config(LINK_TIMEOUT=5)
    except ValueError as error:
        assert "LINK_TIMEOUT" in str(error)
    else:
        raise AssertionError("accepted a misspelt name")
