"""EF.SOD (ICAO 9303-10 §4.6.2): tag 77 around a CMS SignedData whose content is an LDSSecurityObject.

`parse_sod` reads the structure (MalformedData for anything else); `verify_signature` checks the signed
attributes (content type, message digest) and the Document Signer's signature with `cryptography`:
RSA PKCS#1 v1.5, RSA-PSS and ECDSA.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from edge.document import tlv
from edge.document.errors import MalformedData

ID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _DataGroupHash(core.Sequence):
    _fields: ClassVar[list[tuple[str, Any]]] = [
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class _DataGroupHashValues(core.SequenceOf):
    _child_spec = _DataGroupHash


class _LDSVersionInfo(core.Sequence):
    _fields: ClassVar[list[tuple[str, Any]]] = [
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class _LDSSecurityObject(core.Sequence):
    _fields: ClassVar[list[tuple[str, Any]]] = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", _DataGroupHashValues),
        ("lds_version_info", _LDSVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True, repr=False)
class SOD:
    hash_algorithm: str  # "sha256", ...
    dg_hashes: dict[int, bytes]
    certificates: tuple[bytes, ...]  # DER, as carried in SignedData
    signer_certificate: bytes | None  # DER of the certificate the SignerInfo names, when carried
    digest_algorithm: str
    signature_algorithm: str  # asn1crypto name: "sha256_ecdsa", "rsassa_pss", "sha256_rsa", ...
    signature_parameters: Any
    signature: bytes
    signed_attributes: bytes | None  # DER with the SET tag (what was signed), or None
    message_digest: bytes | None
    content_type_attribute: str | None
    encapsulated_content: bytes
    signed_data_der: bytes

    def __repr__(self) -> str:
        return f"SOD({self.hash_algorithm}, DG{sorted(self.dg_hashes)}, {self.signature_algorithm})"

    def hash(self, content: bytes) -> bytes:
        return hashlib.new(self.hash_algorithm, content).digest()


def parse_sod(data: bytes) -> SOD:
    signed_data_der = tlv.expect(data, 0x77)
    try:
        return _parse(signed_data_der)
    except MalformedData:
        raise
    except Exception as exc:  # asn1crypto parses lazily and raises many types on hostile input
        raise MalformedData(f"EF.SOD structure: {type(exc).__name__}") from exc


def _parse(signed_data_der: bytes) -> SOD:
    info = cms.ContentInfo.load(signed_data_der, strict=True)
    if info["content_type"].native != "signed_data":
        raise MalformedData("EF.SOD does not hold SignedData")
    signed = info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != ID_LDS_SECURITY_OBJECT:
        raise MalformedData("EF.SOD content is not an LDSSecurityObject")
    content = encap["content"]
    if content.native is None:
        raise MalformedData("EF.SOD without encapsulated content")
    content_bytes = content.native if isinstance(content.native, bytes) else content.contents
    lso = _LDSSecurityObject.load(content_bytes, strict=True)
    hash_algorithm = lso["hash_algorithm"]["algorithm"].native
    if hash_algorithm not in HASHES:
        raise MalformedData(f"unsupported LDS hash algorithm {hash_algorithm}")
    dg_hashes: dict[int, bytes] = {}
    for entry in lso["data_group_hash_values"]:
        number = entry["data_group_number"].native
        if not 1 <= number <= 16 or number in dg_hashes:
            raise MalformedData("LDSSecurityObject data group numbers must be 1..16 and unique")
        dg_hashes[number] = entry["data_group_hash_value"].native
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise MalformedData("EF.SOD must have exactly one SignerInfo")
    signer = signer_infos[0]
    certificates = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            certificates.append(choice.chosen.dump())
    signer_certificate = _find_signer(signer["sid"], certificates)
    signed_attributes = None
    message_digest = None
    content_type_attribute = None
    if signer["signed_attrs"].native is not None:
        raw = signer["signed_attrs"].dump()
        signed_attributes = b"\x31" + raw[1:]  # signed as a SET OF, carried as [0] IMPLICIT
        for attribute in signer["signed_attrs"]:
            kind = attribute["type"].native
            values = attribute["values"]
            if kind == "message_digest":
                message_digest = values[0].native
            elif kind == "content_type":
                content_type_attribute = values[0].dotted
    digest_algorithm = signer["digest_algorithm"]["algorithm"].native
    if digest_algorithm not in HASHES:
        raise MalformedData(f"unsupported digest algorithm {digest_algorithm}")
    signature_algorithm = signer["signature_algorithm"]
    return SOD(
        hash_algorithm=hash_algorithm,
        dg_hashes=dg_hashes,
        certificates=tuple(certificates),
        signer_certificate=signer_certificate,
        digest_algorithm=digest_algorithm,
        signature_algorithm=signature_algorithm["algorithm"].native,
        signature_parameters=signature_algorithm["parameters"].native,
        signature=signer["signature"].native,
        signed_attributes=signed_attributes,
        message_digest=message_digest,
        content_type_attribute=content_type_attribute,
        encapsulated_content=content_bytes,
        signed_data_der=signed_data_der,
    )


# Issued Document Signer certificates with negative serial numbers exist; `cryptography` parses them but warns
# on every access to the serial. They are read as they are (a certificate is judged by its signature chain).
warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive",
                        category=CryptographyDeprecationWarning)


def load_certificate(der: bytes) -> x509.Certificate:
    """Load a DER certificate (ValueError when it cannot be parsed)."""
    return x509.load_der_x509_certificate(der)


def _find_signer(sid: cms.SignerIdentifier, certificates: list[bytes]) -> bytes | None:
    for der in certificates:
        cert = load_certificate(der)
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if cert.serial_number == wanted["serial_number"].native and cert.issuer.public_bytes() == wanted[
                "issuer"
            ].dump():
                return der
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                return der
    return None


@dataclass(frozen=True)
class SignatureVerdict:
    ok: bool
    reason: str  # a code, e.g. "ok", "message_digest_mismatch", "bad_signature", "no_signer_certificate"


def verify_signature(sod: SOD, signer_certificate: x509.Certificate | None = None) -> SignatureVerdict:
    """Check the signed attributes and the signature. The certificate defaults to the one in EF.SOD."""
    if signer_certificate is None:
        if sod.signer_certificate is None:
            return SignatureVerdict(False, "no_signer_certificate")
        try:
            signer_certificate = load_certificate(sod.signer_certificate)
        except ValueError:
            return SignatureVerdict(False, "bad_signer_certificate")
    digest = hashlib.new(sod.digest_algorithm, sod.encapsulated_content).digest()
    if sod.signed_attributes is not None:
        if sod.content_type_attribute != ID_LDS_SECURITY_OBJECT:
            return SignatureVerdict(False, "content_type_mismatch")
        if sod.message_digest != digest:
            return SignatureVerdict(False, "message_digest_mismatch")
        signed = sod.signed_attributes
    else:
        signed = sod.encapsulated_content
    try:
        public_key = signer_certificate.public_key()
        _verify(public_key, sod, signed)
    except InvalidSignature:
        return SignatureVerdict(False, "bad_signature")
    except (UnsupportedAlgorithm, ValueError, TypeError, KeyError):
        return SignatureVerdict(False, "unsupported_signature")
    return SignatureVerdict(True, "ok")


def _hash_for(sod: SOD) -> hashes.HashAlgorithm:
    name = sod.signature_algorithm
    for candidate in ("sha1", "sha224", "sha256", "sha384", "sha512"):
        if name.startswith(candidate + "_"):
            return HASHES[candidate]()
    return HASHES[sod.digest_algorithm]()


def _verify(public_key: Any, sod: SOD, signed: bytes) -> None:
    algorithm = sod.signature_algorithm
    if isinstance(public_key, rsa.RSAPublicKey):
        if algorithm == "rsassa_pss":
            params = sod.signature_parameters or {}
            hash_name = params.get("hash_algorithm", {}).get("algorithm", "sha1")
            mgf_hash = params.get("mask_gen_algorithm", {}).get("parameters", {}).get("algorithm", hash_name)
            salt = params.get("salt_length", 20)
            pss = padding.PSS(mgf=padding.MGF1(HASHES[mgf_hash]()), salt_length=salt)
            public_key.verify(sod.signature, signed, pss, HASHES[hash_name]())
            return
        if "rsa" not in algorithm:
            raise ValueError(f"RSA key with signature algorithm {algorithm}")
        public_key.verify(sod.signature, signed, padding.PKCS1v15(), _hash_for(sod))
        return
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if "ecdsa" not in algorithm:
            raise ValueError(f"EC key with signature algorithm {algorithm}")
        public_key.verify(sod.signature, signed, ec.ECDSA(_hash_for(sod)))
        return
    raise ValueError("unsupported Document Signer key type")
