"""ICAO 9303-11 Appendix D worked example: BAC keys, authentication, secure messaging of the first reads."""

from __future__ import annotations

import pytest

from edge.document import bac
from edge.document.apdu import CommandAPDU
from edge.document.crypto import (
    AES128,
    adjust_parity,
    aes_cmac,
    kdf,
    pad,
    retail_mac,
    unpad,
)
from edge.document.errors import SecureMessagingError
from edge.document.mrz import key_information

H = bytes.fromhex

MRZ_INFO = "L898902C<369080619406236"
RND_ICC = H("4608F91988702212")
RND_IFD = H("781723860C06C226")
K_IFD = H("0B795240CB7049B01C19B33E32804F0B")
K_ICC = H("0B4F80323EB3191CB04970CB4052790B")


def test_mrz_information_from_the_three_fields():
    assert key_information("L898902C", "690806", "940623") == MRZ_INFO


def test_key_seed_and_basic_access_keys():
    assert bac.key_seed(MRZ_INFO) == H("239AB9CB282DAF66231DC5A4DF6BFBAE")
    keys = bac.derive_keys(MRZ_INFO)
    assert keys.k_enc == adjust_parity(H("AB94FDECF2674FDFB9B391F85D7F76F2"))
    assert keys.k_mac == adjust_parity(H("7962D9ECE03D1ACD4C76089DCE131543"))


def test_external_authenticate_cryptogram_and_retail_mac():
    keys = bac.derive_keys(MRZ_INFO)
    terminal = bac.BACTerminal(keys, RND_IFD, K_IFD)
    data = terminal.external_authenticate_data(RND_ICC)
    assert data[:32] == H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    assert data[32:] == H("5F1448EEA8AD90A7")
    assert retail_mac(keys.k_mac, data[:32]) == H("5F1448EEA8AD90A7")


def test_chip_response_gives_the_published_session_keys_and_ssc():
    keys = bac.derive_keys(MRZ_INFO)
    terminal = bac.BACTerminal(keys, RND_IFD, K_IFD)
    chip = bac.BACChip(keys, RND_ICC, K_ICC)
    response, chip_sm = chip.respond(terminal.external_authenticate_data(RND_ICC))
    assert response == H(
        "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
    )
    sm = terminal.finish(response)
    assert sm.ks_enc == adjust_parity(H("979EC13B1CBFE9DCD01AB0FED307EAE5"))
    assert sm.ks_mac == adjust_parity(H("F1CB1F1FB5ADF208806B89DC579DC1F8"))
    assert sm.ssc_bytes == H("887022120C06C226")
    assert (chip_sm.ks_enc, chip_sm.ks_mac, chip_sm.ssc) == (sm.ks_enc, sm.ks_mac, sm.ssc)


def _appendix_sm():
    keys = bac.derive_keys(MRZ_INFO)
    terminal = bac.BACTerminal(keys, RND_IFD, K_IFD)
    terminal.external_authenticate_data(RND_ICC)
    return terminal.finish(bac.BACChip(keys, RND_ICC, K_ICC).respond(
        terminal.external_authenticate_data(RND_ICC))[0])


def test_secure_messaging_of_select_and_read_binary_as_published():
    sm = _appendix_sm()
    assert sm.protect(H("00A4020C02011E")) == H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    assert sm.unprotect(H("990290008E08FA855A5D4C50A8ED9000")) == (b"", 0x9000)

    assert sm.protect(H("00B0000004")) == H("0CB000000D9701048E08ED6705417E96BA5500")
    data, sw = sm.unprotect(H("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
    assert (data, sw) == (H("60145F01"), 0x9000)

    assert sm.protect(CommandAPDU(0x00, 0xB0, 0x00, 0x04, ne=0x12)) == H("0CB000040D9701128E082EA28A70F3C7B53500")
    data, sw = sm.unprotect(
        H("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")
    )
    assert data == H("04303130365F36063034303030305C026175") and sw == 0x9000
    assert sm.ssc_bytes == H("887022120C06C22C")


def test_a_flipped_bit_in_a_response_fails_the_mac():
    sm = _appendix_sm()
    sm.protect(H("00A4020C02011E"))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(H("990290008E08FA855A5D4C50A8EC9000"))


def test_kdf_for_aes_key_lengths():
    secret = bytes(range(32))
    assert len(kdf(secret, 1, "AES", 128)) == 16
    assert len(kdf(secret, 1, "AES", 192)) == 24
    assert len(kdf(secret, 1, "AES", 256)) == 32
    assert AES128.derive(secret, 1) == kdf(secret, 1, "AES", 128)


def test_aes_cmac_nist_sp800_38b_example():
    key = H("2B7E151628AED2A6ABF7158809CF4F3C")
    assert aes_cmac(key, b"") == H("BB1D6929E95937287FA37D129B756746")
    assert aes_cmac(key, H("6BC1BEE22E409F96E93D7E117393172A")) == H("070A16B46B4D4144F79BDD9DD04A287C")


def test_padding_method_2_round_trip_and_rejects_garbage():
    assert pad(b"\x01\x1e") == H("011E800000000000")
    assert pad(bytes(8)) == bytes(8) + H("8000000000000000")
    assert unpad(pad(b"abc")) == b"abc"
    with pytest.raises(SecureMessagingError):
        unpad(bytes(8))
