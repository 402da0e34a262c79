"""Build the real device adapters named by a gate's configuration.

The daemon never knows whether a device is real or simulated: a simulated gate differs only in its
configuration (a virtual PC/SC reader, ptys, a stream URL, the mock pin factory, a local broker).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import edge
from edge.config import GateConfig
from edge.daemon import Devices
from edge.ports import Health

log = logging.getLogger(__name__)


class DeviceUnavailable(RuntimeError):
    """An adapter cannot be built; the message says what is wrong and how to fix it."""


def resolve(config_path: str | Path, value: str) -> str:
    """Paths in a configuration are relative to the file that names them."""
    if not value:
        return value
    path = Path(value)
    return str(path if path.is_absolute() else Path(config_path).resolve().parent / path)


def build_devices(config: GateConfig, config_path: str | Path) -> Devices:
    from edge.biometrics.models import ModelError
    from edge.biometrics.verifier import CameraFaceVerifier
    from edge.display import TravellerDisplayServer
    from edge.document.reader import PcscDocumentReader
    from edge.doors.adapter import SerialDoorController
    from edge.panel.gpio import GpioPanel

    base = Path(config_path).resolve().parent
    document_settings = _with_paths(config.document, config_path, "trust_store")
    try:
        face = CameraFaceVerifier.from_settings(config.face, base)
    except ModelError as exc:
        raise DeviceUnavailable(f"face models: {exc}") from exc
    document = PcscDocumentReader(document_settings)
    doors = SerialDoorController(config.doors)
    try:
        panel = GpioPanel(config.panel)
    except Exception as exc:  # gpiozero raises its own errors for unusable pins or factories
        raise DeviceUnavailable(f"GPIO panel ({config.panel.pin_factory}): {exc}") from exc
    display = TravellerDisplayServer(config.display)
    devices: dict[str, object] = {"document": document, "face": face, "doors": doors, "panel": panel}
    telemetry = build_telemetry(config, config_path, face.set_threshold, lambda: _health(devices))
    return Devices(document, face, doors, panel, display, telemetry)


def build_telemetry(
    config: GateConfig,
    config_path: str | Path,
    on_set_threshold: Callable[[float], None],
    device_health: Callable[[], dict[str, Health]],
):
    from edge.telemetry.adapter import MqttTelemetry
    from edge.telemetry.payloads import GateMetadata

    if not config.telemetry.enabled:
        return OfflineTelemetry()
    metadata = GateMetadata(
        software=edge.__version__,
        models=_model_versions(config, config_path),
        config_hash=hashlib.sha256(Path(config_path).read_bytes()).hexdigest()[:16],
    )
    return MqttTelemetry(
        config.telemetry,
        config.gate.site,
        config.gate.gate_id,
        metadata,
        on_set_threshold=on_set_threshold,
        device_health=device_health,
    )


class OfflineTelemetry:
    """`telemetry.enabled = false` (bench tests only): keeps nothing, reports that nothing is reported."""

    async def run(self, emit) -> None:
        import asyncio

        await asyncio.Event().wait()

    def publish_state(self, state, doors) -> None:
        pass

    def publish_record(self, record) -> None:
        pass

    def publish_alarm(self, alarm) -> None:
        pass

    def command_result(self, result) -> None:
        pass

    def health(self) -> Health:
        return Health(ok=True, detail="telemetry disabled")


def _with_paths(settings, config_path: str | Path, *names: str):
    import dataclasses

    return dataclasses.replace(settings, **{name: resolve(config_path, getattr(settings, name)) for name in names})


def _health(devices: dict[str, object]) -> dict[str, Health]:
    return {name: device.health() for name, device in devices.items()}  # type: ignore[attr-defined]


def _model_versions(config: GateConfig, config_path: str | Path) -> dict[str, str]:
    from edge.biometrics.models import ModelError, load_manifest

    versions = {}
    for name in ("yunet", "sface"):
        try:
            manifest = load_manifest(name, resolve(config_path, config.face.models_dir))
        except ModelError:
            continue
        source = manifest.raw.get("source", {})
        versions[name] = str(source.get("sha256", ""))[:12] or "unknown"
    return versions
