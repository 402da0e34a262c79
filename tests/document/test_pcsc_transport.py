"""The vpcd card emulator behind the real pcscd: cards appear and disappear as reader states, APDUs reach the
simulated chip and its answers come back, and the emulator's faults look to the reader like real ones."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from edge.document import apdu as A
from edge.document import bac
from edge.document.errors import SecureMessagingError, TransportError
from edge.document.mrz import parse_mrz
from edge.document.pcsc import Card, PcscContext
from simulators.card.emulator import Faults, VpcdEmulator, document_chip
from simulators.card.factory import Document, TestPKI, issue_document
from simulators.card.pcscd import PcscDaemon, PcscdError, free_port_pair, running_pcscd_pid

pytestmark = pytest.mark.card


@pytest.fixture(scope="module")
def document() -> Document:
    return issue_document(TestPKI(seed=21), seed=21, kind="TD3")


@pytest.fixture
def context() -> Iterator[PcscContext]:
    with PcscContext() as context:
        yield context


@pytest.fixture
def insert(pcscd: PcscDaemon, emulator: VpcdEmulator, context: PcscContext) -> Iterator[Callable[..., Card]]:
    """Insert a document's chip and connect to it; every card is disconnected again (a handle left open
    after its card was pulled keeps the reader exclusively ours and the next connect fails)."""
    cards: list[Card] = []

    def insert(document: Document, faults: Faults | None = None) -> Card:
        for card in cards:
            card.disconnect()
        emulator.remove()
        pcscd.wait_for_card(present=False)
        emulator.insert(document_chip(document), faults)
        pcscd.wait_for_card(present=True)
        cards.append(context.connect(pcscd.reader))
        return cards[-1]

    yield insert
    for card in cards:
        card.disconnect()


def bac_session(card: Card, document: Document):
    card.transmit(A.select_aid().encode())
    terminal = bac.BACTerminal(
        bac.derive_keys(parse_mrz(document.mrz).key_information()), os.urandom(8), os.urandom(16)
    )
    rnd_icc = card.transmit(A.get_challenge().encode())[:-2]
    response = card.transmit(A.external_authenticate(terminal.external_authenticate_data(rnd_icc)).encode())
    return terminal.finish(response[:-2])


def read_protected(card: Card, sm, fid: int, offset: int, length: int) -> tuple[bytes, int]:
    _, sw = sm.unprotect(card.transmit(sm.protect(A.select_ef(fid))))
    assert sw == 0x9000
    return sm.unprotect(card.transmit(sm.protect(A.read_binary(offset, length))))


def test_card_presence_follows_insertion_and_removal(pcscd: PcscDaemon, emulator: VpcdEmulator, document) -> None:
    emulator.insert(document_chip(document))
    state = pcscd.wait_for_card(present=True)
    assert state.atr == bytes.fromhex("3B80800101")
    emulator.remove()
    assert not pcscd.wait_for_card(present=False).present


def test_chip_refuses_plain_reads_and_serves_them_after_bac(insert, emulator, document) -> None:
    card = insert(document)
    assert card.transmit(A.select_aid().encode()) == b"\x90\x00"
    assert card.transmit(A.select_ef(A.dg_fid(1)).encode())[-2:] == b"\x69\x82"
    sm = bac_session(card, document)
    data, sw = read_protected(card, sm, A.dg_fid(1), 0, len(document.files["DG1"]))
    assert (data, sw) == (document.files["DG1"], 0x9000)
    assert emulator.apdu_count == card.exchanges == 7


def test_pulled_card_fails_the_exchange_and_the_next_card_reads(insert, document) -> None:
    card = insert(document, Faults(pull_after=2))
    card.transmit(A.select_aid().encode())
    card.transmit(A.get_challenge().encode())
    with pytest.raises(TransportError):
        card.transmit(A.select_aid().encode())
    card = insert(document)
    sm = bac_session(card, document)
    assert read_protected(card, sm, A.dg_fid(1), 0, 16)[1] == 0x9000


def test_wrong_mac_and_truncated_responses_are_caught_by_secure_messaging(insert, document) -> None:
    card = insert(document, Faults(wrong_mac_after=4))
    sm = bac_session(card, document)
    with pytest.raises(SecureMessagingError):
        read_protected(card, sm, A.dg_fid(1), 0, 16)
    card = insert(document, Faults(truncate_after=4))
    sm = bac_session(card, document)
    with pytest.raises(SecureMessagingError):
        read_protected(card, sm, A.dg_fid(1), 0, 16)


def test_readers_list_names_the_harness_reader(pcscd: PcscDaemon) -> None:
    with PcscContext() as context:
        assert context.find_reader("vpcd 00 00" if not pcscd.attached else "Virtual PCD") == pcscd.reader
        assert context.find_reader("no such reader") is None


def test_a_slow_chip_is_slow_but_correct(insert, document) -> None:
    card = insert(document, Faults(delay_s=0.03))
    started = time.perf_counter()
    sm = bac_session(card, document)
    assert read_protected(card, sm, A.dg_fid(1), 0, 16)[1] == 0x9000
    assert time.perf_counter() - started >= 5 * 0.03


def test_the_harness_owns_the_machine_pcscd(pcscd: PcscDaemon) -> None:
    if pcscd.attached:
        pytest.skip("using a system pcscd")
    assert running_pcscd_pid() == pcscd.pid
    with pytest.raises(PcscdError, match="holds"):
        PcscDaemon(lock_timeout=0.2).start()  # a second harness waits for the first, then gives up
    port = free_port_pair()
    assert 0 < port < 65535


def test_fault_specs_parse_and_bad_ones_are_named() -> None:
    assert Faults.parse("pull_after=5, delay_ms=20") == Faults(pull_after=5, delay_s=0.02)
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        Faults.parse("explode=1")
