"""[gate] section: who this gate is and how long each step of a transaction may take."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting
from edge.gate.machine import Timeouts


@dataclass(frozen=True)
class TimeoutSettings:
    document_read_s: float = setting(10.0, help="reading and authenticating the chip", min=1, max=60)
    entry_passage_s: float = setting(15.0, help="traveller steps in after the entry opens", min=2, max=120)
    entry_close_s: float = setting(8.0, help="entry door closes behind the traveller", min=1, max=60)
    face_capture_s: float = setting(10.0, help="live capture and decision (BSI TR-03121: <= 10 s)", min=1, max=10)
    exit_passage_s: float = setting(15.0, help="traveller leaves after the exit opens", min=2, max=120)
    referral_s: float = setting(60.0, help="referral shown before the gate may return to idle", min=1, max=3600)

    def to_timeouts(self) -> Timeouts:
        return Timeouts(**{name: getattr(self, name) for name in Timeouts.__dataclass_fields__})


@dataclass(frozen=True)
class GateSettings:
    site: str = setting(help="control point identifier, used in topics (letters, digits, '-', '_')", example="site-1")
    gate_id: str = setting(help="this gate's identifier within the site", example="gate-01")
    start_in_service: bool = setting(True, help="false: start out of service until the control room says so")
    timeouts: TimeoutSettings = setting(default_factory=TimeoutSettings)
