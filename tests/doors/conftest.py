"""Fixtures of the door-link tests (the rig itself is door_rig.py)."""

import pytest
from door_rig import PtyRig


@pytest.fixture
def rig():
    rig = PtyRig().start()
    yield rig
    rig.stop()
