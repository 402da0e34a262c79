"""Public keys from a SubjectPublicKeyInfo as documents carry them (DG15, DG14), into `cryptography` keys.

`cryptography` loads RSA keys and EC keys on a *named* curve. Documents often spell the curve out instead
(explicit ECParameters, BSI TR-03110), or give a standardized domain-parameter number (an INTEGER): both are
matched here against the known curves and re-expressed as the named curve they are.
"""

from __future__ import annotations

import ecdsa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.x509 import ObjectIdentifier

from edge.document import tlv
from edge.document.errors import MalformedData
from edge.document.securityinfo import decode_integer, decode_oid

ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
ID_PRIME_FIELD = "1.2.840.10045.1.1"
# BSI TR-03110 standardized domain parameters -> curve OID
STANDARDIZED = {
    8: "1.2.840.10045.3.1.1", 9: "1.3.36.3.3.2.8.1.1.3", 10: "1.3.132.0.33", 11: "1.3.36.3.3.2.8.1.1.5",
    12: "1.2.840.10045.3.1.7", 13: "1.3.36.3.3.2.8.1.1.7", 14: "1.3.36.3.3.2.8.1.1.9", 15: "1.3.132.0.34",
    16: "1.3.36.3.3.2.8.1.1.11", 17: "1.3.36.3.3.2.8.1.1.13", 18: "1.3.132.0.35",
}


def load_public_key(spki: bytes):
    """RSA or EC public key (named, explicit or standardized-number curve). MalformedData otherwise."""
    try:
        return load_der_public_key(spki)
    except (ValueError, UnsupportedAlgorithm, TypeError):
        pass  # maybe an EC key with its curve spelled out: handled below
    try:
        items = tlv.decode_all(tlv.expect(spki, 0x30))
        if len(items) != 2 or items[0].tag != 0x30 or items[1].tag != 0x03:
            raise MalformedData("SubjectPublicKeyInfo structure")
        algorithm_items = items[0].children()
        key_bits = items[1].value
        if not algorithm_items or algorithm_items[0].tag != 0x06 or len(algorithm_items) != 2:
            raise MalformedData("SubjectPublicKeyInfo algorithm")
        curve_oid = _curve_oid(algorithm_items[1])
        if not key_bits or key_bits[0] != 0:
            raise MalformedData("public key BIT STRING")
        curve = ec.get_curve_for_oid(ObjectIdentifier(curve_oid))
        return ec.EllipticCurvePublicKey.from_encoded_point(curve(), key_bits[1:])
    except MalformedData:
        raise
    except (ValueError, LookupError, UnsupportedAlgorithm, TypeError) as exc:  # LookupError: IndexError too
        raise MalformedData(f"public key not supported ({type(exc).__name__})") from exc


def _curve_oid(parameters: tlv.TLV) -> str:
    if parameters.tag == 0x06:
        return decode_oid(parameters.value)
    if parameters.tag == 0x02:  # standardized domain parameters (BSI TR-03110)
        number = decode_integer(parameters.value)
        if number not in STANDARDIZED:
            raise MalformedData("unknown standardized domain parameters")
        return STANDARDIZED[number]
    if parameters.tag == 0x30:
        return _match_explicit(parameters.children())
    raise MalformedData("EC parameters neither named, numbered nor explicit")


def _match_explicit(fields: list[tlv.TLV]) -> str:
    """ECParameters ::= SEQUENCE { version, fieldID {prime-field, p}, curve {a, b, seed?}, base, order, cofactor? }"""
    if len(fields) < 5:
        raise MalformedData("explicit EC parameters truncated")
    field_id = fields[1].children()
    if len(field_id) != 2 or decode_oid(field_id[0].value) != ID_PRIME_FIELD:
        raise MalformedData("only prime-field curves are supported")
    p = decode_integer(field_id[1].value)
    curve_fields = fields[2].children()
    a = int.from_bytes(curve_fields[0].value, "big")
    b = int.from_bytes(curve_fields[1].value, "big")
    order = decode_integer(fields[4].value)
    base = fields[3].value
    for candidate in ecdsa.curves.curves:
        field = getattr(candidate.curve, "p", None)
        if field is None or not callable(field) or candidate.oid is None:
            continue
        try:
            same = (field() == p and candidate.curve.a() % p == a % p and candidate.curve.b() == b
                    and candidate.order == order)
        except (AttributeError, TypeError):
            continue
        if same:
            generator = candidate.generator
            size = (p.bit_length() + 7) // 8
            expected = b"\x04" + generator.x().to_bytes(size, "big") + generator.y().to_bytes(size, "big")
            if base != expected and base[1:1 + size] != expected[1:1 + size]:
                raise MalformedData("explicit EC parameters with an unexpected generator")
            return ".".join(str(arc) for arc in candidate.oid)
    raise MalformedData("explicit EC parameters match no known curve")
