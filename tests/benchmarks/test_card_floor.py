"""The card benchmark's floor counts the protected bytes on the wire exactly as secure messaging makes them."""

import pytest

from benchmarks.card_floor import _sm_sizes
from edge.document import apdu
from edge.document.crypto import AES128, DES3, pad
from edge.document.sm import SecureMessaging


@pytest.mark.parametrize("suite", [DES3, AES128], ids=["3DES", "AES"])
def test_cryptogram_and_mac_input_sizes_come_from_the_recorded_wire(suite):
    terminal = SecureMessaging(suite, bytes(16), bytes(16))
    chip = SecureMessaging(suite, bytes(16), bytes(16))
    command = terminal.protect(apdu.read_binary(0, 1000))
    chip.unprotect_command(command)
    answer = chip.protect_response(bytes(1000), 0x9000)
    block = suite.block_size

    (command_cryptogram, command_mac), (answer_cryptogram, answer_mac) = _sm_sizes([(command, answer)], block)

    assert command_cryptogram == 0  # READ BINARY carries no data, only DO97
    assert command_mac == len(pad(bytes(block) + pad(command[:4], block) + bytes.fromhex("970203E8"), block))
    assert answer_cryptogram == len(pad(bytes(1000), block))
    do87 = 1 + 3 + 1 + answer_cryptogram  # tag, three length bytes, padding indicator, cryptogram
    assert answer_mac == len(pad(bytes(block + do87 + 4), block))  # SSC, DO87, DO99


def test_a_bare_status_word_and_plain_commands_count_nothing():
    plain = apdu.select_aid().encode()
    assert _sm_sizes([(plain, b"\x90\x00"), (bytes([0x0C]) + plain[1:], b"\x69\x88")], 8) == []
