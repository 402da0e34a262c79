"""The trust store: CSCA certificates (PEM/DER files, ICAO master lists) and CRLs, from one directory.

Files are recognised by content, not by name: a certificate (PEM may hold several), a CRL, or a CMS
SignedData whose content is a CscaMasterList (2.23.136.1.1.2). Files that are none of these are listed in
`problems` (by file name only) and otherwise ignored, so one stray file does not stop a gate.
Master-list signatures are not verified here: the directory is installed by the operator, and is trusted as
such (a deployment that imports master lists from outside should verify them on import).

Time is passed in (`now`, timezone-aware UTC), nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from edge.document.errors import TrustStoreError
from edge.gate.events import CheckResult

ID_MASTER_LIST = "2.23.136.1.1.2"
_CACHE_LIMIT = 4096  # remembered signature checks; past it the memory starts afresh


class _CertificateSet(core.SetOf):
    _child_spec = asn1_x509.Certificate


class _CscaMasterList(core.Sequence):
    _fields: ClassVar[list[tuple[str, Any]]] = [("version", core.Integer), ("cert_list", _CertificateSet)]


def master_list_certificates(der: bytes) -> list[x509.Certificate]:
    """The CSCA certificates of an ICAO master list (CMS SignedData around a CscaMasterList)."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        encap = info["content"]["encap_content_info"]
        if encap["content_type"].dotted != ID_MASTER_LIST:
            raise TrustStoreError("CMS content is not a CSCA master list")
        content = encap["content"].native
        master_list = _CscaMasterList.load(content, strict=True)
        return [x509.load_der_x509_certificate(cert.dump()) for cert in master_list["cert_list"]]
    except TrustStoreError:
        raise
    except Exception as exc:  # asn1crypto / cryptography raise various types on malformed input
        raise TrustStoreError(f"not a master list ({type(exc).__name__})") from exc


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class TrustStore:
    cscas: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Signature checks are pure functions of the certificates, so their results are kept: a gate sees the same
    # few hundred Document Signers and CRLs all day, and each check costs ~0.1 ms (ECDSA) on every traveller.
    _issuers: dict[x509.Certificate, x509.Certificate | None] = field(default_factory=dict, repr=False)
    _crl_signatures: dict[tuple[int, x509.Certificate], bool] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: str | Path) -> TrustStore:
        root = Path(directory)
        if not root.is_dir():
            raise TrustStoreError(f"trust store {root} is not a directory")
        store = cls()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            try:
                store.add_file(path.read_bytes())
            except TrustStoreError:
                store.problems.append(path.name)
        return store

    def add_file(self, content: bytes) -> None:
        self._issuers.clear()  # a new CSCA or CRL may change what was found before
        self._crl_signatures.clear()
        if b"-----BEGIN" in content:
            if b"X509 CRL" in content:
                try:
                    self.crls.append(x509.load_pem_x509_crl(content))
                    return
                except ValueError as exc:
                    raise TrustStoreError("bad PEM CRL") from exc
            try:
                self.cscas.extend(x509.load_pem_x509_certificates(content))
                return
            except ValueError as exc:
                raise TrustStoreError("bad PEM certificate") from exc
        for loader in (self._der_certificate, self._der_crl, self._master_list):
            try:
                loader(content)
                return
            except (ValueError, TrustStoreError):
                continue
        raise TrustStoreError("neither certificate, CRL nor master list")

    def _der_certificate(self, content: bytes) -> None:
        self.cscas.append(x509.load_der_x509_certificate(content))

    def _der_crl(self, content: bytes) -> None:
        self.crls.append(x509.load_der_x509_crl(content))

    def _master_list(self, content: bytes) -> None:
        self.cscas.extend(master_list_certificates(content))

    # --- checks ---------------------------------------------------------------------------------------------

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        """The CSCA that issued `certificate` (name match and a verified signature), or None."""
        if certificate not in self._issuers:
            if len(self._issuers) >= _CACHE_LIMIT:
                self._issuers.clear()
            self._issuers[certificate] = self._find_issuer(certificate)
        return self._issuers[certificate]

    def _find_issuer(self, certificate: x509.Certificate) -> x509.Certificate | None:
        for csca in self.cscas:
            if csca.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(csca)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            return csca
        return None

    @staticmethod
    def validity(certificate: x509.Certificate, issuer: x509.Certificate | None, now: dt.datetime) -> CheckResult:
        """Document Signer (and its CSCA, when known) valid at `now`."""
        now = _aware(now)
        for cert in (certificate, issuer):
            if cert is None:
                continue
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                return CheckResult.FAILED
        return CheckResult.SUCCESSFUL

    def revocation(
        self, certificate: x509.Certificate, issuer: x509.Certificate | None, now: dt.datetime, max_age: dt.timedelta
    ) -> tuple[CheckResult, str]:
        """Revoked -> failed; no CRL of the issuer, or only stale ones -> undetermined (reason says which)."""
        if issuer is None:
            return CheckResult.UNDETERMINED, "issuer_unknown"
        now = _aware(now)
        fresh_found = False
        stale_found = False
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            if not self._crl_signed_by(crl, issuer):
                continue
            if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
                return CheckResult.FAILED, "revoked"
            next_update = crl.next_update_utc
            if crl.last_update_utc > now + dt.timedelta(minutes=5):
                stale_found = True  # issued in the future: the clock or the CRL is wrong
            elif (next_update is not None and next_update < now) or now - crl.last_update_utc > max_age:
                stale_found = True
            else:
                fresh_found = True
        if fresh_found:
            return CheckResult.SUCCESSFUL, "not_revoked"
        return CheckResult.UNDETERMINED, "crl_stale" if stale_found else "crl_missing"

    def _crl_signed_by(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        key = (id(crl), issuer)  # the CRL objects live as long as the store
        if key not in self._crl_signatures:
            if len(self._crl_signatures) >= _CACHE_LIMIT:
                self._crl_signatures.clear()
            try:
                self._crl_signatures[key] = crl.is_signature_valid(issuer.public_key())
            except (ValueError, TypeError, UnsupportedAlgorithm):
                self._crl_signatures[key] = False
        return self._crl_signatures[key]
