"""Encoders for the elementary files of an eMRTD's LDS (ICAO 9303-10), as a document issuer writes them.

Written independently of the terminal's parsers (edge.document.lds) on purpose: the simulator's encoders
and the terminal's decoders check each other. Only edge.document.tlv's plain `encode` is shared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

import cv2
import numpy as np
from asn1crypto import algos, core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edge.document.tlv import encode as tlv

# LDS file names the simulator uses, with their short file identifiers (ICAO 9303-10 table 38/39).
FILE_IDS: dict[str, int] = {
    "CardAccess": 0x011C,
    "COM": 0x011E,
    "SOD": 0x011D,
    "DG1": 0x0101,
    "DG2": 0x0102,
    "DG14": 0x010E,
    "DG15": 0x010F,
}
DG_TAGS: dict[int, int] = {1: 0x61, 2: 0x75, 14: 0x6E, 15: 0x6F}

ID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
ID_AA = "2.23.136.1.1.5"
ECDSA_PLAIN_SHA256 = "0.4.0.127.0.7.1.1.4.1.3"
ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
ID_CA_ECDH_AES_CBC_CMAC_128 = "0.4.0.127.0.7.2.2.3.2.2"
ID_PACE_ECDH_GM_AES_CBC_CMAC_128 = "0.4.0.127.0.7.2.2.4.2.2"
PACE_PARAMETER_IDS = {"P-256": 12, "brainpoolP256r1": 13}  # BSI TR-03110-3 standardized domain parameters


def ef_com(data_groups: list[int]) -> bytes:
    """EF.COM: LDS version 1.7, Unicode 4.0.0, the tags of the data groups present."""
    tags = bytes(DG_TAGS[n] for n in sorted(data_groups))
    return tlv(0x60, tlv(0x5F01, b"0107") + tlv(0x5F36, b"040000") + tlv(0x5C, tags))


def dg1(mrz: str) -> bytes:
    """DG1: the MRZ lines concatenated without separators."""
    return tlv(0x61, tlv(0x5F1F, mrz.replace("\n", "").encode("ascii")))


# --- DG2: CBEFF biometric template with an ISO/IEC 19794-5 (2005) face record ----------------------------

JPEG, JPEG2000 = 0, 1


def image_format(image: bytes) -> int:
    if image[:2] == b"\xff\xd8":
        return JPEG
    if image[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or image[:4] == b"\xff\x4f\xff\x51":
        return JPEG2000
    raise ValueError("portrait is neither JPEG nor JPEG 2000")


def encode_portrait(image: np.ndarray, fmt: str = "jpeg", max_bytes: int | None = None) -> bytes:
    """Encode a BGR array as JPEG or JPEG 2000; with `max_bytes`, the best quality that fits."""
    if fmt == "jpeg":
        extension, parameter, low, high, default = ".jpg", cv2.IMWRITE_JPEG_QUALITY, 5, 100, 90
    elif fmt in ("jp2", "jpeg2000"):
        # OpenCV's JPEG 2000 rate: 1..1000 (thousandths of the uncompressed size, roughly).
        extension, parameter, low, high, default = ".jp2", cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1, 1000, 100
    else:
        raise ValueError(f"unknown portrait format {fmt!r}")

    def at(quality: int) -> bytes:
        ok, buf = cv2.imencode(extension, image, [parameter, quality])
        if not ok:
            raise ValueError(f"{fmt} encoding failed")
        return buf.tobytes()

    if max_bytes is None:
        return at(default)
    best = at(low)
    while low <= high:  # binary search on quality: the largest encoding that still fits
        mid = (low + high) // 2
        data = at(mid)
        if len(data) <= max_bytes:
            best, low = data, mid + 1
        else:
            high = mid - 1
    return best


def face_record(image: bytes) -> bytes:
    """ISO/IEC 19794-5:2005 facial record: general header, one facial record, no feature points."""
    decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("portrait cannot be decoded")
    height, width = decoded.shape[:2]
    image_info = (
        bytes([1, image_format(image)])  # full frontal; image data type
        + width.to_bytes(2, "big")
        + height.to_bytes(2, "big")
        + bytes([1, 2])  # 24-bit RGB; digital still camera
        + b"\x00\x00"  # device type: unspecified
        + b"\x00\x00"  # quality: unspecified
    )
    facial_info_length = 20
    record_length = facial_info_length + len(image_info) + len(image)
    facial_info = (
        record_length.to_bytes(4, "big")
        + (0).to_bytes(2, "big")  # feature points
        + bytes([0, 0, 0])  # gender, eye colour, hair colour: unspecified
        + b"\x00\x00\x00"  # feature mask
        + b"\x00\x00"  # expression
        + b"\x00\x00\x00"  # pose angles
        + b"\x00\x00\x00"  # pose angle uncertainty
    )
    general = b"FAC\x00" + b"010\x00" + (14 + record_length).to_bytes(4, "big") + (1).to_bytes(2, "big")
    return general + facial_info + image_info + image


def dg2(image: bytes) -> bytes:
    """DG2: biometric information group template (7F61) with one face (BIT 7F60: header A1, data 5F2E)."""
    header = (
        tlv(0x80, b"\x01\x01")  # ICAO header version
        + tlv(0x81, b"\x02")  # biometric type: facial features
        + tlv(0x87, b"\x01\x01")  # format owner: ISO/IEC JTC 1/SC 37
        + tlv(0x88, b"\x00\x08")  # format type: face image
    )
    bit = tlv(0x7F60, tlv(0xA1, header) + tlv(0x5F2E, face_record(image)))
    return tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + bit))


# --- security infos (DG14, EF.CardAccess), DG15 -----------------------------------------------------------


def _seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def _set_of(items: list[bytes]) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))  # DER: SET OF elements sorted by encoding


def _oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def _int(value: int) -> bytes:
    return core.Integer(value).dump()


def spki(public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def card_access(curves: list[str]) -> bytes:
    """EF.CardAccess: one PACEInfo (generic mapping, ECDH, AES-128) per offered curve."""
    infos = [_seq(_oid(ID_PACE_ECDH_GM_AES_CBC_CMAC_128), _int(2), _int(PACE_PARAMETER_IDS[curve])) for curve in curves]
    return _set_of(infos)


def dg14(
    *,
    aa_public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | None = None,
    ca_public_key: ec.EllipticCurvePublicKey | None = None,
) -> bytes:
    """DG14 SecurityInfos: ChipAuthenticationInfo + its public key when CA is offered; ActiveAuthenticationInfo
    (ECDSA plain SHA-256) when the AA key is an EC key (9303-11 9.2: the terminal must know the hash)."""
    infos: list[bytes] = []
    if ca_public_key is not None:
        infos.append(_seq(_oid(ID_CA_ECDH_AES_CBC_CMAC_128), _int(1)))
        infos.append(_seq(_oid(ID_PK_ECDH), spki(ca_public_key)))
    if isinstance(aa_public_key, ec.EllipticCurvePublicKey):
        infos.append(_seq(_oid(ID_AA), _int(1), _oid(ECDSA_PLAIN_SHA256)))
    return tlv(0x6E, _set_of(infos))


def dg15(aa_public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> bytes:
    return tlv(0x6F, spki(aa_public_key))


# --- EF.SOD ------------------------------------------------------------------------------------------------


class DataGroupHash(core.Sequence):
    _fields: ClassVar[list[tuple[str, Any]]] = [
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LDSSecurityObject(core.Sequence):
    """ICAO 9303-10 4.6.2.2, version 0 (no LDSVersionInfo)."""

    _fields: ClassVar[list[tuple[str, Any]]] = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
    ]


def lds_security_object(data_groups: dict[int, bytes]) -> bytes:
    return LDSSecurityObject(
        {
            "version": 0,
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "data_group_hash_values": [
                {"data_group_number": n, "data_group_hash_value": hashlib.sha256(content).digest()}
                for n, content in sorted(data_groups.items())
            ],
        }
    ).dump()


def ef_sod(signed_data_der: bytes) -> bytes:
    return tlv(0x77, signed_data_der)


def mrz_date(day: dt.date) -> str:
    return day.strftime("%y%m%d")
