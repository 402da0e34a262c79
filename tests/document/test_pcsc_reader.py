"""The document reader adapter through the real pcscd, vpcd and the card emulator, with the MRZ arriving
over a pseudo-terminal as from an OCR page reader: genuine TD1 and TD3 documents authenticate with BAC and
PACE; every forged variant is refused for its own check with the others still reported; a card pulled
mid-read is refused as retryable with its checks aborted, and the next card reads."""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.config.schema import DocumentSettings  # via the schema: edge.document.settings alone is circular
from edge.document import checks as C
from edge.document.mrz_reader import SerialMrzReader
from edge.document.reader import PcscDocumentReader
from edge.document.trust import TrustStore
from edge.gate.events import CheckResult, DocumentAuthenticated, DocumentPresented, DocumentRejected, Event
from simulators.card.emulator import Faults, VpcdEmulator, document_chip
from simulators.card.factory import DEFECTS, Document, TestPKI, issue_document
from simulators.card.mrz_pty import MrzPty
from simulators.card.pcscd import PcscDaemon
from simulators.processes import wait_until

pytestmark = pytest.mark.card

S, F, A = CheckResult.SUCCESSFUL, CheckResult.FAILED, CheckResult.ABORTED

EXPECTED_FAILURE = {
    "tampered_dg1": C.DATA_GROUP_HASHES,
    "tampered_dg2": C.DATA_GROUP_HASHES,
    "bad_sod_signature": C.SOD_SIGNATURE,
    "unknown_csca": C.SIGNER_CHAIN,
    "revoked_signer": C.SIGNER_REVOCATION,
    "expired_signer": C.SIGNER_VALIDITY,
    "signer_not_yet_valid": C.SIGNER_VALIDITY,
    "expired_document": C.DOCUMENT_EXPIRY,
    "cloned_chip": C.ACTIVE_AUTHENTICATION,
}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI(seed=31)


@pytest.fixture(scope="module")
def trust_store(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    return TrustStore.load(pki.write_trust_store(tmp_path_factory.mktemp("trust"), master_list=True))


class Gate:
    """The reader adapter as the daemon runs it, with the traveller's side: the OCR reader (a pty) and the
    contactless field (the emulator). `present()` returns the events one document produced."""

    def __init__(self, pcscd: PcscDaemon, emulator: VpcdEmulator, reader: PcscDocumentReader, pty: MrzPty):
        self.pcscd, self.emulator, self.reader, self.pty = pcscd, emulator, reader, pty
        self.events: queue.Queue[Event] = queue.Queue()

    def next_event(self, timeout: float = 10.0) -> Event:
        return self.events.get(timeout=timeout)

    def present(self, document: Document, faults: Faults | None = None, *, scan: bool = True) -> list[Event]:
        self.take_away()
        if scan:
            self.pty.send(document.mrz)
        self.emulator.insert(document_chip(document), faults)
        self.pcscd.wait_for_card(present=True)
        events = [self.next_event()]
        if isinstance(events[0], DocumentPresented):
            events.append(self.next_event())
        return events

    def take_away(self) -> None:
        self.emulator.remove()
        self.pcscd.wait_for_card(present=False)


@pytest.fixture
def gate(pcscd: PcscDaemon, emulator: VpcdEmulator, trust_store: TrustStore, tmp_path: Path) -> Iterator[Gate]:
    yield from _gate(pcscd, emulator, trust_store, tmp_path, "bac")


@pytest.fixture
def pace_gate(pcscd: PcscDaemon, emulator: VpcdEmulator, trust_store: TrustStore, tmp_path: Path) -> Iterator[Gate]:
    yield from _gate(pcscd, emulator, trust_store, tmp_path, "pace")


def _gate(pcscd, emulator, trust_store, tmp_path, protocol) -> Iterator[Gate]:
    with MrzPty(link=tmp_path / "mrz") as pty, SerialMrzReader(pty.path) as mrz_reader:
        settings = DocumentSettings(reader=pcscd.reader, access_control=protocol, mrz_wait_s=5)
        reader = PcscDocumentReader(settings, mrz_source=mrz_reader, trust_store=trust_store)
        gate = Gate(pcscd, emulator, reader, pty)
        reader.start(gate.events.put)
        reader.accept_documents(True)
        wait_until(lambda: mrz_reader.connected, timeout=5, what="MRZ reader on the pty")  # else a scan is dropped
        try:
            yield gate
        finally:
            reader.stop()


def assert_authenticated(events: list[Event], protocol: str, kind: str) -> DocumentAuthenticated:
    presented, result = events
    assert isinstance(presented, DocumentPresented)
    assert isinstance(result, DocumentAuthenticated), result
    assert (result.protocol, result.document_type) == (protocol, kind)
    checks = dict(result.checks)
    assert set(checks) == set(C.CHECK_NAMES)
    assert all(checks[name] is S for name in (*C.MANDATORY, C.ACTIVE_AUTHENTICATION, C.DG1_MATCHES_MRZ))
    assert isinstance(result.portrait, np.ndarray) and result.portrait.ndim == 3
    assert result.apdu_count > 10 and result.read_ms > 0
    return result


@pytest.mark.parametrize("kind", ["TD1", "TD3"])
def test_genuine_documents_authenticate_with_bac(
    gate: Gate, pki: TestPKI, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    document = issue_document(pki, kind=kind, seed=f"bac-{kind}")
    with caplog.at_level(logging.DEBUG):
        event = assert_authenticated(gate.present(document), "BAC", kind)
    # Nothing personal in the logs or the event's printed form: no MRZ line, number or name.
    holder = document.holder
    assert holder is not None and "document authenticated" in caplog.text
    for secret in (*document.mrz.splitlines(), holder.document_number, holder.surname):
        assert secret not in caplog.text and secret not in repr(event)


@pytest.mark.parametrize(("kind", "curve"), [("TD1", "P-256"), ("TD3", "brainpoolP256r1")])
def test_genuine_documents_authenticate_with_pace(pace_gate: Gate, pki: TestPKI, kind: str, curve: str) -> None:
    document = issue_document(pki, kind=kind, seed=f"pace-{kind}", pace_curves=(curve,), active_authentication="rsa")
    assert_authenticated(pace_gate.present(document), "PACE", kind)


def test_every_forged_variant_is_refused_for_its_own_check(gate: Gate, pki: TestPKI) -> None:
    for defect in DEFECTS:
        events = gate.present(issue_document(pki, kind="TD3", seed=f"forged-{defect}", defect=defect))
        presented, result = events
        assert isinstance(presented, DocumentPresented)
        assert isinstance(result, DocumentRejected), (defect, result)
        checks = dict(result.checks)
        assert set(checks) == set(C.CHECK_NAMES), defect
        assert {name for name, value in checks.items() if value is F} == {EXPECTED_FAILURE[defect]}, defect
        assert A not in checks.values() and not result.retryable, defect
        assert result.reason == C.FAILURE_REASONS[EXPECTED_FAILURE[defect]]


def test_card_pulled_mid_read_is_retryable_and_the_next_card_reads(gate: Gate, pki: TestPKI) -> None:
    document = issue_document(pki, kind="TD1", seed="pulled")
    _presented, result = gate.present(document, Faults(pull_after=12))
    assert isinstance(result, DocumentRejected)
    assert (result.reason, result.retryable) == ("card_removed", True)
    assert dict(result.checks)[C.SOD_SIGNATURE] is A and dict(result.checks)[C.MRZ_CHECK_DIGITS] is S
    assert_authenticated(gate.present(document), "BAC", "TD1")


def test_no_mrz_scan_is_refused_as_retryable(pcscd, emulator, trust_store, tmp_path, pki) -> None:
    with MrzPty() as pty, SerialMrzReader(pty.path) as mrz_reader:
        settings = DocumentSettings(reader=pcscd.reader, mrz_wait_s=0.2)
        reader = PcscDocumentReader(settings, mrz_source=mrz_reader, trust_store=trust_store)
        gate = Gate(pcscd, emulator, reader, pty)
        reader.start(gate.events.put)
        reader.accept_documents(True)
        try:
            _presented, result = gate.present(issue_document(pki, seed="no-scan"), scan=False)
        finally:
            reader.stop()
    assert isinstance(result, DocumentRejected) and (result.reason, result.retryable) == ("mrz_missing", True)


def test_documents_are_read_only_while_accepted(gate: Gate, pki: TestPKI) -> None:
    gate.reader.accept_documents(False)
    document = issue_document(pki, kind="TD1", seed="waiting")
    gate.pty.send(document.mrz)
    gate.emulator.insert(document_chip(document))
    gate.pcscd.wait_for_card(present=True)
    with pytest.raises(queue.Empty):
        gate.next_event(timeout=0.5)
    gate.reader.accept_documents(True)  # the card already on the reader is read now
    assert_authenticated([gate.next_event(), gate.next_event()], "BAC", "TD1")
    assert gate.reader.health().ok and gate.reader.health().figures["reads"] == 1


def test_the_daemon_way_under_asyncio_with_the_configured_mrz_port(pcscd, emulator, trust_store, pki, tmp_path) -> None:
    """As the daemon runs it: settings name the MRZ port, `run(emit)` is an asyncio task, emit is called from
    the adapter's thread, cancelling the task stops everything."""
    document = issue_document(pki, kind="TD1", seed="asyncio")

    async def scenario(pty: MrzPty) -> list[Event]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()
        settings = DocumentSettings(reader=pcscd.reader, mrz_port=pty.path, access_control="pace")
        reader = PcscDocumentReader(settings, trust_store=trust_store)
        task = asyncio.create_task(reader.run(lambda event: loop.call_soon_threadsafe(events.put_nowait, event)))
        await asyncio.to_thread(wait_until, lambda: reader.health().ok, timeout=5, what="adapter healthy")
        reader.accept_documents(True)
        pty.send(document.mrz)
        await asyncio.to_thread(emulator.insert, document_chip(document))
        received = [await asyncio.wait_for(events.get(), 10), await asyncio.wait_for(events.get(), 10)]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reader.health().detail == "stopped"
        return received

    with MrzPty(link=tmp_path / "mrz") as pty:
        events = asyncio.run(scenario(pty))
    assert_authenticated(events, "PACE", "TD1")


def test_health_names_a_missing_reader(pcscd: PcscDaemon) -> None:
    reader = PcscDocumentReader(DocumentSettings(reader="no such reader"), can="123456", retry_interval_s=0.05)
    reader.start(lambda event: None)
    try:
        wait_until(lambda: "no reader matching" in reader.health().detail, timeout=5, what="health report")
        assert not reader.health().ok
    finally:
        reader.stop()


@pytest.mark.parametrize("extended", [True, False])
def test_a_portrait_beyond_32_kb_reads_through_pcscd(gate: Gate, pki: TestPKI, extended: bool) -> None:
    noise = np.random.default_rng(7).integers(0, 255, (640, 480, 3), dtype=np.uint8)
    document = issue_document(pki, kind="TD3", seed=f"big-{extended}", portrait=noise, portrait_max_bytes=None)
    assert len(document.files["DG2"]) > 40_000
    gate.take_away()
    gate.pty.send(document.mrz)
    gate.emulator.insert(document_chip(document, extended_length=extended))
    gate.pcscd.wait_for_card(present=True)
    event = assert_authenticated([gate.next_event(), gate.next_event()], "BAC", "TD3")
    assert event.portrait.shape == (640, 480, 3)
    assert event.apdu_count > (len(document.files["DG2"]) // 256 if not extended else 0)


def test_pace_with_a_card_access_number_needs_no_mrz(pcscd, emulator, trust_store, pki) -> None:
    document = issue_document(pki, kind="TD1", seed="can")
    reader = PcscDocumentReader(DocumentSettings(reader=pcscd.reader), can=document.can, trust_store=trust_store)
    events: queue.Queue[Event] = queue.Queue()
    reader.start(events.put)
    reader.accept_documents(True)
    try:
        emulator.insert(document_chip(document))
        presented, result = events.get(timeout=10), events.get(timeout=10)
    finally:
        reader.stop()
    assert isinstance(presented, DocumentPresented) and isinstance(result, DocumentAuthenticated)
    assert result.protocol == "PACE" and dict(result.checks)[C.DG1_MATCHES_MRZ] is CheckResult.NOT_SUPPORTED


def test_an_mrz_scanned_just_after_the_chip_is_seen_is_waited_for(gate: Gate, pki: TestPKI) -> None:
    document = issue_document(pki, kind="TD3", seed="late-scan")
    gate.take_away()
    gate.emulator.insert(document_chip(document))
    assert isinstance(gate.next_event(), DocumentPresented)  # the chip is seen, no scan yet
    gate.pty.send(document.mrz)
    result = gate.next_event()
    assert isinstance(result, DocumentAuthenticated) and result.document_type == "TD3"
