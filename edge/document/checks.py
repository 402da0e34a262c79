"""The outcome of one document reading: check results (BSI TR-03135's five values) and what was read.

`DocumentResult.verdict()` turns the checks into accept / reject with a reason code (never personal data),
so the adapter only has to emit the matching event (`to_event`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.document.mrz import MRZ
from edge.gate.events import CheckResult, DocumentAuthenticated, DocumentRejected

MRZ_CHECK_DIGITS = "mrz_check_digits"
DG1_MATCHES_MRZ = "dg1_matches_mrz"
SOD_SIGNATURE = "sod_signature"
SIGNER_CHAIN = "signer_chain"
SIGNER_VALIDITY = "signer_validity"
SIGNER_REVOCATION = "signer_revocation"
DATA_GROUP_HASHES = "data_group_hashes"
ACTIVE_AUTHENTICATION = "active_authentication"
CHIP_AUTHENTICATION = "chip_authentication"
DOCUMENT_EXPIRY = "document_expiry"

CHECK_NAMES = (
    MRZ_CHECK_DIGITS,
    DG1_MATCHES_MRZ,
    SOD_SIGNATURE,
    SIGNER_CHAIN,
    SIGNER_VALIDITY,
    SIGNER_REVOCATION,
    DATA_GROUP_HASHES,
    ACTIVE_AUTHENTICATION,
    CHIP_AUTHENTICATION,
    DOCUMENT_EXPIRY,
)

# Reason code when the check fails, in the order a refusal reports them (most serious first).
FAILURE_REASONS = {
    SOD_SIGNATURE: "sod_signature_invalid",
    DATA_GROUP_HASHES: "data_group_hash_mismatch",
    CHIP_AUTHENTICATION: "chip_authentication_failed",
    ACTIVE_AUTHENTICATION: "active_authentication_failed",
    SIGNER_CHAIN: "signer_untrusted",
    SIGNER_REVOCATION: "signer_revoked",
    SIGNER_VALIDITY: "signer_expired",
    DG1_MATCHES_MRZ: "dg1_mismatch",
    MRZ_CHECK_DIGITS: "mrz_check_digits",
    DOCUMENT_EXPIRY: "document_expired",
}
# Checks that must be successful (not merely "not failed") for the gate to accept the document.
MANDATORY = (SOD_SIGNATURE, SIGNER_CHAIN, SIGNER_VALIDITY, DATA_GROUP_HASHES, DOCUMENT_EXPIRY)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""  # a code: "ok", "read_aborted", "signer_revoked", ...
    retryable: bool = False


@dataclass
class DocumentResult:
    """Everything one reading produced. Personal data (MRZ fields, portrait) never shows in repr."""

    checks: dict[str, CheckResult] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)  # reason codes per check, e.g. "crl_stale"
    protocol: str = ""  # "BAC", "PACE", "PACE->BAC"
    fallback: bool = False
    document_type: str = ""  # "TD1" / "TD3" from DG1 (or the scanned MRZ)
    mrz: MRZ | None = field(default=None, repr=False)  # from DG1
    portrait: Any = field(default=None, repr=False, compare=False)  # BGR uint8 ndarray
    portrait_format: str = ""
    data_groups_read: tuple[int, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    apdu_count: int = 0
    error: str = ""  # reason code when reading stopped early ("card_removed", "access_control_failed", ...)

    @property
    def read_ms(self) -> float:
        return self.timings_ms.get("total", 0.0)

    def event_checks(self) -> tuple[tuple[str, CheckResult], ...]:
        return tuple((name, self.checks[name]) for name in CHECK_NAMES if name in self.checks)

    @property
    def aborted(self) -> bool:
        return bool(self.error) and any(value is CheckResult.ABORTED for value in self.checks.values())

    def verdict(self, require_chip_authentication: bool = False, require_revocation_status: bool = False) -> Verdict:
        """Accept only when nothing failed and every mandatory check succeeded. Revocation "undetermined"
        (no fresh CRL) is accepted unless `require_revocation_status`: a stale CRL should not close a border."""
        if self.error:
            return Verdict(False, self.error, True)
        for name, reason in FAILURE_REASONS.items():
            if self.checks.get(name) is CheckResult.FAILED:
                return Verdict(False, reason, name == MRZ_CHECK_DIGITS)
        for name in MANDATORY:
            if self.checks.get(name) is not CheckResult.SUCCESSFUL:
                return Verdict(False, f"{name}_{(self.checks.get(name) or CheckResult.UNDETERMINED).value}")
        if require_revocation_status and self.checks.get(SIGNER_REVOCATION) is not CheckResult.SUCCESSFUL:
            return Verdict(False, "signer_revocation_undetermined")
        if require_chip_authentication and CheckResult.SUCCESSFUL not in (
            self.checks.get(ACTIVE_AUTHENTICATION), self.checks.get(CHIP_AUTHENTICATION)
        ):
            return Verdict(False, "chip_authentication_missing")
        if self.portrait is None:
            return Verdict(False, "portrait_missing")
        return Verdict(True, "ok")

    def to_event(
        self, require_chip_authentication: bool = False, require_revocation_status: bool = False
    ) -> DocumentAuthenticated | DocumentRejected:
        verdict = self.verdict(require_chip_authentication, require_revocation_status)
        if verdict.accepted:
            return DocumentAuthenticated(
                protocol=self.protocol,
                document_type=self.document_type,
                checks=self.event_checks(),
                read_ms=self.read_ms,
                apdu_count=self.apdu_count,
                portrait=self.portrait,
            )
        return DocumentRejected(verdict.reason, verdict.retryable, self.protocol, self.event_checks())
