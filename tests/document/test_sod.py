"""EF.SOD parsing and signature verification, and the trust store (CSCA files, master lists, CRLs)."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from edge.document import tlv
from edge.document.errors import MalformedData
from edge.document.sod import parse_sod, verify_signature
from edge.document.trust import TrustStore
from edge.gate.events import CheckResult
from simulators.card.factory import TestPKI, issue_document


@pytest.fixture(scope="module", params=["ecdsa", "rsa"])
def pki(request) -> TestPKI:
    return TestPKI(seed=21, algorithm=request.param)


def test_factory_sod_parses_and_verifies(pki):
    document = issue_document(pki, kind="TD3", seed="sod")
    sod = parse_sod(document.files["SOD"])
    assert sod.hash_algorithm == "sha256" and set(sod.dg_hashes) == {1, 2, 14, 15}
    assert sod.hash(document.files["DG1"]) == sod.dg_hashes[1]
    assert sod.signer_certificate is not None and verify_signature(sod).ok
    assert "sha256" in repr(sod)


def test_corrupted_signature_and_changed_content_are_told_apart(pki):
    forged = issue_document(pki, kind="TD3", seed="sod-bad", defect="bad_sod_signature")
    assert verify_signature(parse_sod(forged.files["SOD"])).reason == "bad_signature"
    genuine = issue_document(pki, kind="TD3", seed="sod-edit")
    sod_bytes = genuine.files["SOD"]
    dg1_hash = parse_sod(sod_bytes).dg_hashes[1]
    edited = sod_bytes.replace(dg1_hash, bytes(len(dg1_hash)))
    assert verify_signature(parse_sod(edited)).reason == "message_digest_mismatch"


def _resign_with_pss(sod_bytes: bytes) -> tuple[bytes, x509.Certificate]:
    """The same SignedData, re-signed by a fresh RSA key with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PSS signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    info = cms.ContentInfo.load(tlv.expect(sod_bytes, 0x77))
    signer = info["content"]["signer_infos"][0]
    attributes = signer["signed_attrs"]
    signed = b"\x31" + attributes.dump()[1:]  # signed as SET OF, carried as [0] IMPLICIT
    signature = key.sign(signed, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    signer["signature_algorithm"] = algos.SignedDigestAlgorithm({
        "algorithm": "rsassa_pss",
        "parameters": algos.RSASSAPSSParams({
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        }),
    })
    signer["signature"] = signature
    return tlv.encode(0x77, info.dump(force=True)), cert


def test_rsa_pss_signatures_verify(pki):
    document = issue_document(pki, kind="TD1", seed="pss")
    sod_bytes, cert = _resign_with_pss(document.files["SOD"])
    sod = parse_sod(sod_bytes)
    assert sod.signature_algorithm == "rsassa_pss"
    assert verify_signature(sod, cert).ok
    assert not verify_signature(sod).ok  # the carried DS certificate did not sign this one


@pytest.mark.parametrize("data", [b"", b"\x77\x00", b"\x77\x03\x30\x01\x00", b"\x60\x02\x30\x00",
                                  tlv.encode(0x77, bytes.fromhex("3003060100"))])
def test_malformed_sod_raises_malformed_data(data):
    with pytest.raises(MalformedData):
        parse_sod(data)


def test_trust_store_from_certificates_or_a_master_list(pki, tmp_path):
    document = issue_document(pki, kind="TD3", seed="trust")
    signer = x509.load_der_x509_certificate(parse_sod(document.files["SOD"]).signer_certificate)
    for master_list in (False, True):
        directory = pki.write_trust_store(tmp_path / str(master_list), master_list=master_list)
        (directory / "README.txt").write_text("not a certificate")
        store = TrustStore.load(directory)
        assert store.problems == ["README.txt"]
        issuer = store.issuer_of(signer)
        assert issuer is not None and issuer.subject == pki.csca.subject
        assert TrustStore.validity(signer, issuer, pki.now) is CheckResult.SUCCESSFUL
        assert store.revocation(signer, issuer, pki.now, dt.timedelta(hours=48))[0] is CheckResult.SUCCESSFUL


def test_revocation_needs_a_fresh_crl_of_the_issuer(pki, tmp_path):
    document = issue_document(pki, kind="TD3", seed="crl", defect="revoked_signer")
    signer = x509.load_der_x509_certificate(parse_sod(document.files["SOD"]).signer_certificate)
    with_crl = TrustStore.load(pki.write_trust_store(tmp_path / "a"))
    issuer = with_crl.issuer_of(signer)
    assert with_crl.revocation(signer, issuer, pki.now, dt.timedelta(hours=48)) == (CheckResult.FAILED, "revoked")
    without_crl = TrustStore.load(pki.write_trust_store(tmp_path / "b", crl=False))
    assert without_crl.revocation(signer, issuer, pki.now, dt.timedelta(hours=48)) == (
        CheckResult.UNDETERMINED, "crl_missing")
    later = pki.now + dt.timedelta(hours=49)
    genuine = issue_document(pki, kind="TD3", seed="crl-ok")
    good = x509.load_der_x509_certificate(parse_sod(genuine.files["SOD"]).signer_certificate)
    assert with_crl.revocation(good, issuer, later, dt.timedelta(hours=48)) == (CheckResult.UNDETERMINED, "crl_stale")


def test_remembered_chain_checks_follow_the_store_and_a_forged_signer_stays_untrusted(pki, tmp_path):
    document = issue_document(pki, kind="TD3", seed="cache")
    signer = x509.load_der_x509_certificate(parse_sod(document.files["SOD"]).signer_certificate)
    directory = pki.write_trust_store(tmp_path / "store")
    store = TrustStore()
    assert store.issuer_of(signer) is None  # nothing trusted yet (and that answer is remembered) ...
    for path in sorted(directory.iterdir()):
        store.add_file(path.read_bytes())
    assert store.issuer_of(signer) is not None  # ... until a CSCA is added
    assert store.issuer_of(signer) == store.issuer_of(signer)
    forged = issue_document(pki, kind="TD3", seed="cache", defect="unknown_csca")
    untrusted = x509.load_der_x509_certificate(parse_sod(forged.files["SOD"]).signer_certificate)
    assert store.issuer_of(untrusted) is None and store.issuer_of(untrusted) is None


@pytest.mark.parametrize("flags", [[], ["-noattr"], ["-keyid"], ["-keyid", "-noattr"]])
def test_sods_made_by_openssl_are_read(flags, tmp_path):
    """What `openssl cms -sign` makes (with or without signed attributes, issuer+serial or key identifier)."""
    import shutil
    import subprocess

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DS")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(99).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "ds.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ds.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    from simulators.card import lds_files

    (tmp_path / "lso.der").write_bytes(lds_files.lds_security_object({1: b"\x61\x00"}))
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-econtent_type",
                    "2.23.136.1.1.1", "-md", "sha256", "-signer", str(tmp_path / "ds.pem"), "-inkey",
                    str(tmp_path / "ds.key"), "-outform", "DER", "-in", str(tmp_path / "lso.der"),
                    "-out", str(tmp_path / "sod.der"), *flags], check=True, capture_output=True)
    sod = parse_sod(tlv.encode(0x77, (tmp_path / "sod.der").read_bytes()))
    assert sod.signer_certificate is not None and (sod.signed_attributes is None) == ("-noattr" in flags)
    assert verify_signature(sod).ok
