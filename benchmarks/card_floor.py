"""The least work any terminal must do for one recorded read, each part timed alone with the libraries' calls.

Used by benchmarks/card_read.py to say how close its goal (full read <= 1.3x the same exchanges replayed)
can come on this machine. Counted, with nothing of ours around the library calls and zero-cost parsing:
- secure messaging: for every protected command and answer on the recorded wire, the cipher over its
  cryptogram (and the AES IV block) and the MAC over what the MAC covers (sizes taken from the wire);
  with 3DES the retail MAC's chain runs as 3DES with K K K, since `cryptography` has no single DES;
- access control: PACE generic mapping as 2 key generations and 3 ECDH (fewer than the protocol needs)
  plus the nonce's decryption; BAC's two 32-byte 3DES cryptograms and their MACs;
- EF.SOD: its content's digest and the Document Signer's signature (the DS -> CSCA check is left out:
  a gate remembers it, as the trust store does); every data group's hash;
- Active Authentication: one signature verification;
- the portrait: one JPEG / JPEG 2000 decode (the issue asks for the decoded image).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from edge.document import lds, pace, sod, tlv
from edge.document.apdu import CommandAPDU
from edge.document.authentication import aa_sign, aa_verify
from edge.document.crypto import DES3, CipherSuite, pad
from edge.document.errors import MalformedData
from edge.document.securityinfo import parse_security_infos

_SM_CLA = 0x0C


def _median_ms(work: Callable[[], None], repeats: int) -> float:
    """Median of `repeats` timings: the same statistic as the reads it is compared with."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _sm_sizes(wire: list[tuple[bytes, bytes]], block: int) -> list[tuple[int, int]]:
    """(cryptogram bytes, MAC input bytes) of every protected command and answer on the wire."""
    sizes = []
    for command, answer in wire:
        if command[0] & _SM_CLA != _SM_CLA:
            continue
        body = CommandAPDU.decode(command).data
        for objects, header in ((body, block), (answer[:-2], 0)):
            try:
                items = tlv.decode_all(objects)
            except MalformedData:  # a bare status word: nothing protected to undo
                continue
            cryptogram = sum(len(i.value) - (i.tag == 0x87) for i in items if i.tag in (0x85, 0x87))
            covered = header + sum(len(i.encode()) for i in items if i.tag != 0x8E)
            if items:
                sizes.append((cryptogram, len(pad(bytes(block + covered), block))))  # SSC first, then padded
    return sizes


def _symmetric(suite: CipherSuite, sizes: list[tuple[int, int]]) -> Callable[[], None]:
    key16, key24 = os.urandom(16), os.urandom(24)
    if suite.name == "3DES":
        cbc = Cipher(TripleDES(key24), modes.CBC(bytes(8)))
        chain = Cipher(TripleDES(key16[:8] * 3), modes.CBC(bytes(8)))
        last = Cipher(TripleDES(key24), modes.ECB())

        def work() -> None:
            for cryptogram, covered in sizes:
                if cryptogram:
                    cbc.decryptor().update(bytes(cryptogram))
                chain.encryptor().update(bytes(covered - 8))
                last.encryptor().update(bytes(8))

        return work
    aes = algorithms.AES(os.urandom(suite.key_bits // 8))
    ecb = Cipher(aes, modes.ECB())

    def work_aes() -> None:
        for cryptogram, covered in sizes:
            if cryptogram:
                iv = ecb.encryptor().update(bytes(16))
                Cipher(aes, modes.CBC(iv)).decryptor().update(bytes(cryptogram))
            mac = cmac.CMAC(aes)
            mac.update(bytes(covered))
            mac.finalize()

    return work_aes


def _pace_agreement(files: dict[str, bytes]) -> tuple[CipherSuite, Callable[[], None]]:
    params = pace.choose_parameters(parse_security_infos(files["CardAccess"]))
    curve = params.group.openssl_curve
    other = ec.generate_private_key(curve).public_key()
    nonce = Cipher(algorithms.AES(os.urandom(16)), modes.CBC(bytes(16)))

    def work() -> None:
        nonce.decryptor().update(bytes(16))
        for _ in range(2):
            ec.generate_private_key(curve)
        key = ec.generate_private_key(curve)
        for _ in range(3):
            key.exchange(ec.ECDH(), other)

    return params.suite, work


def _bac_agreement() -> Callable[[], None]:
    cbc = Cipher(TripleDES(os.urandom(24)), modes.CBC(bytes(8)))

    def work() -> None:
        for _ in range(2):
            cbc.encryptor().update(bytes(32))
            cbc.encryptor().update(bytes(40))  # the retail MAC over the padded cryptogram (as 3DES)

    return work


def floor_ms(protocol: str, wire: list[tuple[bytes, bytes]], files: dict[str, bytes], aa_key,
             repeats: int = 50) -> dict[str, float]:
    """Milliseconds per part of the least work a terminal must do for this read (see the module doc)."""
    if protocol == "pace":
        suite, agreement = _pace_agreement(files)
    else:
        suite, agreement = DES3, _bac_agreement()
    sizes = _sm_sizes(wire, suite.block_size)

    parsed = sod.parse_sod(files["SOD"])
    signer_key = sod.load_certificate(parsed.signer_certificate).public_key()
    groups = [data for name, data in files.items() if name.startswith("DG")]

    def passive() -> None:
        hashlib.new(parsed.digest_algorithm, parsed.encapsulated_content).digest()
        sod._verify(signer_key, parsed, parsed.signed_attributes or parsed.encapsulated_content)
        for data in groups:
            hashlib.new(parsed.hash_algorithm, data).digest()

    challenge = os.urandom(8)
    signature = aa_sign(aa_key, challenge, os.urandom)
    aa_public = lds.parse_dg15(files["DG15"])
    if not aa_verify(aa_public, challenge, signature):
        raise RuntimeError("floor: the Active Authentication signature does not verify")

    def active() -> None:
        aa_verify(aa_public, challenge, signature)

    image = np.frombuffer(lds.parse_dg2(files["DG2"])[0].image, np.uint8)

    def portrait() -> None:
        cv2.imdecode(image, cv2.IMREAD_COLOR)

    parts = {
        "secure messaging": _symmetric(suite, sizes),
        "access control": agreement,
        "EF.SOD signature and hashes": passive,
        "active authentication": active,
        "portrait decode": portrait,
    }
    return {name: _median_ms(work, repeats) for name, work in parts.items()}


def best_ratio(replay_ms: float, floor: dict[str, float]) -> float:
    """Full read / replay for a terminal that did nothing but the floor's work (the goal's best case)."""
    return (replay_ms + sum(floor.values())) / replay_ms
