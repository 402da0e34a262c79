"""Active Authentication (ISO/IEC 9796-2 RSA, plain ECDSA) and Chip Authentication (ECDH, AES and 3DES)."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edge.document import apdu as A
from edge.document import bac
from edge.document.authentication import (
    ChipAuthenticationOffer,
    ChipAuthenticationTerminal,
    aa_sign,
    aa_verify,
    chip_authentication_chip_session,
)
from edge.document.crypto import AES128, DES3
from edge.document.sm import SecureMessaging
from simulators.card.chip import Chip


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def test_rsa_9796_2_round_trip_and_wrong_challenge(rsa_key):
    challenge = os.urandom(8)
    signature = aa_sign(rsa_key, challenge)
    assert aa_verify(rsa_key.public_key(), challenge, signature)
    assert not aa_verify(rsa_key.public_key(), os.urandom(8), signature)
    assert not aa_verify(rsa_key.public_key(), challenge, signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not aa_verify(rsa_key.public_key(), challenge, b"")


def test_rsa_9796_2_with_a_sha256_trailer(rsa_key):
    """Chips with a two-byte trailer (34 CC = SHA-256) verify too."""
    numbers = rsa_key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    k = (n.bit_length() + 7) // 8
    challenge, m1 = os.urandom(8), os.urandom(k - 32 - 3)
    f = b"\x6a" + m1 + hashlib.sha256(m1 + challenge).digest() + b"\x34\xcc"
    signature = pow(int.from_bytes(f, "big"), d, n).to_bytes(k, "big")
    assert aa_verify(rsa_key.public_key(), challenge, signature)
    # The alternative representation n - s (ISO/IEC 9796-2 allows it) is accepted as well.
    alternative = (n - pow(int.from_bytes(f, "big"), d, n)).to_bytes(k, "big")
    assert aa_verify(rsa_key.public_key(), challenge, alternative)


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.BrainpoolP256R1(), ec.SECP384R1()])
def test_ecdsa_plain_signatures(curve):
    key = ec.generate_private_key(curve)
    challenge = os.urandom(8)
    signature = aa_sign(key, challenge)
    assert len(signature) == 2 * ((curve.key_size + 7) // 8)
    assert aa_verify(key.public_key(), challenge, signature, "0.4.0.127.0.7.1.1.4.1.3")
    assert aa_verify(key.public_key(), challenge, signature)  # hash not announced: tried
    assert not aa_verify(key.public_key(), challenge, signature, "0.4.0.127.0.7.1.1.4.1.1")  # wrong hash
    assert not aa_verify(key.public_key(), os.urandom(8), signature)


@pytest.mark.parametrize("protocol,suite", [("0.4.0.127.0.7.2.2.3.2.2", AES128), ("0.4.0.127.0.7.2.2.3.2.1", DES3)])
def test_chip_authentication_gives_both_ends_the_same_new_keys(protocol, suite):
    chip_key = ec.generate_private_key(ec.BrainpoolP256R1())
    offer = ChipAuthenticationOffer(protocol, chip_key.public_key(), None)
    terminal = ChipAuthenticationTerminal(offer)
    commands = terminal.commands()
    assert [c.ins for c in commands] == ([0x22] if suite is DES3 else [0x22, 0x86])
    new_terminal = terminal.session()
    new_chip = chip_authentication_chip_session(chip_key, suite, terminal.public_point)
    assert (new_terminal.ks_enc, new_terminal.ks_mac, new_terminal.ssc) == (new_chip.ks_enc, new_chip.ks_mac, 0)
    wire = new_terminal.protect(A.select_ef(A.EF_COM))
    assert new_chip.unprotect_command(wire).data == b"\x01\x1e"


def test_chip_authentication_through_the_simulated_chip_with_3des():
    chip_key = ec.generate_private_key(ec.SECP256R1())
    chip = Chip({"COM": b"\x60\x03\x5c\x01\x61", "DG1": b"\x61\x00"}, mrz_information="L898902C<369080619406236",
                ca_private_key=chip_key, pace=False)
    chip.process(A.select_aid().encode())
    rnd_icc = chip.process(A.get_challenge().encode())[:8]
    bac_terminal = bac.BACTerminal(bac.derive_keys("L898902C<369080619406236"), os.urandom(8), os.urandom(16))
    response = chip.process(A.external_authenticate(bac_terminal.external_authenticate_data(rnd_icc)).encode())
    sm: SecureMessaging = bac_terminal.finish(response[:-2])
    offer = ChipAuthenticationOffer("0.4.0.127.0.7.2.2.3.2.1", chip_key.public_key(), None)
    terminal = ChipAuthenticationTerminal(offer)
    for command in terminal.commands():
        assert sm.unprotect(chip.process(sm.protect(command)))[1] == 0x9000
    sm = terminal.session()
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)
