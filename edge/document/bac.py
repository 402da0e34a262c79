"""Basic Access Control (ICAO 9303-11 §4.3), both ends, as pure steps. Randomness is passed in.

Terminal:
    keys = derive_keys(mrz.key_information())
    terminal = BACTerminal(keys, rnd_ifd=os.urandom(8), k_ifd=os.urandom(16))
    data = terminal.external_authenticate_data(rnd_icc)      # after GET CHALLENGE
    sm = terminal.finish(response_data)                       # EXTERNAL AUTHENTICATE response
Chip:
    chip = BACChip(keys, rnd_icc, k_icc); response, sm = chip.respond(data)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from edge.document.crypto import DES3, ENC_COUNTER, MAC_COUNTER, constant_time_equal, des3_decrypt, des3_encrypt, kdf
from edge.document.crypto import retail_mac as _retail_mac
from edge.document.errors import AccessControlError
from edge.document.sm import SecureMessaging


@dataclass(frozen=True, repr=False)
class BACKeys:
    k_enc: bytes
    k_mac: bytes

    def __repr__(self) -> str:
        return "BACKeys(<hidden>)"


def key_seed(mrz_information: str) -> bytes:
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]


def derive_keys(mrz_information: str) -> BACKeys:
    seed = key_seed(mrz_information)
    return BACKeys(kdf(seed, ENC_COUNTER), kdf(seed, MAC_COUNTER))


def session(k_ifd: bytes, k_icc: bytes, rnd_icc: bytes, rnd_ifd: bytes) -> SecureMessaging:
    """Session keys from K.IFD xor K.ICC; SSC = last 4 bytes of RND.ICC || last 4 bytes of RND.IFD."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_icc, strict=True))
    ssc = int.from_bytes(rnd_icc[-4:] + rnd_ifd[-4:], "big")
    return SecureMessaging(DES3, kdf(seed, ENC_COUNTER), kdf(seed, MAC_COUNTER), ssc)


def _seal(keys: BACKeys, plain: bytes) -> bytes:
    cryptogram = des3_encrypt(keys.k_enc, plain)
    return cryptogram + _retail_mac(keys.k_mac, cryptogram)


def _open(keys: BACKeys, data: bytes) -> bytes:
    if len(data) != 40:
        raise AccessControlError("BAC authentication data must be 40 bytes")
    cryptogram, mac = data[:32], data[32:]
    if not constant_time_equal(_retail_mac(keys.k_mac, cryptogram), mac):
        raise AccessControlError("BAC MAC does not verify (wrong MRZ key?)")
    return des3_decrypt(keys.k_enc, cryptogram)


class BACTerminal:
    def __init__(self, keys: BACKeys, rnd_ifd: bytes, k_ifd: bytes) -> None:
        if len(rnd_ifd) != 8 or len(k_ifd) != 16:
            raise ValueError("RND.IFD is 8 bytes, K.IFD 16")
        self.keys = keys
        self.rnd_ifd = bytes(rnd_ifd)
        self.k_ifd = bytes(k_ifd)
        self.rnd_icc: bytes | None = None

    def external_authenticate_data(self, rnd_icc: bytes) -> bytes:
        if len(rnd_icc) != 8:
            raise AccessControlError("GET CHALLENGE must return 8 bytes")
        self.rnd_icc = bytes(rnd_icc)
        return _seal(self.keys, self.rnd_ifd + self.rnd_icc + self.k_ifd)

    def finish(self, response: bytes) -> SecureMessaging:
        if self.rnd_icc is None:
            raise AccessControlError("EXTERNAL AUTHENTICATE before GET CHALLENGE")
        plain = _open(self.keys, response)
        if plain[:8] != self.rnd_icc or plain[8:16] != self.rnd_ifd:
            raise AccessControlError("chip returned the wrong nonces")
        return session(self.k_ifd, plain[16:32], self.rnd_icc, self.rnd_ifd)


class BACChip:
    """The chip's half: verifies the terminal's cryptogram for the challenge it gave."""

    def __init__(self, keys: BACKeys, rnd_icc: bytes, k_icc: bytes) -> None:
        self.keys = keys
        self.rnd_icc = bytes(rnd_icc)
        self.k_icc = bytes(k_icc)

    def respond(self, data: bytes) -> tuple[bytes, SecureMessaging]:
        plain = _open(self.keys, data)
        rnd_ifd, rnd_icc, k_ifd = plain[:8], plain[8:16], plain[16:32]
        if not constant_time_equal(rnd_icc, self.rnd_icc):
            raise AccessControlError("terminal answered another challenge")
        response = _seal(self.keys, self.rnd_icc + rnd_ifd + self.k_icc)
        return response, session(k_ifd, self.k_icc, self.rnd_icc, rnd_ifd)
