"""Symmetric cryptography of ICAO 9303-11: key derivation, padding, MACs and CBC ciphers.

Built on `cryptography`. Its TripleDES lives in `hazmat.decrepit` (3DES is legacy, but BAC needs it) and
16-byte keys raise a deprecation warning, so two-key 3DES keys are always expanded to 24 bytes (K1 K2 K1).
Single DES (for the retail MAC) is 3DES with K K K.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from edge.document.errors import SecureMessagingError

ENC_COUNTER = 1
MAC_COUNTER = 2
PACE_COUNTER = 3

_ZERO8 = bytes(8)
_ZERO16 = bytes(16)


def adjust_parity(key: bytes) -> bytes:
    """Set the DES odd-parity bit (least significant) of every byte."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | (bin(high).count("1") % 2 == 0))
    return bytes(out)


def kdf(shared_secret: bytes, counter: int, cipher: str = "3DES", key_bits: int = 128) -> bytes:
    """ICAO 9303-11 §9.7.1: derive a key from a shared secret (or K_seed) and a 32-bit counter."""
    data = bytes(shared_secret) + counter.to_bytes(4, "big")
    if cipher == "3DES":
        return adjust_parity(hashlib.sha1(data).digest()[:16])
    if cipher == "AES":
        if key_bits == 128:
            return hashlib.sha1(data).digest()[:16]
        if key_bits in (192, 256):
            return hashlib.sha256(data).digest()[: key_bits // 8]
    raise ValueError(f"unsupported cipher {cipher}/{key_bits}")


def pad(data: bytes, block: int = 8) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80 then zeros up to the block size."""
    data = bytes(data) + b"\x80"
    return data + bytes(-len(data) % block)


def unpad(data: bytes) -> bytes:
    stripped = bytes(data).rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= 16:
        raise SecureMessagingError("bad ISO 9797-1 padding")
    return stripped[:-1]


def _des3_key(key: bytes) -> bytes:
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ValueError("3DES key must be 8, 16 or 24 bytes")


# Cipher objects are reusable (each encryptor() is a fresh context); building them costs more than the
# few blocks of a typical APDU, so the zero-IV and ECB ones are cached per key (a session uses a handful;
# the small cache also means old session keys do not linger).
@functools.lru_cache(maxsize=8)
def _des3_cbc_zero(key: bytes) -> Cipher:
    return Cipher(TripleDES(_des3_key(key)), modes.CBC(_ZERO8))


@functools.lru_cache(maxsize=8)
def _aes(key: bytes) -> algorithms.AES:
    return algorithms.AES(key)


@functools.lru_cache(maxsize=8)
def _aes_ecb(key: bytes) -> Cipher:
    return Cipher(_aes(key), modes.ECB())


def _des3(key: bytes, iv: bytes) -> Cipher:
    return _des3_cbc_zero(bytes(key)) if iv == _ZERO8 else Cipher(TripleDES(_des3_key(key)), modes.CBC(iv))


def des3_encrypt(key: bytes, data: bytes, iv: bytes = _ZERO8) -> bytes:
    enc = _des3(key, iv).encryptor()
    return enc.update(data) + enc.finalize()


def des3_decrypt(key: bytes, data: bytes, iv: bytes = _ZERO8) -> bytes:
    dec = _des3(key, iv).decryptor()
    return dec.update(data) + dec.finalize()


def aes_encrypt(key: bytes, data: bytes, iv: bytes = _ZERO16) -> bytes:
    enc = Cipher(_aes(bytes(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_decrypt(key: bytes, data: bytes, iv: bytes = _ZERO16) -> bytes:
    dec = Cipher(_aes(bytes(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    enc = _aes_ecb(bytes(key)).encryptor()
    return enc.update(block) + enc.finalize()


def retail_mac(key: bytes, data: bytes, *, padded: bool = False) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (retail MAC) with DES, 8-byte result; pads with method 2 unless `padded`."""
    if len(key) != 16:
        raise ValueError("retail MAC key must be 16 bytes")
    message = bytes(data) if padded else pad(data, 8)
    if len(message) % 8 or not message:
        raise ValueError("retail MAC input must be whole blocks")
    k1, k2 = key[:8], key[8:16]
    head, last = message[:-8], message[-8:]
    chain = des3_encrypt(k1, head)[-8:] if head else _ZERO8
    # Last block: E_K1(D_K2(E_K1(x ^ chain))) is 3DES-EDE with (K1, K2, K1).
    block = (int.from_bytes(last, "big") ^ int.from_bytes(chain, "big")).to_bytes(8, "big")
    return des3_encrypt(k1 + k2 + k1, block)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), full 16 bytes; secure messaging uses the first 8."""
    mac = cmac.CMAC(_aes(bytes(key)))
    mac.update(bytes(data))
    return mac.finalize()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class CipherSuite:
    """The block cipher of a secure-messaging session: 3DES (BAC, PACE-3DES) or AES (PACE)."""

    name: str  # "3DES" or "AES"
    key_bits: int = 128

    @property
    def block_size(self) -> int:
        return 8 if self.name == "3DES" else 16

    def derive(self, secret: bytes, counter: int) -> bytes:
        return kdf(secret, counter, self.name, self.key_bits)

    def encrypt(self, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
        if self.name == "3DES":
            return des3_encrypt(key, data, iv or _ZERO8)
        return aes_encrypt(key, data, iv or _ZERO16)

    def decrypt(self, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
        if self.name == "3DES":
            return des3_decrypt(key, data, iv or _ZERO8)
        return aes_decrypt(key, data, iv or _ZERO16)

    def mac(self, key: bytes, data: bytes) -> bytes:
        """8-byte MAC as the PACE token uses it: 3DES retail MAC pads (method 2), AES-CMAC takes the data as is."""
        if self.name == "3DES":
            return retail_mac(key, data)
        return aes_cmac(key, data)[:8]

    def sm_mac(self, key: bytes, data: bytes) -> bytes:
        """8-byte MAC of secure messaging: the input is padded to the block size first (9303-11 §9.8)."""
        padded = pad(data, self.block_size)
        if self.name == "3DES":
            return retail_mac(key, padded, padded=True)
        return aes_cmac(key, padded)[:8]


DES3 = CipherSuite("3DES", 128)
AES128 = CipherSuite("AES", 128)
AES192 = CipherSuite("AES", 192)
AES256 = CipherSuite("AES", 256)
