"""Fuzzing: hypothesis drives every parser and the secure-messaging unwrap with random and mutated input.
The contract: only the module's own errors (edge.document.errors.DocumentError) ever come out, and nothing
hangs (each example has a deadline).

Short run (the suite): FUZZ_EXAMPLES defaults to 150 examples per target (13 targets, a few seconds).
Long run (>= 100,000 cases), as a separate command; it prints the number of cases actually run:

    FUZZ_EXAMPLES=8500 .venv/bin/python -m pytest -q -s --timeout 0 tests/document/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.document import apdu, lds, tlv
from edge.document.crypto import AES128, DES3
from edge.document.errors import DocumentError, TransportError
from edge.document.mrz import parse_mrz
from edge.document.securityinfo import parse_security_infos
from edge.document.session import ReadOptions, read_document
from edge.document.sm import SecureMessaging
from edge.document.sod import parse_sod, verify_signature
from simulators.card.chip import Chip

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=5), derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None)


@functools.cache
def corpus() -> dict[str, bytes]:
    from simulators.card.factory import TestPKI, issue_document

    document = issue_document(TestPKI(seed=99), kind="TD3", seed="fuzz", chip_authentication=True,
                              portrait_max_bytes=3000)
    return dict(document.files)


@functools.cache
def fuzz_document():
    from simulators.card.factory import TestPKI, issue_document

    pki = TestPKI(seed=98)
    return pki, issue_document(pki, kind="TD1", seed="fuzz-read", portrait_max_bytes=2000)


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """A valid file with a few mutations: flipped bits, changed bytes, cuts, insertions, duplications."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "byte", "cut", "insert", "dup", "length"]))
        if not data:
            data = bytearray(draw(st.binary(max_size=8)))
            continue
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 32))]
        else:  # length-like bytes are where parsers break
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xFF]))
    return bytes(data)


def inputs(*names: str):
    seeds = [corpus()[name] for name in names]
    return st.one_of(st.binary(max_size=512), st.sampled_from(seeds).flatmap(mutated))


CASES = {"count": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    print(f"\nfuzz: {CASES['count']} cases run (FUZZ_EXAMPLES={EXAMPLES} per target)")


def only_document_errors(call, *args) -> None:
    CASES["count"] += 1
    with contextlib.suppress(DocumentError):
        call(*args)


@FUZZ
@given(st.binary(max_size=600))
def test_tlv_random(data):
    only_document_errors(tlv.decode_all, data)
    only_document_errors(tlv.decode_one, data)
    only_document_errors(tlv.total_length, data)


@FUZZ
@given(st.data())
def test_tlv_mutated(data):
    value = data.draw(inputs("DG1", "COM", "DG14"))
    only_document_errors(tlv.decode_all, value)


@FUZZ
@given(st.data())
def test_ef_com_and_dg1(data):
    only_document_errors(lds.parse_com, data.draw(inputs("COM")))
    only_document_errors(lds.parse_dg1, data.draw(inputs("DG1")))


@FUZZ
@given(st.data())
def test_dg2(data):
    only_document_errors(lds.parse_dg2, data.draw(inputs("DG2")))


@FUZZ
@given(st.data())
def test_dg2_image_decoding(data):
    value = data.draw(inputs("DG2"))
    CASES["count"] += 1
    try:
        for face in lds.parse_dg2(value):
            lds.decode_image(face)
    except DocumentError:
        pass


@FUZZ
@given(st.data())
def test_security_infos_dg14_dg15(data):
    only_document_errors(lds.parse_dg14, data.draw(inputs("DG14")))
    only_document_errors(lds.parse_dg15, data.draw(inputs("DG15")))
    only_document_errors(parse_security_infos, data.draw(inputs("CardAccess")))


@FUZZ
@given(st.data())
def test_sod_parse_and_verify(data):
    value = data.draw(inputs("SOD"))
    CASES["count"] += 1
    try:
        sod = parse_sod(value)
    except DocumentError:
        return
    verify_signature(sod)  # returns a verdict, never raises


@FUZZ
@given(st.text(max_size=200))
def test_mrz_text(text):
    only_document_errors(parse_mrz, text)


@FUZZ
@given(st.binary(max_size=300))
def test_command_and_response_apdu_decoding(data):
    only_document_errors(apdu.CommandAPDU.decode, data)
    only_document_errors(apdu.ResponseAPDU.decode, data)


def _sessions(suite):
    key_enc, key_mac = bytes(range(16)), bytes(range(16, 32))
    return SecureMessaging(suite, key_enc, key_mac, 7), SecureMessaging(suite, key_enc, key_mac, 7)


@FUZZ
@given(st.data(), st.sampled_from([DES3, AES128]))
def test_sm_unprotect_response(data, suite):
    terminal, chip = _sessions(suite)
    valid = chip.protect_response(data.draw(st.binary(max_size=64)), 0x9000)
    response = data.draw(st.one_of(st.binary(max_size=300), mutated(valid)))
    terminal.ssc = 6
    only_document_errors(terminal.unprotect, response)


@FUZZ
@given(st.data(), st.sampled_from([DES3, AES128]))
def test_sm_unprotect_command(data, suite):
    terminal, chip = _sessions(suite)
    valid = terminal.protect(apdu.CommandAPDU(0, 0xB1, 0, 0, b"\x54\x01\x00", ne=100))
    command = data.draw(st.one_of(st.binary(max_size=300), mutated(valid)))
    chip.ssc = 7
    only_document_errors(chip.unprotect_command, command)


@functools.cache
def _chip_files():
    _, document = fuzz_document()
    return document


@FUZZ
@given(st.lists(st.binary(min_size=0, max_size=64), max_size=8))
def test_chip_answers_any_apdu(apdus):
    document = _chip_files()
    CASES["count"] += 1
    chip = Chip(document.files, mrz_information=parse_mrz(document.mrz).key_information(), can=document.can)
    for command in [apdu.select_aid().encode(), *apdus]:
        response = chip.process(command)
        assert isinstance(response, bytes) and len(response) >= 2


@settings(FUZZ, max_examples=max(10, EXAMPLES // 10))
@given(st.data())
def test_reading_with_a_hostile_chip_never_raises(data):
    """Responses are mutated at random points of a BAC or PACE reading: the session returns a result, always."""
    pki, document = fuzz_document()
    CASES["count"] += 1
    mrz = parse_mrz(document.mrz)
    chip = Chip(document.files, mrz_information=mrz.key_information(), aa_private_key=document.aa_key)
    targets = set(data.draw(st.lists(st.integers(1, 30), max_size=3)))
    count = [0]

    def hostile(command: bytes) -> bytes:
        count[0] += 1
        response = chip.process(command)
        if count[0] in targets:
            choice = data.draw(st.integers(0, 3))
            if choice == 3:
                raise TransportError("pulled")
            return data.draw(mutated(response)) if choice else data.draw(st.binary(max_size=40))
        return response

    protocol = data.draw(st.sampled_from(["bac", "pace"]))
    result = read_document(hostile, mrz, ReadOptions(preferred_protocol=protocol), None, pki.now)
    assert result.checks and (result.error or result.apdu_count > 5)
    assert not result.error.startswith("internal_error"), result.error
