"""Fixtures of the firmware tests: a simulated door controller and a raw-frame host already in session."""

from __future__ import annotations

import pytest
from raw_host import RawHost

from simulators.doors.sim import DoorSim


@pytest.fixture
def sim() -> DoorSim:
    return DoorSim()


@pytest.fixture
def host(sim: DoorSim) -> RawHost:
    host = RawHost(sim)
    host.pump()
    host.hello()
    return host
