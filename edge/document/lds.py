"""Logical Data Structure files (ICAO 9303-10): EF.COM, DG1, DG2, DG14, DG15.

Parsing is pure and strict (MalformedData on anything unexpected). Only `decode_image` touches OpenCV, and
imports it when called, so the parsers stay importable and fuzzable without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.document import tlv
from edge.document.errors import MalformedData
from edge.document.mrz import MRZ, parse_mrz
from edge.document.securityinfo import SecurityInfo, parse_security_infos

DG_TAGS = {1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68, 9: 0x69, 10: 0x6A, 11: 0x6B,
           12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70}
TAG_TO_DG = {tag: number for number, tag in DG_TAGS.items()}
COM_TAG = 0x60
SOD_TAG = 0x77


@dataclass(frozen=True)
class EFCom:
    lds_version: str
    unicode_version: str
    data_groups: tuple[int, ...]


def parse_com(data: bytes) -> EFCom:
    content = tlv.expect(data, COM_TAG)
    items = {item.tag: item.value for item in tlv.decode_all(content)}
    if 0x5C not in items:
        raise MalformedData("EF.COM without tag list 5C")
    groups = []
    for tag in items[0x5C]:
        if tag not in TAG_TO_DG:
            raise MalformedData(f"EF.COM lists unknown data group tag {tag:02X}")
        groups.append(TAG_TO_DG[tag])
    return EFCom(
        items.get(0x5F01, b"").decode("ascii", "replace"),
        items.get(0x5F36, b"").decode("ascii", "replace"),
        tuple(groups),
    )


def parse_dg1(data: bytes) -> MRZ:
    content = tlv.expect(data, DG_TAGS[1])
    text = tlv.expect(content, 0x5F1F)
    try:
        mrz = text.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedData("DG1 MRZ is not ASCII") from exc
    if len(mrz) == 90:
        return parse_mrz([mrz[0:30], mrz[30:60], mrz[60:90]])
    if len(mrz) == 88:
        return parse_mrz([mrz[0:44], mrz[44:88]])
    if len(mrz) == 72:
        return parse_mrz([mrz[0:36], mrz[36:72]])
    raise MalformedData(f"DG1 MRZ of {len(mrz)} characters is not TD1 (90), TD2 (72) or TD3 (88)")


# --- DG2 ------------------------------------------------------------------------------------------------

JPEG = "jpeg"
JPEG2000 = "jpeg2000"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"


@dataclass(frozen=True, repr=False)
class FaceImage:
    image: bytes
    format: str  # "jpeg" or "jpeg2000"
    width: int = 0
    height: int = 0
    header: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"FaceImage({self.format}, {self.width}x{self.height}, {len(self.image)} bytes)"


def sniff_format(image: bytes) -> str:
    if image[:3] == b"\xff\xd8\xff":
        return JPEG
    if image[:12] == _JP2_SIGNATURE or image[:4] == _J2K_CODESTREAM:
        return JPEG2000
    raise MalformedData("portrait is neither JPEG nor JPEG 2000")


def parse_dg2(data: bytes) -> list[FaceImage]:
    """All face images of DG2 (usually one): CBEFF 7F61 > 7F60 > 5F2E/7F2E with an ISO/IEC 19794-5 record."""
    content = tlv.expect(data, DG_TAGS[2])
    group = tlv.expect(content, 0x7F61)
    faces: list[FaceImage] = []
    for item in tlv.decode_all(group):
        if item.tag == 0x02:
            continue
        if item.tag != 0x7F60:
            raise MalformedData(f"unexpected tag {item.tag:X} in the biometric information group template")
        blocks = [child for child in item.children() if child.tag in (0x5F2E, 0x7F2E)]
        if len(blocks) != 1:
            raise MalformedData("biometric information template needs exactly one data block")
        faces.extend(parse_face_record(blocks[0].value))
    if not faces:
        raise MalformedData("DG2 holds no face image")
    return faces


def parse_face_record(block: bytes) -> list[FaceImage]:
    """ISO/IEC 19794-5 (2005) facial record data; other encodings fall back to finding the image by signature."""
    if block[:4] != b"FAC\x00":
        return [_image_by_signature(block)]
    if len(block) < 14:
        raise MalformedData("facial record header truncated")
    count = int.from_bytes(block[12:14], "big")
    offset = 14
    faces = []
    for _ in range(count):
        if offset + 20 > len(block):
            raise MalformedData("facial information truncated")
        record_length = int.from_bytes(block[offset : offset + 4], "big")
        points = int.from_bytes(block[offset + 4 : offset + 6], "big")
        end = offset + record_length
        if record_length < 32 + 8 * points or end > len(block):
            raise MalformedData("facial record length inconsistent")
        info = offset + 20 + 8 * points
        image_type, data_type = block[info], block[info + 1]
        width = int.from_bytes(block[info + 2 : info + 4], "big")
        height = int.from_bytes(block[info + 4 : info + 6], "big")
        image = block[info + 12 : end]
        if data_type not in (0, 1):
            raise MalformedData("face image data type is neither JPEG (0) nor JPEG 2000 (1)")
        declared = JPEG if data_type == 0 else JPEG2000
        if sniff_format(image) != declared:
            raise MalformedData("face image bytes do not match the declared image data type")
        faces.append(FaceImage(image, declared, width, height,
                               {"image_type": image_type, "gender": block[offset + 6], "feature_points": points}))
        offset = end
    if not faces:
        raise MalformedData("facial record with no face")
    return faces


def _image_by_signature(block: bytes) -> FaceImage:
    for marker in (b"\xff\xd8\xff", _JP2_SIGNATURE, _J2K_CODESTREAM):
        position = block.find(marker)
        if position >= 0:
            image = block[position:]
            return FaceImage(image, sniff_format(image))
    raise MalformedData("no JPEG or JPEG 2000 image in the biometric data block")


def decode_image(face: FaceImage):
    """Decode the portrait into a BGR uint8 numpy array (OpenCV handles JPEG and JPEG 2000)."""
    import cv2
    import numpy as np

    array = cv2.imdecode(np.frombuffer(face.image, np.uint8), cv2.IMREAD_COLOR)
    if array is None or array.size == 0:
        raise MalformedData(f"portrait ({face.format}) cannot be decoded")
    return array


# --- DG14, DG15 -------------------------------------------------------------------------------------------


def parse_dg14(data: bytes) -> list[SecurityInfo]:
    return parse_security_infos(tlv.expect(data, DG_TAGS[14]))


def parse_dg15(data: bytes):
    """The Active Authentication public key (RSA or EC, named or explicit curve) as a `cryptography` key."""
    from edge.document.keys import load_public_key

    return load_public_key(tlv.expect(data, DG_TAGS[15]))
