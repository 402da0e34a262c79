"""LDS files: EF.COM, DG1, DG2 (CBEFF + ISO/IEC 19794-5, JPEG and JPEG 2000), DG14, DG15."""

from __future__ import annotations

import numpy as np
import pytest

from edge.document import lds, tlv
from edge.document.errors import MalformedData
from edge.document.securityinfo import ActiveAuthenticationInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo
from simulators.card.factory import TestPKI, issue_document

H = bytes.fromhex


@pytest.fixture(scope="module")
def document():
    return issue_document(TestPKI(seed=5), kind="TD3", seed="lds", chip_authentication=True)


def test_ef_com_of_the_appendix_d_example():
    com = lds.parse_com(H("60145F0104303130365F36063034303030305C026175"))
    assert com == lds.EFCom("0106", "040000", (1, 2))


def test_dg1_gives_the_mrz(document):
    mrz = lds.parse_dg1(document.files["DG1"])
    assert mrz.kind == "TD3" and mrz.check_digits_ok and "\n".join(mrz.lines) == document.mrz


@pytest.mark.parametrize("fmt", ["jpeg", "jpeg2000"])
def test_dg2_portrait_is_extracted_and_decoded(fmt):
    document = issue_document(TestPKI(seed=5), kind="TD1", seed=f"lds-{fmt}", portrait_format=fmt)
    faces = lds.parse_dg2(document.files["DG2"])
    assert len(faces) == 1 and faces[0].format == fmt and faces[0].width > 0
    image = lds.decode_image(faces[0])
    assert image.dtype == np.uint8 and image.shape == (faces[0].height, faces[0].width, 3)
    assert str(len(faces[0].image)) in repr(faces[0])


def test_dg2_with_a_7f2e_block_falls_back_to_the_image_signature(document):
    jpeg = lds.parse_dg2(document.files["DG2"])[0].image
    bit = tlv.encode(0x7F60, tlv.encode(0xA1, b"") + tlv.encode(0x7F2E, tlv.encode(0x81, b"") + jpeg))
    dg2 = tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + bit))
    assert lds.parse_dg2(dg2)[0].image == jpeg


def test_dg2_whose_image_type_lies_is_refused(document):
    dg2 = bytearray(document.files["DG2"])
    at = dg2.find(b"\xff\xd8\xff")
    dg2[at - 11] = 1  # declare JPEG 2000 for JPEG bytes
    with pytest.raises(MalformedData):
        lds.parse_dg2(bytes(dg2))


def test_undecodable_portrait_raises_malformed_data():
    with pytest.raises(MalformedData):
        lds.decode_image(lds.FaceImage(b"\xff\xd8\xff" + bytes(100), "jpeg"))


def test_dg14_and_dg15(document):
    infos = lds.parse_dg14(document.files["DG14"])
    kinds = {type(info) for info in infos}
    assert {ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, ActiveAuthenticationInfo} <= kinds
    key = lds.parse_dg15(document.files["DG15"])
    assert key.public_numbers() == document.aa_key.public_key().public_numbers()


@pytest.mark.parametrize("data", [b"", b"\x61\x00", b"\x61\x03\x5f\x1f\x00", b"\x6f\x03\x30\x01\x00",
                                  b"\x75\x04\x7f\x61\x01\x00", b"\x60\x03\x5c\x01\x99"])
def test_malformed_files_raise_malformed_data(data):
    for parser in (lds.parse_com, lds.parse_dg1, lds.parse_dg2, lds.parse_dg14, lds.parse_dg15):
        with pytest.raises(MalformedData):
            parser(data)


@pytest.mark.parametrize("curve", ["secp256r1", "brainpoolP256r1"])
def test_dg15_ec_key_with_explicit_curve_parameters(curve, tmp_path):
    """Documents often spell the curve out; openssl writes such keys (`-param_enc explicit`)."""
    import shutil
    import subprocess

    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    key = ec.generate_private_key(ec.SECP256R1() if curve == "secp256r1" else ec.BrainpoolP256R1())
    (tmp_path / "pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    subprocess.run(["openssl", "ec", "-pubin", "-in", str(tmp_path / "pub.pem"), "-param_enc", "explicit",
                    "-outform", "DER", "-pubout", "-out", str(tmp_path / "pub.der")], check=True, capture_output=True)
    explicit = (tmp_path / "pub.der").read_bytes()
    if curve == "brainpoolP256r1":  # cryptography maps explicit NIST curves only
        with pytest.raises(UnsupportedAlgorithm):
            serialization.load_der_public_key(explicit)
    loaded = lds.parse_dg15(tlv.encode(0x6F, explicit))
    assert loaded.curve.name == curve and loaded.public_numbers() == key.public_key().public_numbers()


def test_ec_key_given_by_standardized_domain_parameter_number():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from edge.document.keys import load_public_key

    key = ec.generate_private_key(ec.BrainpoolP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    algorithm = tlv.encode(0x30, tlv.encode(0x06, bytes.fromhex("04007F00070201")) + tlv.encode(0x02, b"\x0d"))
    spki = tlv.encode(0x30, algorithm + tlv.encode(0x03, b"\x00" + point))
    assert load_public_key(spki).public_numbers() == key.public_key().public_numbers()
    with pytest.raises(MalformedData):
        load_public_key(tlv.encode(0x30, algorithm.replace(b"\x02\x01\x0d", b"\x02\x01\x63") + tlv.encode(
            0x03, b"\x00" + point)))
