"""BAC between the reader's terminal side and the simulated chip, in process."""

from __future__ import annotations

import os

import pytest

from edge.document import apdu as A
from edge.document import bac
from edge.document.errors import AccessControlError, SecureMessagingError
from edge.document.mrz import key_information
from simulators.card.chip import Chip

MRZ_INFO = key_information("L898902C", "690806", "940623")
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175")


def _chip(**kwargs) -> Chip:
    return Chip({"COM": EF_COM, "DG1": b"\x61\x03\x5f\x1f\x00"}, mrz_information=MRZ_INFO, pace=False, **kwargs)


def _bac(chip: Chip, mrz_information: str = MRZ_INFO):
    assert chip.process(A.select_aid().encode()) == b"\x90\x00"
    rnd_icc = chip.process(A.get_challenge().encode())
    assert rnd_icc[-2:] == b"\x90\x00" and len(rnd_icc) == 10
    terminal = bac.BACTerminal(bac.derive_keys(mrz_information), os.urandom(8), os.urandom(16))
    response = chip.process(A.external_authenticate(terminal.external_authenticate_data(rnd_icc[:8])).encode())
    if response[-2:] != b"\x90\x00":
        raise AccessControlError(f"chip refused: {response.hex()}")
    return terminal.finish(response[:-2])


def test_files_are_refused_before_access_control():
    chip = _chip()
    chip.process(A.select_aid().encode())
    assert chip.process(A.select_ef(A.EF_COM).encode()) == b"\x69\x82"
    assert chip.process(A.read_binary(0, 4).encode())[-2:] in (b"\x69\x82", b"\x69\x86")


def test_bac_then_read_ef_com_under_secure_messaging():
    chip = _chip()
    sm = _bac(chip)
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)
    data, sw = sm.unprotect(chip.process(sm.protect(A.read_binary(0, 200))))
    assert (data, sw) in ((EF_COM, 0x6282), (EF_COM, 0x9000))


def test_wrong_mrz_key_is_refused_by_the_chip():
    chip = _chip()
    with pytest.raises(AccessControlError):
        _bac(chip, key_information("L898902C", "690806", "940624"))


def test_a_tampered_mac_gives_6988_and_ends_the_session():
    chip = _chip()
    sm = _bac(chip)
    protected = bytearray(sm.protect(A.select_ef(A.EF_COM)))
    protected[-3] ^= 1
    assert chip.process(bytes(protected)) == b"\x69\x88"
    assert chip.process(sm.protect(A.select_ef(A.EF_COM))) == b"\x69\x87"


def test_the_reader_rejects_a_forged_response():
    chip = _chip()
    sm = _bac(chip)
    response = bytearray(chip.process(sm.protect(A.select_ef(A.EF_COM))))
    response[3] ^= 0x10
    with pytest.raises(SecureMessagingError):
        sm.unprotect(bytes(response))


def test_odd_ins_read_binary_reaches_beyond_32k():
    big = bytes(range(256)) * 160  # 40 KB
    chip = Chip({"COM": EF_COM, "DG2": big}, mrz_information=MRZ_INFO, pace=False)
    sm = _bac(chip)
    sm.unprotect(chip.process(sm.protect(A.select_ef(A.dg_fid(2)))))
    data, sw = sm.unprotect(chip.process(sm.protect(A.read_binary_odd(40000, 100))))
    assert sw == 0x9000
    assert A.unwrap_odd_response(data) == big[40000:40096]
