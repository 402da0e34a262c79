"""The document factory issues documents an independent verifier (OpenSSL) accepts, and forgeries it or
the data itself betray in exactly the intended way."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization

from edge.document.tlv import expect
from simulators.card import lds_files
from simulators.card.factory import DEFECTS, Document, Holder, TestPKI, issue_document

SPECIMEN = Holder(
    surname="ERIKSSON",
    given_names="ANNA<MARIA",
    document_number="L898902C3",
    birth_date=dt.date(1974, 8, 12),
    expiry_date=dt.date(2012, 4, 15),
    sex="F",
    optional_data="ZE184226B",
)


@pytest.fixture(scope="module", params=["ecdsa", "rsa"])
def pki(request: pytest.FixtureRequest) -> TestPKI:
    return TestPKI(seed=11, algorithm=request.param)


def openssl_verify(
    sod: bytes, tmp_path: Path, pki: TestPKI, *extra: str, with_crl: bool = False
) -> subprocess.CompletedProcess[str]:
    """`openssl cms -verify` against the PKI's CSCA (and its CRL, which `openssl cms` reads from the CA file)."""
    (tmp_path / "sod.der").write_bytes(sod)
    crl = pki.crl.public_bytes(serialization.Encoding.PEM) if with_crl else b""
    (tmp_path / "csca.pem").write_bytes(pki.csca_pem + crl)
    argv = ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "sod.der")]
    argv += ["-CAfile", str(tmp_path / "csca.pem"), "-purpose", "any", "-out", str(tmp_path / "content.der"), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def sod_hashes(document: Document) -> dict[int, bytes]:
    signed = cms.ContentInfo.load(document.sod_signed_data)["content"]
    lds = lds_files.LDSSecurityObject.load(signed["encap_content_info"]["content"].native)
    return {v["data_group_number"].native: v["data_group_hash_value"].native for v in lds["data_group_hash_values"]}


def test_mrz_reproduces_the_icao_td3_specimen() -> None:
    assert SPECIMEN.mrz("TD3") == (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    )


def test_mrz_reproduces_the_icao_td1_specimen() -> None:
    holder = Holder("ERIKSSON", "ANNA<MARIA", "D23145890", dt.date(1974, 8, 12), dt.date(2012, 4, 15), "F")
    assert holder.mrz("TD1") == (
        "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    )


@pytest.mark.parametrize("kind", ["TD1", "TD3"])
def test_openssl_accepts_every_genuine_sod(pki: TestPKI, kind: str, tmp_path: Path) -> None:
    for aa in ("ecdsa", "rsa", None):
        document = issue_document(pki, kind=kind, seed=f"genuine-{aa}", active_authentication=aa)  # type: ignore[arg-type]
        result = openssl_verify(document.sod_signed_data, tmp_path, pki)
        assert result.returncode == 0, result.stderr
        # What OpenSSL verified is the LDS security object, and it hashes the files the chip serves.
        assert (tmp_path / "content.der").read_bytes() == cms.ContentInfo.load(document.sod_signed_data)["content"][
            "encap_content_info"
        ]["content"].native
        for number, digest in sod_hashes(document).items():
            assert hashlib.sha256(document.files[f"DG{number}"]).digest() == digest


def test_openssl_accepts_documents_with_every_option(pki: TestPKI, tmp_path: Path) -> None:
    document = issue_document(
        pki, kind="TD3", seed=5, chip_authentication=True, pace_curves=("P-256", "brainpoolP256r1")
    )
    assert openssl_verify(document.sod_signed_data, tmp_path, pki).returncode == 0
    assert set(sod_hashes(document)) == {1, 2, 14, 15}


@pytest.mark.parametrize(
    ("defect", "why"),
    [
        ("bad_sod_signature", "CMS_SignerInfo_verify:verification failure"),
        ("unknown_csca", "unable to get local issuer certificate"),
        ("expired_signer", "certificate has expired"),
        ("signer_not_yet_valid", "certificate is not yet valid"),
    ],
)
def test_openssl_rejects_signature_and_signer_forgeries(pki: TestPKI, defect: str, why: str, tmp_path: Path) -> None:
    result = openssl_verify(issue_document(pki, seed=3, defect=defect).sod_signed_data, tmp_path, pki)
    assert result.returncode != 0
    assert why in result.stderr


def test_openssl_finds_the_revoked_signer_on_the_crl(pki: TestPKI, tmp_path: Path) -> None:
    genuine = openssl_verify(issue_document(pki, seed=3).sod_signed_data, tmp_path, pki, "-crl_check", with_crl=True)
    assert genuine.returncode == 0, genuine.stderr
    revoked = openssl_verify(
        issue_document(pki, seed=3, defect="revoked_signer").sod_signed_data, tmp_path, pki, "-crl_check", with_crl=True
    )
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stderr


@pytest.mark.parametrize(("defect", "group"), [("tampered_dg1", 1), ("tampered_dg2", 2)])
def test_tampering_breaks_exactly_one_data_group_hash(pki: TestPKI, defect: str, group: int) -> None:
    genuine = issue_document(pki, seed=8)
    forged = issue_document(pki, seed=8, defect=defect)
    hashes = sod_hashes(forged)
    mismatched = {n for n, digest in hashes.items() if hashlib.sha256(forged.files[f"DG{n}"]).digest() != digest}
    assert mismatched == {group}
    assert forged.files[f"DG{group}"] != genuine.files[f"DG{group}"]


def test_tampered_dg1_keeps_the_access_keys_and_changes_the_printed_name(pki: TestPKI) -> None:
    genuine, forged = (
        issue_document(pki, seed=9, kind="TD3"),
        issue_document(pki, seed=9, kind="TD3", defect="tampered_dg1"),
    )
    assert forged.mrz.splitlines()[1] == genuine.mrz.splitlines()[1]  # number, dates: BAC still works
    assert forged.mrz.splitlines()[0] != genuine.mrz.splitlines()[0]
    assert expect(expect(forged.files["DG1"], 0x61), 0x5F1F).decode() == forged.mrz.replace("\n", "")


def test_expired_document_has_an_expiry_in_the_past(pki: TestPKI) -> None:
    document = issue_document(pki, seed=4, defect="expired_document")
    assert document.holder is not None and document.holder.expiry_date < dt.date.today()
    assert issue_document(pki, seed=4).holder.expiry_date > dt.date.today()  # type: ignore[union-attr]


@pytest.mark.parametrize("aa", ["ecdsa", "rsa"])
def test_cloned_chip_holds_an_aa_key_that_does_not_match_dg15(pki: TestPKI, aa: str) -> None:
    def dg15_key(document: Document) -> bytes:
        return expect(document.files["DG15"], 0x6F)

    def chip_key(document: Document) -> bytes:
        assert document.aa_key is not None
        return lds_files.spki(document.aa_key.public_key())

    genuine = issue_document(pki, seed=6, active_authentication=aa)  # type: ignore[arg-type]
    clone = issue_document(pki, seed=6, active_authentication=aa, defect="cloned_chip")  # type: ignore[arg-type]
    assert chip_key(genuine) == dg15_key(genuine)
    assert chip_key(clone) != dg15_key(clone)
    copied = {name for name in genuine.files if name != "SOD"}  # EF.SOD too, but ECDSA signatures vary
    assert {n: clone.files[n] for n in copied} == {n: genuine.files[n] for n in copied}


def test_dg2_carries_a_decodable_face_record_and_may_exceed_32_kb(pki: TestPKI) -> None:
    big = np.random.default_rng(0).integers(0, 255, (640, 480, 3), dtype=np.uint8)
    document = issue_document(pki, seed=2, portrait=big, portrait_max_bytes=None)
    dg2 = document.files["DG2"]
    assert len(dg2) > 32 * 1024
    bit = expect(expect(dg2, 0x75), 0x7F61)
    record = _child(_child(bit, 0x7F60), 0x5F2E)
    assert record[:8] == b"FAC\x0001" + b"0\x00"
    image = record[14 + 20 + 12 :]
    decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (640, 480, 3)
    assert int.from_bytes(record[8:12], "big") == len(record)


def test_dg2_of_the_default_portrait_is_15_to_20_kb_and_jpeg2000_works(pki: TestPKI) -> None:
    assert 15_000 <= len(issue_document(pki, seed=1).files["DG2"]) <= 20_000
    jp2 = issue_document(pki, seed=1, portrait_format="jp2", portrait_max_bytes=12_000).files["DG2"]
    assert b"jP  " in jp2


def test_same_seed_same_document(tmp_path: Path) -> None:
    first = issue_document(TestPKI(seed=2), seed=2, kind="TD3")
    second = issue_document(TestPKI(seed=2), seed=2, kind="TD3")
    assert first.mrz == second.mrz and first.can == second.can
    assert {k: v for k, v in first.files.items() if k != "SOD"} == {k: v for k, v in second.files.items() if k != "SOD"}


def test_save_and_load_round_trip(pki: TestPKI, tmp_path: Path) -> None:
    document = issue_document(pki, seed=7, kind="TD3", chip_authentication=True, defect="cloned_chip")
    loaded = Document.load(document.save(tmp_path / "doc"))
    assert (loaded.kind, loaded.mrz, loaded.can, loaded.defect) == ("TD3", document.mrz, document.can, "cloned_chip")
    assert loaded.files == document.files
    assert loaded.aa_key is not None and document.aa_key is not None
    assert lds_files.spki(loaded.aa_key.public_key()) == lds_files.spki(document.aa_key.public_key())


def test_unknown_defect_is_a_clear_error(pki: TestPKI) -> None:
    with pytest.raises(ValueError, match="unknown defect"):
        issue_document(pki, defect="forged_by_magic")
    assert "cloned_chip" in DEFECTS


def test_trust_store_and_master_list_verify_with_openssl(pki: TestPKI, tmp_path: Path) -> None:
    store = pki.write_trust_store(tmp_path / "trust", master_list=True)
    (master_list,) = store.glob("*.ml")
    assert list(store.glob("*.crl"))
    result = openssl_verify(master_list.read_bytes(), tmp_path, pki)
    assert result.returncode == 0, result.stderr
    assert b"CSCA" in (tmp_path / "content.der").read_bytes()


def _child(value: bytes, tag: int) -> bytes:
    from edge.document.tlv import decode_all

    for item in decode_all(value):
        if item.tag == tag:
            return item.value
    raise AssertionError(f"no {tag:X}")
