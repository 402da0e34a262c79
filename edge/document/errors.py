"""One exception hierarchy for everything the document module raises.

Parsers raise `MalformedData` (or a subclass) for any input they cannot make sense of, never an
IndexError/ValueError from deep inside; the fuzz tests hold them to that. Messages name the structure and
the offset, never the content (the content may be personal data).
"""

from __future__ import annotations


class DocumentError(Exception):
    """Base of every error of the document module."""


class MalformedData(DocumentError):
    """Bytes or text that do not follow the expected structure (TLV, MRZ, LDS, EF.SOD, ASN.1)."""


class TLVError(MalformedData):
    """BER-TLV that is truncated, uses an indefinite length or has trailing bytes."""


class MRZError(MalformedData):
    """An MRZ of the wrong shape (line count, lengths, characters). Check digits are not errors: they are a check."""


class SecureMessagingError(DocumentError):
    """A secure-messaging response whose MAC, structure or padding is wrong (or a command, on the chip side)."""


class AccessControlError(DocumentError):
    """BAC or PACE failed: wrong key, chip refused, or the chip's authentication data did not verify."""


class TransportError(DocumentError):
    """The card went away or the reader failed mid-exchange. Adapters translate their own errors into this."""


class ChipError(DocumentError):
    """The chip answered with a status word other than 9000 where success was needed."""

    def __init__(self, sw: int, what: str = "") -> None:
        self.sw = sw
        self.what = what
        super().__init__(f"{what + ': ' if what else ''}chip answered {sw:04X}")


class TrustStoreError(DocumentError):
    """The trust store directory holds a file that cannot be read as a certificate, master list or CRL."""
