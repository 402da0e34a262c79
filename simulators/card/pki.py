"""A test PKI for simulated documents: a country signing CA (CSCA), Document Signers (DS) and a CRL.

    pki = TestPKI(seed=7, algorithm="ecdsa")        # or "rsa"
    signer = pki.signer("valid")                    # "revoked", "expired", "not_yet_valid", "unknown_csca"
    pki.write_trust_store(directory, master_list=True)

EC keys, serial numbers and dates are derived from the seed, so with ECDSA the same seed gives the same
certificates (ECDSA signatures stay randomised, as the library makes them); RSA keys are random but memoised
per seed within a process (see `rsa_key`).
Nothing here is secret: these keys sign only test documents and must never be trusted by a real gate.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

Algorithm = Literal["ecdsa", "rsa"]
SignerStatus = Literal["valid", "revoked", "expired", "not_yet_valid", "unknown_csca"]
SIGNER_STATUSES: tuple[str, ...] = ("valid", "revoked", "expired", "not_yet_valid", "unknown_csca")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

ID_ICAO_CSCA_MASTER_LIST = "2.23.136.1.1.2"


def derive_int(seed: int | str, label: str, nbytes: int = 32) -> int:
    """A deterministic integer for (seed, label): the source of every 'random' choice in the factory."""
    out = b""
    counter = 0
    while len(out) < nbytes:
        out += hashlib.sha256(f"{seed}/{label}/{counter}".encode()).digest()
        counter += 1
    return int.from_bytes(out[:nbytes], "big")


def ec_key(seed: int | str, label: str, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    curve = curve or ec.SECP256R1()
    # 31 bytes stay below the order of every 256-bit curve we use, and are never zero in practice.
    scalar = derive_int(seed, label, 31) or 1
    return ec.derive_private_key(scalar, curve)


@functools.lru_cache(maxsize=64)
def rsa_key(seed: int | str, label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key, memoised per (seed, label) for the life of the process.

    Not derived from the seed: a seeded prime search in Python takes ~0.5 s a key against OpenSSL's 30 ms,
    and test runs make many. Everything signed with RSA PKCS#1 v1.5 is still reproducible within a run.
    """
    del seed, label
    return rsa.generate_private_key(65537, bits)


def signing_key(seed: int | str, label: str, algorithm: Algorithm) -> PrivateKey:
    return ec_key(seed, label) if algorithm == "ecdsa" else rsa_key(seed, label, 2048)


def sign(key: PrivateKey, data: bytes) -> bytes:
    """SHA-256 signature: ECDSA (DER-encoded) or RSA PKCS#1 v1.5, as EF.SOD and certificates use them."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def signature_algorithm_name(key: PrivateKey) -> str:
    """asn1crypto's name of the CMS signature algorithm `sign` produces with this key."""
    return "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "sha256_rsa"


@dataclass(frozen=True)
class Signer:
    """A Document Signer: its key and certificate, and the CSCA certificate it chains to."""

    key: PrivateKey
    certificate: x509.Certificate
    issuer: x509.Certificate
    status: str = "valid"

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class TestPKI:
    """One country's CSCA with its Document Signers, plus a CSCA of nowhere for 'unknown signer' documents."""

    seed: int | str = 1
    algorithm: Algorithm = "ecdsa"
    country: str = "UT"  # X.509 wants two letters; the MRZ's issuing state is "UTO"
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    __test__ = False  # not a pytest test class, despite the name

    def __post_init__(self) -> None:
        tag = f"{self.seed}/{self.algorithm}"
        self.csca_key = signing_key(tag, "csca", self.algorithm)
        self.csca = self._ca_certificate(self.csca_key, f"CSCA {self.country} test {self.algorithm}", tag)
        self.rogue_csca_key = signing_key(tag, "rogue-csca", self.algorithm)
        self.rogue_csca = self._ca_certificate(self.rogue_csca_key, "CSCA of nowhere (untrusted)", tag + "/rogue")
        year = dt.timedelta(days=365)
        validity = {
            "valid": (self.now - dt.timedelta(days=30), self.now + 10 * year),
            "revoked": (self.now - dt.timedelta(days=30), self.now + 10 * year),
            "expired": (self.now - 11 * year, self.now - dt.timedelta(days=30)),
            "not_yet_valid": (self.now + dt.timedelta(days=30), self.now + 10 * year),
            "unknown_csca": (self.now - dt.timedelta(days=30), self.now + 10 * year),
        }
        self._signers: dict[str, Signer] = {}
        for status, (not_before, not_after) in validity.items():
            rogue = status == "unknown_csca"
            key = signing_key(tag, f"ds-{status}", self.algorithm)
            issuer_key, issuer = (self.rogue_csca_key, self.rogue_csca) if rogue else (self.csca_key, self.csca)
            cert = self._signer_certificate(
                key, issuer_key, issuer, f"DS {self.country} {status}", not_before, not_after, tag
            )
            self._signers[status] = Signer(key, cert, issuer, status)
        self.crl = self._crl([self._signers["revoked"].certificate])

    # --- public ------------------------------------------------------------------------------------------

    def signer(self, status: SignerStatus | str = "valid") -> Signer:
        try:
            return self._signers[status]
        except KeyError:
            raise ValueError(f"unknown signer status {status!r}; one of {', '.join(SIGNER_STATUSES)}") from None

    @property
    def csca_pem(self) -> bytes:
        return self.csca.public_bytes(serialization.Encoding.PEM)

    def master_list(self) -> bytes:
        """An ICAO CSCA master list (CMS SignedData, id-icao-cscaMasterList) holding this PKI's CSCA,
        signed by a master list signer the CSCA issued."""
        tag = f"{self.seed}/{self.algorithm}"
        mls_key = signing_key(tag, "master-list-signer", self.algorithm)
        mls = self._signer_certificate(
            mls_key,
            self.csca_key,
            self.csca,
            f"Master List Signer {self.country}",
            self.now - dt.timedelta(days=30),
            self.now + 3 * dt.timedelta(days=365),
            tag,
        )
        csca = asn1_x509.Certificate.load(self.csca.public_bytes(serialization.Encoding.DER))
        content = _CscaMasterList({"version": 0, "cert_list": [csca]}).dump()
        return signed_data(ID_ICAO_CSCA_MASTER_LIST, content, mls_key, mls, self.now)

    def write_trust_store(self, directory: str | Path, *, master_list: bool = False, crl: bool = True) -> Path:
        """Write the trust store a gate would be configured with: CSCA certificate(s) as PEM, the CRL as DER
        (`*.crl`), and optionally an ICAO master list (`*.ml`) instead of the bare certificate."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"csca-{self.country.lower()}-{self.algorithm}"
        if master_list:
            (directory / f"{name}.ml").write_bytes(self.master_list())
        else:
            (directory / f"{name}.pem").write_bytes(self.csca_pem)
        if crl:
            (directory / f"{name}.crl").write_bytes(self.crl.public_bytes(serialization.Encoding.DER))
        return directory

    # --- certificates ------------------------------------------------------------------------------------

    def _serial(self, tag: str, label: str) -> int:
        return derive_int(tag, f"serial/{label}", 16) >> 1 or 1  # positive, < 2**127

    def _ca_certificate(self, key: PrivateKey, common_name: str, tag: str) -> x509.Certificate:
        name = _name(self.country, common_name)
        public = key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(self._serial(tag, common_name))
            .not_valid_before(self.now - dt.timedelta(days=365))
            .not_valid_after(self.now + dt.timedelta(days=15 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )

    def _signer_certificate(
        self,
        key: PrivateKey,
        issuer_key: PrivateKey,
        issuer: x509.Certificate,
        common_name: str,
        not_before: dt.datetime,
        not_after: dt.datetime,
        tag: str,
    ) -> x509.Certificate:
        public = key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(_name(self.country, common_name))
            .issuer_name(issuer.subject)
            .public_key(public)
            .serial_number(self._serial(tag, common_name))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .sign(issuer_key, hashes.SHA256())
        )

    def _crl(self, revoked: list[x509.Certificate]) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.csca.subject)
            .last_update(self.now - dt.timedelta(hours=1))
            .next_update(self.now + dt.timedelta(days=30))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.csca.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(self.now - dt.timedelta(days=1))
                .build()
            )
        return builder.sign(self.csca_key, hashes.SHA256())


def _name(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "echannel test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class _SetOfCertificates(core.SetOf):
    _child_spec = asn1_x509.Certificate


class _CscaMasterList(core.Sequence):
    """ICAO 9303-12: CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }."""

    _fields: ClassVar[list[tuple[str, Any]]] = [("version", core.Integer), ("cert_list", _SetOfCertificates)]


def signed_data(
    content_type: str,
    content: bytes,
    key: PrivateKey,
    certificate: x509.Certificate,
    signing_time: dt.datetime,
    *,
    corrupt_signature: bool = False,
) -> bytes:
    """CMS SignedData (RFC 5652) over `content` with signed attributes (content type, signing time,
    message digest), SHA-256, the signer identified by issuer and serial number, its certificate included.
    Returns the DER ContentInfo. `corrupt_signature` flips one bit of the signature (a forged EF.SOD)."""
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    signed_attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
        ]
    )
    signature = sign(key, signed_attrs.dump())
    if corrupt_signature:
        signature = signature[:-6] + bytes([signature[-6] ^ 0x01]) + signature[-5:]
    digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": signature_algorithm_name(key)}),
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": cms.EncapsulatedContentInfo(
                {"content_type": content_type, "content": core.ParsableOctetString(content)}
            ),
            "certificates": [cert],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
