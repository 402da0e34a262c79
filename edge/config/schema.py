"""The whole gate configuration: one section per boundary, each defined next to the code that uses it."""

from __future__ import annotations

from dataclasses import dataclass

from edge.biometrics.settings import FaceSettings
from edge.config.validate import setting
from edge.display.settings import DisplaySettings
from edge.document.settings import DocumentSettings
from edge.doors.settings import DoorLinkSettings
from edge.gate.settings import GateSettings
from edge.panel.settings import PanelSettings
from edge.telemetry.settings import TelemetrySettings


@dataclass(frozen=True)
class LoggingSettings:
    level: str = setting("info", choices=("debug", "info", "warning", "error"))
    format: str = setting("journal", help="'journal' (structured, systemd) or 'text'", choices=("journal", "text"))


@dataclass(frozen=True)
class GateConfig:
    gate: GateSettings = setting()
    document: DocumentSettings = setting(default_factory=DocumentSettings)
    face: FaceSettings = setting(default_factory=FaceSettings)
    doors: DoorLinkSettings = setting(default_factory=DoorLinkSettings)
    panel: PanelSettings = setting(default_factory=PanelSettings)
    telemetry: TelemetrySettings = setting(default_factory=TelemetrySettings)
    display: DisplaySettings = setting(default_factory=DisplaySettings)
    logging: LoggingSettings = setting(default_factory=LoggingSettings)
