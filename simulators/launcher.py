"""Bring up every simulated device of one gate, where `config/simulated.toml` expects to find them.

    with SimulatedGate(config, config_path) as sim:
        devices = build_devices(config, config_path)    # the daemon's real adapters, unaware of simulation
        sim.settle_inputs()                               # the panel's inputs at rest (no fire, cabinet shut)
        rig = HardwareRig(sim)                            # the traveller's and the officer's hands

What comes up, each as the real thing where one runs here:
  mosquitto          on the configured broker port, its own configuration, stopped by PID
  pcscd + vpcd       our pcscd with a virtual reader; the card emulator (own process) serves the documents
  OCR page reader    the emulator types each document's MRZ on a pty (document.mrz_port)
  door controller    the real firmware logic with door physics behind a pty (doors.port)
  camera             an MJPEG stream of scripted scenes from real face photos (face.camera)
  GPIO               gpiozero's MockFactory (panel.pin_factory = "mock")
  control room       an Ed25519 key whose public half is in telemetry.command_keys
Test documents are issued at start under the rig's test PKI, whose CSCA and CRL form the trust store.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from edge.config import GateConfig
from edge.telemetry.client import parse_broker_url
from simulators.scenarios import Scenario

log = logging.getLogger(__name__)

PEOPLE = ("obama", "biden", "astronaut")  # the chip holders whose photos the camera library has


class LaunchError(RuntimeError):
    """The simulated gate cannot come up; the message says which part and why."""


class SimulatedGate:
    def __init__(self, config: GateConfig, *, door_travel_ms: float = 700.0, lock_timeout_s: float = 900.0) -> None:
        self.config = config
        self.lock_timeout_s = lock_timeout_s
        self.work_dir = Path(config.doors.port).parent
        self.door_travel_ms = door_travel_ms
        self._stack = contextlib.ExitStack()
        self.broker = self.card = self.doors = self.camera = self.control_room = None
        self.documents: dict[tuple[str, str, str], Path] = {}
        self.control_key = None

    # --- bring-up ------------------------------------------------------------------------------------------

    def start(self) -> SimulatedGate:
        try:
            self._expect_layout()
            self._take_machine_lock()
            if self.work_dir.exists():
                shutil.rmtree(self.work_dir)  # a clean gate: no outbox or ptys from an earlier run
            self.work_dir.mkdir(parents=True)
            self._start_broker()
            self._start_control_room()
            self._start_card_station()
            self._start_door_controller()
            self._start_camera()
            self._make_control_room_key()
        except BaseException:
            self.stop()
            raise
        return self

    def _take_machine_lock(self) -> None:
        """One simulated gate per machine (fixed paths and ports, one pcscd): wait for another to finish."""
        import fcntl
        import os

        lock_path = self.work_dir.with_name(self.work_dir.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_timeout_s
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LaunchError(
                        f"another simulated gate holds {lock_path}; try again when it has stopped"
                    ) from None
                if not said:
                    log.warning("another simulated gate is running on this machine; waiting for it to stop")
                    said = True
                time.sleep(0.5)
        self._stack.callback(os.close, fd)  # closing the descriptor releases the lock

    def _expect_layout(self) -> None:
        c = self.config
        wanted = {
            "document.mrz_port": (c.document.mrz_port, str(self.work_dir / "mrz-reader")),
            "document.trust_store": (c.document.trust_store, str(self.work_dir / "trust")),
            "telemetry.command_keys": (c.telemetry.command_keys, str(self.work_dir / "keys")),
        }
        wrong = [
            f"{key} = {have!r} (the simulators put it at {want!r})"
            for key, (have, want) in wanted.items()
            if have != want
        ]
        if c.panel.pin_factory != "mock":
            wrong.append(f"panel.pin_factory = {c.panel.pin_factory!r} (the simulated panel is 'mock')")
        if wrong:
            raise LaunchError("this configuration does not describe the simulated gate: " + "; ".join(wrong))

    def _start_broker(self) -> None:
        from simulators.mqtt_broker import MosquittoBroker

        address = parse_broker_url(self.config.telemetry.broker)
        self.broker = MosquittoBroker(self.work_dir / "broker", port=address.port, persistence=True)
        try:
            self.broker.start()
        except Exception as exc:
            raise LaunchError(f"mosquitto on port {address.port}: {exc} (is another broker using it?)") from exc
        self._stack.callback(self.broker.stop)

    def _start_control_room(self) -> None:
        self.control_room = ControlRoom(self.config)
        self.control_room.start()
        self._stack.callback(self.control_room.stop)

    def _start_card_station(self) -> None:
        from simulators.card.rig import CardRig

        self.card = CardRig(self.work_dir)
        self.card.start()
        self._stack.callback(self.card.stop)
        if self.config.document.reader not in self.card.reader:
            raise LaunchError(
                f"document.reader = {self.config.document.reader!r} does not match the virtual "
                f"reader {self.card.reader!r}"
            )

    def _start_door_controller(self) -> None:
        from simulators.doors.rig import DoorRig

        self.doors = DoorRig(link=self.config.doors.port)
        for door in self.doors.sim.world.doors:
            door.travel_ms = self.door_travel_ms  # brisker than the 1.5 s default: a quicker demonstration
        self.doors.start()
        self._stack.callback(self.doors.stop)

    def _start_camera(self) -> None:
        from simulators.camera.server import CameraServer

        url = urlparse(self.config.face.camera)
        if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost") or not url.port:
            raise LaunchError(f"face.camera = {self.config.face.camera!r}: the simulated camera is http on loopback")
        self.camera = CameraServer(
            port=url.port, fps=self.config.face.fps, size=(self.config.face.width, self.config.face.height)
        )
        self.camera.start_background()
        self._stack.callback(self.camera.stop)

    def _make_control_room_key(self) -> None:
        from edge.telemetry.commands import generate_key_pair, load_private_key

        private, _public = generate_key_pair(self.work_dir / "keys", "simulated-control-room")
        self.control_key = load_private_key(private)
        # The gate trusts only .pub files: move the private half out of its key directory.
        kept = self.work_dir / "control-room.key"
        private.rename(kept)

    def document(self, person: str, kind: str, defect: str | None) -> Path:
        """A test document for `person` (portrait from the camera library), issued once and kept."""
        key = (person, kind, defect or "")
        if key not in self.documents:
            from simulators.camera import library
            from simulators.card.factory import issue_document
            from simulators.card.pki import TestPKI

            pki = TestPKI(seed=self.card.pki_seed, algorithm=self.card.algorithm)
            document = issue_document(
                pki, kind=kind, seed=f"{person}-{kind}-{defect}", portrait=library.portrait(person), defect=defect
            )
            self.documents[key] = document.save(self.work_dir / "documents" / "-".join(filter(None, key)))
        return self.documents[key]

    # --- the gate's own inputs at rest --------------------------------------------------------------------

    def panel_pin(self, name: str):
        from gpiozero import Device

        return Device.pin_factory.pin(getattr(self.config.panel, name))

    def settle_inputs(self) -> None:
        """Fire loop closed, cabinet shut, button released, key in service: after the panel claimed its pins."""
        p = self.config.panel
        for name in ("fire_alarm", "emergency_button", "tamper", "service_key"):
            active_high = getattr(p, f"{name}_active_high")
            pin = self.panel_pin(name)
            pin.drive_low() if active_high else pin.drive_high()

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> SimulatedGate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HardwareRig:
    """The hands and feet of travellers and officers at the simulated gate (same verbs as InProcessRig)."""

    def __init__(self, sim: SimulatedGate, site: str, gate_id: str) -> None:
        self.sim = sim
        self.site, self.gate_id = site, gate_id
        self.scenario: Scenario | None = None
        self.index = 0
        self._walkers: list[str] = []
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._officer = None

    def _background(self, name: str, work) -> None:
        """Blocking rig work (waiting for pcscd to see a card) must not stall the daemon's event loop."""

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # surfaced by check()
                log.error("%s failed: %s", name, exc)
                self._errors.append(exc)

        thread = threading.Thread(target=run, name=f"rig-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        """Let the hands finish what they started before the simulators go away."""
        for thread in self._threads:
            thread.join(timeout=15)

    def check(self) -> None:
        if self._errors:
            raise LaunchError(f"simulator failed: {self._errors[0]}")

    # --- a traveller --------------------------------------------------------------------------------------

    def arrive(self, scenario: Scenario) -> None:
        self.check()
        self.index += 1
        self.scenario = scenario
        for name in self._walkers:  # everyone before has left the passage
            self.sim.doors.remove(name)
        self._walkers = [f"t{self.index}"]
        self._show("no_face")

    def person(self) -> str:
        return PEOPLE[self.index % len(PEOPLE)]

    def present_document(self) -> None:
        from simulators.card.emulator import Faults

        scenario = self.scenario
        defect = None if scenario.document in ("genuine", "pulled") else scenario.document
        path = self.sim.document(self.person(), scenario.document_type, defect)
        faults = Faults(pull_after=6) if scenario.document == "pulled" else ""
        self._background("present", lambda: self.sim.card.present(path, faults))

    def take_document(self) -> None:
        self._background("take", self.sim.card.take_away)

    def step_in(self) -> None:
        face = {
            "match": "genuine",
            "mismatch": "impostor",
            "pad": "print",
            "no_face": "no_face",
            "two_faces": "two_people",
        }[self.scenario.face]
        self._show(face)
        if face == "two_people":  # told to appear alone, the second person steps out of the picture
            index = self.index
            timer = threading.Timer(1.5, lambda: self.index == index and self._show("genuine"))
            timer.daemon = True
            timer.start()
        self.sim.doors.walk(self._walkers[0], to=1.0, speed=1.4)

    def second_person_follows(self) -> None:
        name = f"t{self.index}b"
        self._walkers.append(name)
        self.sim.doors.walk(name, to=0.55, speed=1.6)

    def step_out_through_exit(self) -> None:
        self._show("no_face")
        self.sim.doors.walk(self._walkers[0], to=3.0, speed=1.4)

    def step_back_out(self) -> None:
        self._show("no_face")
        for name in self._walkers:
            self.sim.doors.walk(name, to=-1.5, speed=1.4)

    def _show(self, scenario: str) -> None:
        from simulators.camera.scenes import ScenarioSpec

        self.sim.camera.set_scenario(ScenarioSpec(scenario, person=self.person(), seed=self.index))

    # --- the gate's hardware misbehaving ------------------------------------------------------------------

    def obstruct_entry(self, seconds: float = 0.6) -> None:
        """Something in the closing entry door that only the motor current notices, for a moment."""
        self.sim.doors.obstruct(0, True)
        timer = threading.Timer(seconds, lambda: self.sim.doors.obstruct(0, False))
        timer.daemon = True
        timer.start()

    def reset_door_controller(self) -> None:
        self.sim.doors.reset()

    def broker_down(self) -> None:
        self.sim.broker.stop()

    def broker_up(self) -> None:
        self._background("broker", self.sim.broker.start)

    # --- the gate's inputs and the control room -----------------------------------------------------------

    def fire_alarm(self, on: bool) -> None:
        pin = self.sim.panel_pin("fire_alarm")
        active_high = self.sim.config.panel.fire_alarm_active_high
        pin.drive_high() if on == active_high else pin.drive_low()

    def officer_resets(self) -> None:
        self._background("officer", lambda: self._command("reset_alarm"))

    def _command(self, action: str) -> None:
        import json

        import paho.mqtt.client as mqtt

        from edge.telemetry.commands import sign_command
        from edge.telemetry.topics import GateTopics

        topics = GateTopics(self.sim.config.telemetry.topic_prefix, self.site, self.gate_id)
        command = sign_command(
            self.sim.control_key,
            "simulated-control-room",
            site=self.site,
            gate=self.gate_id,
            action=action,
            now=time.time(),
        )
        address = parse_broker_url(self.sim.config.telemetry.broker)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect(address.host, address.port)
        client.loop_start()
        try:
            client.publish(topics.commands, json.dumps(command), qos=1).wait_for_publish(5)
        finally:
            client.loop_stop()
            client.disconnect()


class ControlRoom:
    """Subscribes to the gate's events as the control room does, with a persistent session so nothing
    published while it was cut off is missed; counts the transaction records that arrive (by ID)."""

    def __init__(self, config: GateConfig) -> None:
        import paho.mqtt.client as mqtt

        from edge.telemetry.monitor import FleetView
        from edge.telemetry.topics import GateTopics

        self.topics = GateTopics(config.telemetry.topic_prefix, config.gate.site, config.gate.gate_id)
        self.site_filter = f"{config.telemetry.topic_prefix.rstrip('/')}/{config.gate.site}/#"
        self.address = parse_broker_url(config.telemetry.broker)
        self.view = FleetView(config.telemetry.topic_prefix, config.gate.site)  # what `echannel monitor` shows
        self.received: dict[str, int] = {}  # transaction ID -> times received (at-least-once)
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="simulated-control-room", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda client, *_: client.subscribe(self.site_filter, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 1.0)

    def start(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect(self.address.host, self.address.port, clean_start=False, properties=properties)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        import json

        with self._lock:
            self.view.feed(message.topic, message.payload, time.time())
        if message.topic != self.topics.events:
            return
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return
        if payload.get("type") == "transaction":
            transaction_id = payload["transaction"]["transaction_id"]
            with self._lock:
                self.received[transaction_id] = self.received.get(transaction_id, 0) + 1

    def render(self) -> str:
        with self._lock:
            return self.view.render(time.time())

    def missing(self, transaction_ids: list[str]) -> list[str]:
        with self._lock:
            return [t for t in transaction_ids if t not in self.received]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
