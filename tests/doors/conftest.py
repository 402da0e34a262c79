"""Fixtures of the door-link tests (the rig itself is door_rig.py)."""

import pytest
from door_rig import Rig


@pytest.fixture
def rig():
    rig = Rig().start()
    yield rig
    rig.stop()
