"""The control room's dashboard: a tile per gate fed by a real mosquitto, alarms that need an officer in
colour and sound, and commands signed, sent to a real gate core and answered, in a real headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import tomllib
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.config import GateConfig
from edge.config.validate import parse_config
from edge.daemon import GateDaemon
from edge.dashboard import wire
from edge.dashboard.server import Dashboard
from edge.gate.actions import State
from edge.gate.events import Door
from edge.gate.machine import Gate
from simulators.gate import GateWatch, InProcessRig
from simulators.processes import ChildProcess, free_port, port_open, wait_until
from simulators.scenarios import SCENARIOS
from tests.screens.harness import REPO
from tests.screens.mqtt_gate import MqttTelemetryStandIn, connect, publish, state_payload

pytestmark = pytest.mark.broker
CONFIG = parse_config(tomllib.loads((REPO / "config" / "simulated.toml").read_text()), GateConfig)
SITE = "hkg-lmc"
CLOSED = {"entry": "closed", "exit": "closed"}


def write_key(directory, key_id: str) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    path = directory / f"{key_id}.key"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return str(path), key


class LiveDashboard:
    def __init__(self, loop_thread, broker_url: str, key_file: str | None) -> None:
        self.dashboard = Dashboard(broker_url, SITE, key_file=key_file)
        self.port = free_port()
        self.task = loop_thread.spawn(self.dashboard.run("127.0.0.1", self.port))
        self.url = f"http://127.0.0.1:{self.port}/"

    def post(self, body: dict, **headers: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url + "api/command",
            json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


class MqttGate:
    """Gate g01: the real core and daemon, simulated devices, telemetry over the real broker."""

    def __init__(self, loop_thread, port: int, trusted) -> None:
        self.loop_thread = loop_thread
        self.rig = InProcessRig(CONFIG)
        self.telemetry = self.rig.telemetry = MqttTelemetryStandIn(port, SITE, "g01", trusted)
        loop_thread.run(self._start())

    async def _start(self) -> None:
        self.daemon = GateDaemon(Gate(CONFIG.gate.timeouts.to_timeouts(), start_in_service=True), self.rig.devices())
        self.watch = GateWatch(self.daemon)
        self.stop = asyncio.Event()
        self.runner = asyncio.create_task(self.daemon.run(self.stop))
        await asyncio.wait_for(self.daemon.ready.wait(), 5)

    def until(self, condition, what: str, timeout: float = 5.0) -> None:
        self.loop_thread.run(self.watch.until(condition, timeout, what), timeout + 1)

    def do(self, action, *args) -> None:
        self.loop_thread.call(action, *args)

    def shutdown(self) -> None:
        async def stop() -> None:
            self.stop.set()
            await self.runner

        self.loop_thread.run(stop())
        self.telemetry.stop()


def tile(browser, gate: str, field: str) -> str:
    return browser.js(f"return document.querySelector('.tile[data-gate=\"{gate}\"] .{field}')?.textContent || ''")


def tile_attr(browser, gate: str, attr: str) -> str | None:
    return browser.js(f"return document.querySelector('.tile[data-gate=\"{gate}\"]')?.dataset.{attr} ?? null")


def wait_tile(browser, gate: str, attr: str, value: str, timeout: float = 5.0) -> None:
    browser.wait_for(
        f"return document.querySelector('.tile[data-gate=\"{gate}\"]')?.dataset.{attr} === arguments[0]",
        value,
        timeout=timeout,
        what=f"tile {gate} {attr}={value}",
    )


def click(browser, gate: str, action: str) -> None:
    browser.driver.find_element("css selector", f'.tile[data-gate="{gate}"] button[data-action="{action}"]').click()


def publish_neighbours(port: int) -> None:
    """Eleven more gates of the site as their adapters leave them on the broker (retained)."""
    client = connect(port, "neighbours")
    base = f"{wire.DEFAULT_PREFIX}/{SITE}"
    looks = {
        "g02": ("idle", "in_service", []),
        "g03": ("verifying_face", "in_service", []),
        "g04": ("exit_open", "in_service", []),
        "g05": ("idle", "in_service", []),
        "g06": ("out_of_service", "out_of_service", []),
        "g07": ("reading_document", "in_service", []),
        "g08": ("idle", "in_service", []),
        "g09": ("in_compartment", "in_service", []),
        "g10": ("referred", "in_service", ["pad_alarm", "referral"]),
        "g11": ("idle", "in_service", []),
        "g12": ("entry_open", "in_service", []),
    }
    for gate, (state, mode, alarms) in looks.items():
        status = "offline" if gate == "g05" else "online"
        publish(
            client,
            f"{base}/{gate}/availability",
            {"v": 1, "type": "availability", "status": status, "bdseq": 1},
            retain=True,
        )
        publish(client, f"{base}/{gate}/state", state_payload(state, mode, alarms, CLOSED), retain=True)
    client.disconnect()
    client.loop_stop()


def test_a_tailgating_alarm_turns_the_tile_red_and_a_signed_reset_is_answered(
    browser, loop_thread, mosquitto, tmp_path
):
    key_file, key = write_key(tmp_path, "control-room")
    publish_neighbours(mosquitto.port)
    gate = MqttGate(loop_thread, mosquitto.port, {"control-room": key.public_key()})
    live = LiveDashboard(loop_thread, mosquitto.url, key_file)
    try:
        browser.driver.set_window_size(1400, 1000)
        browser.driver.get(live.url)
        wait_tile(browser, "g01", "state", "idle")
        wait_tile(browser, "g12", "state", "entry_open")
        assert tile_attr(browser, "g01", "availability") == "online"
        assert tile_attr(browser, "g05", "needsOfficer") == "true"  # offline: an officer must look
        assert tile_attr(browser, "g10", "needsOfficer") == "true"  # PAD alarm
        assert tile_attr(browser, "g02", "needsOfficer") == "false"
        beeps = browser.js("return window.__beeps")

        # A tailgater: the real gate core refers the traveller and raises the alarm.
        gate.do(gate.rig.arrive, SCENARIOS["tailgater"])
        gate.do(gate.rig.present_document)
        gate.until(
            lambda: gate.daemon.gate.state is State.ENTRY_OPEN and gate.watch.door_open(Door.ENTRY), "entry open"
        )
        gate.do(gate.rig.step_in)
        gate.do(gate.rig.second_person_follows)
        wait_tile(browser, "g01", "needsOfficer", "true")
        assert "tailgating" in tile(browser, "g01", "alarms")
        assert tile_attr(browser, "g01", "state") == "referred"
        assert browser.js("return window.__beeps") > beeps  # the page sounded the alarm
        g01 = "document.querySelector('.tile[data-gate=\"g01\"]')"
        assert browser.js(f"return getComputedStyle({g01}).backgroundColor") == "rgb(69, 10, 10)"  # dark red
        browser.screenshot("dashboard-alarm")

        # The officer walks the travellers back out and resets the gate from the dashboard.
        gate.until(lambda: gate.watch.door_open(Door.ENTRY), "entry open for the way back")
        gate.do(gate.rig.step_back_out)
        click(browser, "g01", "reset_alarm")
        browser.wait_for(
            "return document.querySelector('.tile[data-gate=\"g01\"] .response').dataset.accepted === 'true'",
            what="the gate's answer",
        )
        assert tile(browser, "g01", "response") == "reset_alarm: accepted (ok)"
        wait_tile(browser, "g01", "needsOfficer", "false")
        wait_tile(browser, "g01", "state", "idle")
        assert "referred (tailgating)" in tile(browser, "g01", "outcome")
        assert gate.telemetry.rejected == []

        # Out of service and back, each answered.
        click(browser, "g01", "out_of_service")
        wait_tile(browser, "g01", "mode", "out_of_service")
        browser.wait_for(
            "return document.querySelector('.tile[data-gate=\"g01\"] .response').textContent"
            " === 'out_of_service: accepted (ok)'"
        )
        click(browser, "g01", "in_service")
        wait_tile(browser, "g01", "mode", "in_service")

        # Emergency open asks for a second click.
        click(browser, "g01", "emergency_open")
        assert tile(browser, "g01", "response") != "emergency_open: accepted (ok)"
        click(browser, "g01", "emergency_open")
        wait_tile(browser, "g01", "mode", "emergency")
        browser.wait_for(
            "return document.querySelector('.tile[data-gate=\"g01\"] .response').textContent"
            " === 'emergency_open: accepted (ok)'"
        )
    finally:
        gate.shutdown()
    # The gate goes away: its tile says so, in red.
    wait_tile(browser, "g01", "availability", "offline")
    assert tile_attr(browser, "g01", "needsOfficer") == "true"
    assert "gate offline" in tile(browser, "g01", "alarms")
    live.task.cancel()


def test_commands_need_a_key_a_known_action_and_a_plain_gate_id(loop_thread, mosquitto):
    live = LiveDashboard(loop_thread, mosquitto.url, key_file=None)
    try:
        time.sleep(0.3)
        assert live.post({"gate": "g01", "action": "reset_alarm"})[0] == 503  # no signing key: refused
        assert live.post({"gate": "g01", "action": "format_disk"})[0] == 400
        assert live.post({"gate": "+/#", "action": "reset_alarm"})[0] == 400
        # Another web page in the officer's browser cannot make it send one.
        assert live.post({"gate": "g01", "action": "reset_alarm"}, Origin="http://evil.example")[0] == 403
        assert live.post({"gate": "g01", "action": "reset_alarm"}, **{"Content-Type": "text/plain"})[0] == 415
    finally:
        live.task.cancel()


def test_a_command_signed_with_an_untrusted_key_is_refused_and_the_refusal_shown(
    browser, loop_thread, mosquitto, tmp_path
):
    key_file, _ = write_key(tmp_path, "control-room")
    _, other = write_key(tmp_path, "someone-else")
    gate = MqttGate(loop_thread, mosquitto.port, {"control-room": other.public_key()})  # trusts another key
    live = LiveDashboard(loop_thread, mosquitto.url, key_file)
    try:
        browser.driver.get(live.url)
        wait_tile(browser, "g01", "state", "idle")
        click(browser, "g01", "out_of_service")
        browser.wait_for(
            "return document.querySelector('.tile[data-gate=\"g01\"] .response').textContent"
            " === 'out_of_service: refused (unauthorised)'"
        )
        assert tile_attr(browser, "g01", "mode") == "in_service"
    finally:
        gate.shutdown()
        live.task.cancel()


def test_the_dashboard_signs_commands_as_the_gates_expect():
    key = Ed25519PrivateKey.generate()
    command = wire.sign(key, "control-room", site=SITE, gate="g01", action="reset_alarm", now=1000.0)
    assert set(command) == {
        "v",
        "id",
        "site",
        "gate",
        "action",
        "args",
        "issued_at",
        "expires_at",
        "key_id",
        "signature",
    }
    assert (command["v"], command["args"], command["expires_at"] - command["issued_at"]) == (1, {}, 60.0)
    key.public_key().verify(base64.b64decode(command["signature"]), wire.canonical(command))
    with pytest.raises(ValueError):
        wire.sign(key, "control-room", site=SITE, gate="g01", action="open_all_doors", now=1000.0)


def test_two_hundred_gates_on_one_page_arrive_in_batches(browser, loop_thread, mosquitto):
    """200 gates each change state twice within a moment: the page gets a handful of batched messages (one
    per 250 ms tick, changed tiles only), not 400, and ends with every gate's latest state.
    (The latency from MQTT message to DOM change is measured by benchmarks/dashboard_200_gates.py.)"""
    live = LiveDashboard(loop_thread, mosquitto.url, key_file=None)
    client = connect(mosquitto.port, "fleet")
    try:
        browser.driver.get(live.url)
        browser.wait_for("return window.__updates >= 1", what="the first snapshot")
        before = browser.js("return window.__updates")
        base = f"{wire.DEFAULT_PREFIX}/{SITE}"
        for state in ("reading_document", "entry_open"):
            for n in range(1, 201):
                client.publish(
                    f"{base}/gate-{n:03d}/state",
                    json.dumps(state_payload(state, "in_service", [], CLOSED)).encode(),
                    qos=1,
                )
        browser.wait_for(
            """const tiles = document.querySelectorAll('.tile');
               return tiles.length === 200 && [...tiles].every(t => t.dataset.state === 'entry_open');""",
            timeout=15,
            what="200 tiles showing their latest state",
        )
        batches = browser.js("return window.__updates") - before
        assert 1 <= batches < 40, f"{batches} page updates for 400 messages"
        assert browser.js("return document.body.dataset.density") == "compact"  # the whole site at a glance
        browser.screenshot("dashboard-200-gates")
    finally:
        client.disconnect()
        client.loop_stop()
        live.task.cancel()


@pytest.mark.parametrize(
    "command", [["dashboard", "--listen"], ["monitor", "--web"]], ids=["echannel dashboard", "echannel monitor --web"]
)
def test_the_command_serves_the_dashboard_until_stopped(command, mosquitto, tmp_path):
    port = free_port()
    argv = [str(REPO / ".venv/bin/echannel"), *command, f"127.0.0.1:{port}", "--broker", mosquitto.url, "--site", SITE]
    with ChildProcess(argv, name="echannel-dashboard", log_dir=tmp_path) as dashboard:
        wait_until(lambda: port_open("127.0.0.1", port), timeout=10, what="the dashboard listening")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200 and b"dashboard.js" in page.read()
        gate = connect(mosquitto.port, "one-gate")
        publish(gate, f"{wire.DEFAULT_PREFIX}/{SITE}/g01/state", state_payload("idle", "in_service", [], CLOSED), True)
        gate.disconnect()
        gate.loop_stop()

        def has_g01() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tiles", timeout=5) as tiles:
                return [t["gate"] for t in json.loads(tiles.read())] == ["g01"]

        wait_until(has_g01, timeout=5, what="g01 on the dashboard")
        assert dashboard.stop() in (0, -15), dashboard.log_tail()
