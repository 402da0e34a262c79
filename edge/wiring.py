"""Build the real device adapters named by a gate's configuration.

The daemon never knows whether a device is real or simulated: a simulated gate differs only in its
configuration (a virtual PC/SC reader, a pty, a stream URL, the mock pin factory, a local broker).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from edge.config import GateConfig
from edge.daemon import Devices


class DeviceUnavailable(RuntimeError):
    """An adapter cannot be built (its module is missing or the device cannot be set up)."""


def _adapter(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise DeviceUnavailable(f"adapter {module}.{name} is not available: {exc}") from exc


def build_devices(config: GateConfig, config_path: str) -> Devices:
    base = Path(config_path).resolve().parent
    reader = _adapter("edge.document.reader", "PcscDocumentReader")
    verifier = _adapter("edge.biometrics.verifier", "OnnxFaceVerifier")
    doors = _adapter("edge.doors.adapter", "SerialDoorController")
    panel = _adapter("edge.panel", "GpioPanel")
    display = _adapter("edge.display", "TravellerDisplayServer")
    telemetry = _adapter("edge.telemetry.adapter", "MqttTelemetry")
    return Devices(
        document=reader(config.document, base),
        face=verifier(config.face, base),
        doors=doors(config.doors),
        panel=panel(config.panel),
        display=display(config.display),
        telemetry=telemetry(config.telemetry, config.gate.site, config.gate.gate_id),
    )
