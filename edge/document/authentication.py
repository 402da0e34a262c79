"""Chip authenticity: Active Authentication (ICAO 9303-11 §6.1) and Chip Authentication (§6.2), both ends.

Active Authentication: the terminal sends a random 8-byte challenge in INTERNAL AUTHENTICATE; the chip signs
it with the private key whose public half is in DG15. RSA keys use ISO/IEC 9796-2 digital signature scheme 1
(partial message recovery); EC keys use plain ECDSA (r || s) with the hash named in DG14's
ActiveAuthenticationInfo.

Chip Authentication (ECDH, AES or 3DES): an ephemeral key agreement with the chip's static key from DG14,
which replaces the secure-messaging keys. A chip that cannot compute the shared secret cannot answer the
next command, so "the reading went on under the new keys" is the proof.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from edge.document import tlv
from edge.document.apdu import CommandAPDU
from edge.document.crypto import AES128, AES192, AES256, DES3, CipherSuite
from edge.document.errors import AccessControlError
from edge.document.keys import load_public_key
from edge.document.securityinfo import (
    ID_CA,
    ActiveAuthenticationInfo,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    encode_oid,
)
from edge.document.sm import SecureMessaging

# BSI TR-03111 ecdsa-plain-signatures
ECDSA_PLAIN = {
    "0.4.0.127.0.7.1.1.4.1.1": hashes.SHA1,
    "0.4.0.127.0.7.1.1.4.1.2": hashes.SHA224,
    "0.4.0.127.0.7.1.1.4.1.3": hashes.SHA256,
    "0.4.0.127.0.7.1.1.4.1.4": hashes.SHA384,
    "0.4.0.127.0.7.1.1.4.1.5": hashes.SHA512,
}
# ISO/IEC 9796-2 two-byte trailers (hash identifier || CC); a single BC byte means SHA-1.
_TRAILERS = {0x33: "sha1", 0x38: "sha224", 0x34: "sha256", 0x36: "sha384", 0x35: "sha512"}


# --- Active Authentication -------------------------------------------------------------------------------------


def aa_sign(private_key, challenge: bytes, rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """The chip's INTERNAL AUTHENTICATE answer (simulator side)."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        numbers = private_key.private_numbers()
        n, d = numbers.public_numbers.n, numbers.d
        k = (n.bit_length() + 7) // 8
        m1 = rng(k - 20 - 2)
        digest = hashlib.sha1(m1 + challenge).digest()
        f = int.from_bytes(b"\x6a" + m1 + digest + b"\xbc", "big")
        return pow(f, d, n).to_bytes(k, "big")
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        der = private_key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        size = (private_key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise TypeError("Active Authentication key must be RSA or EC")


def aa_verify(public_key, challenge: bytes, signature: bytes, hash_oid: str | None = None) -> bool:
    """Verify the chip's answer to `challenge` with the DG15 key. Never raises on bad signatures."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return _verify_9796_2(public_key, challenge, signature)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        candidates = [ECDSA_PLAIN[hash_oid]] if hash_oid in ECDSA_PLAIN else [
            hashes.SHA256, hashes.SHA1, hashes.SHA384, hashes.SHA512, hashes.SHA224]
        for algorithm in candidates:
            try:
                public_key.verify(der, challenge, ec.ECDSA(algorithm()))
                return True
            except InvalidSignature:
                continue
        return False
    return False


def _verify_9796_2(public_key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> bool:
    numbers = public_key.public_numbers()
    n, e = numbers.n, numbers.e
    k = (n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if not 0 < s < n:
        return False
    m = pow(s, e, n)
    for candidate in (m, n - m):
        f = candidate.to_bytes(k, "big")
        if f[-1] == 0xBC:
            hash_name, trailer = "sha1", 1
        elif f[-1] == 0xCC and f[-2] in _TRAILERS:
            hash_name, trailer = _TRAILERS[f[-2]], 2
        else:
            continue
        hlen = hashlib.new(hash_name).digest_size
        if f[0] != 0x6A or k < hlen + trailer + 1:
            continue
        m1 = f[1 : k - hlen - trailer]
        digest = f[k - hlen - trailer : k - trailer]
        if hmac.compare_digest(hashlib.new(hash_name, m1 + challenge).digest(), digest):
            return True
    return False


def aa_hash_oid(infos: list) -> str | None:
    for info in infos:
        if isinstance(info, ActiveAuthenticationInfo):
            return info.signature_algorithm
    return None


# --- Chip Authentication ----------------------------------------------------------------------------------------

_CA_SUITES = {1: DES3, 2: AES128, 3: AES192, 4: AES256}


@dataclass(frozen=True)
class ChipAuthenticationOffer:
    protocol: str  # 0.4.0.127.0.7.2.2.3.2.x: ECDH with cipher x
    public_key: ec.EllipticCurvePublicKey
    key_id: int | None

    @property
    def suite(self) -> CipherSuite:
        return _CA_SUITES[int(self.protocol.rsplit(".", 1)[1])]


def chip_authentication_offer(infos: list) -> ChipAuthenticationOffer | None:
    """The ECDH Chip Authentication DG14 offers (protocol + matching static key), or None."""
    protocols = [i for i in infos if isinstance(i, ChipAuthenticationInfo) and i.protocol.startswith(ID_CA + ".2.")]
    keys = [i for i in infos if isinstance(i, ChipAuthenticationPublicKeyInfo)]
    for protocol in protocols:
        if int(protocol.protocol.rsplit(".", 1)[1]) not in _CA_SUITES:
            continue
        for key in keys:
            if protocol.key_id is not None and key.key_id is not None and key.key_id != protocol.key_id:
                continue
            public_key = load_public_key(key.subject_public_key_info)  # MalformedData when unsupported
            if isinstance(public_key, ec.EllipticCurvePublicKey):
                return ChipAuthenticationOffer(protocol.protocol, public_key, protocol.key_id)
    return None


class ChipAuthenticationTerminal:
    """Terminal side: `commands()` to send under the current secure messaging, then `session()`."""

    def __init__(self, offer: ChipAuthenticationOffer) -> None:
        self.offer = offer
        self._private = ec.generate_private_key(offer.public_key.curve)
        self.public_point = self._private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def commands(self) -> list[CommandAPDU]:
        key_ref = tlv.encode(0x84, bytes([self.offer.key_id])) if self.offer.key_id is not None else b""
        if self.offer.suite is DES3:  # MSE:Set KAT carries the key directly
            return [CommandAPDU(0x00, 0x22, 0x41, 0xA6, tlv.encode(0x91, self.public_point) + key_ref)]
        return [
            CommandAPDU(0x00, 0x22, 0x41, 0xA4, tlv.encode(0x80, encode_oid(self.offer.protocol)) + key_ref),
            CommandAPDU(0x00, 0x86, 0x00, 0x00, tlv.encode(0x7C, tlv.encode(0x80, self.public_point)), ne=256),
        ]

    def session(self) -> SecureMessaging:
        secret = self._private.exchange(ec.ECDH(), self.offer.public_key)
        suite = self.offer.suite
        return SecureMessaging(suite, suite.derive(secret, 1), suite.derive(secret, 2), 0)


def chip_authentication_chip_session(private_key: ec.EllipticCurvePrivateKey, suite: CipherSuite,
                                     terminal_point: bytes) -> SecureMessaging:
    """Chip side (simulator): new secure messaging from the terminal's ephemeral point."""
    try:
        terminal_key = ec.EllipticCurvePublicKey.from_encoded_point(private_key.curve, terminal_point)
    except ValueError as exc:
        raise AccessControlError("terminal's ephemeral key is not a point on the chip's curve") from exc
    secret = private_key.exchange(ec.ECDH(), terminal_key)
    return SecureMessaging(suite, suite.derive(secret, 1), suite.derive(secret, 2), 0)
