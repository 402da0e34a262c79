"""Card fixtures: the machine's one pcscd (ours, with a generated reader.conf) and a vpcd card emulator.

`pcscd` lives for one test module (so other modules, e.g. the simulated gate's, can start their own:
pcscd is one per machine); `emulator` gives each test an empty reader and leaves one: at teardown
it pulls whatever card is in and waits for pcscd to report ABSENT, so the next test never sees a stale
PRESENT. Tests that use them carry the `card` marker (pcscd is a machine-wide resource: run serially).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from simulators.card.emulator import VpcdEmulator
from simulators.card.pcscd import PcscDaemon, PcscdError, running_pcscd_pid


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscDaemon]:
    if shutil.which("pcscd") is None:
        pytest.fail("pcscd is not installed (bash .ci/setup installs it)")
    if running_pcscd_pid() is not None:
        daemon = PcscDaemon.attach()  # a system pcscd: use its stock vpcd reader, leave it running
    else:
        try:
            daemon = PcscDaemon(log_dir=str(tmp_path_factory.mktemp("pcscd"))).start()
        except PcscdError as exc:
            pytest.fail(str(exc))
    yield daemon
    daemon.stop()


@pytest.fixture
def emulator(pcscd: PcscDaemon) -> Iterator[VpcdEmulator]:
    pcscd.wait_for_card(present=False, timeout=5)
    emulator = VpcdEmulator(port=pcscd.port or 35963)
    yield emulator
    emulator.close()
    pcscd.wait_for_card(present=False, timeout=5)
