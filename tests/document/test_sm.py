"""Secure messaging between the terminal side and the chip side of the same object."""

from __future__ import annotations

import os

import pytest

from edge.document.apdu import CommandAPDU
from edge.document.crypto import AES128, AES256, DES3
from edge.document.errors import SecureMessagingError
from edge.document.sm import SecureMessaging


def _pair(suite, ssc=0):
    ks_enc, ks_mac = os.urandom(suite.key_bits // 8), os.urandom(16)
    return SecureMessaging(suite, ks_enc, ks_mac, ssc), SecureMessaging(suite, ks_enc, ks_mac, ssc)


@pytest.mark.parametrize("suite", [DES3, AES128, AES256])
@pytest.mark.parametrize("command", [
    CommandAPDU(0x00, 0xA4, 0x02, 0x0C, b"\x01\x1e"),
    CommandAPDU(0x00, 0xB0, 0x00, 0x00, ne=223),
    CommandAPDU(0x00, 0xB0, 0x12, 0x34, ne=65536),
    CommandAPDU(0x00, 0xB1, 0x00, 0x00, b"\x54\x02\x80\x00", ne=200),
    CommandAPDU(0x00, 0x88, 0x00, 0x00, bytes(8), ne=256),
    CommandAPDU(0x00, 0xD6, 0x00, 0x00, os.urandom(1000)),
])
def test_command_and_response_round_trip(suite, command):
    terminal, chip = _pair(suite, ssc=2**64 - 1 if suite is DES3 else 5)
    plain = chip.unprotect_command(terminal.protect(command))
    assert (plain.cla, plain.ins, plain.p1, plain.p2, plain.data, plain.ne) == (
        command.cla, command.ins, command.p1, command.p2, command.data, command.ne)
    for data in (b"", b"x", os.urandom(15), os.urandom(16), os.urandom(4000)):
        for sw in (0x9000, 0x6282, 0x6A82):
            assert terminal.unprotect(chip.protect_response(data, sw)) == (data, sw)
    assert terminal.ssc == chip.ssc


def test_3des_ssc_wraps_at_eight_bytes():
    terminal, chip = _pair(DES3, ssc=2**64 - 1)
    chip.unprotect_command(terminal.protect(CommandAPDU(0, 0xB0, 0, 0, ne=4)))
    assert terminal.ssc_bytes == bytes(8)


def test_chip_refuses_commands_without_secure_messaging_or_with_a_bad_mac():
    terminal, chip = _pair(AES128)
    with pytest.raises(SecureMessagingError):
        chip.unprotect_command(CommandAPDU(0, 0xB0, 0, 0, ne=4).encode())
    wire = bytearray(terminal.protect(CommandAPDU(0, 0xB0, 0, 0, ne=4)))
    wire[-4] ^= 0x80
    with pytest.raises(SecureMessagingError):
        chip.unprotect_command(bytes(wire))


def test_terminal_refuses_a_replayed_response():
    terminal, chip = _pair(AES128)
    chip.unprotect_command(terminal.protect(CommandAPDU(0, 0xB0, 0, 0, ne=4)))
    response = chip.protect_response(b"abcd", 0x9000)
    assert terminal.unprotect(response) == (b"abcd", 0x9000)
    chip.unprotect_command(terminal.protect(CommandAPDU(0, 0xB0, 0, 4, ne=4)))
    with pytest.raises(SecureMessagingError):
        terminal.unprotect(response)  # same bytes, next SSC


def test_bare_error_status_is_passed_on_but_bare_success_is_not():
    terminal, _ = _pair(DES3)
    assert terminal.unprotect(b"\x69\x88") == (b"", 0x6988)
    with pytest.raises(SecureMessagingError):
        terminal.unprotect(b"\x90\x00")


def test_repr_shows_no_keys():
    terminal, _ = _pair(AES128)
    assert terminal.ks_enc.hex() not in repr(terminal)
