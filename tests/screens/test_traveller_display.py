"""The traveller's guidance display: texts from the catalogues, a page that follows the gate live in a
real headless Chromium, in English, Traditional and Simplified Chinese, with no personal data on it."""

from __future__ import annotations

import asyncio
import json
import math
import tomllib
import urllib.request
from pathlib import Path

import pytest

from edge.config import GateConfig
from edge.config.validate import ConfigError, parse_config
from edge.daemon import GateDaemon
from edge.display import TravellerDisplayServer
from edge.display.catalogues import CATALOGUE_DIR, CatalogueError, load_catalogues, missing_texts
from edge.display.settings import LANGUAGES, DisplaySettings
from edge.gate.actions import Message
from edge.gate.machine import Gate
from simulators.gate import GateWatch, InProcessRig
from simulators.inprocess import Timings
from simulators.processes import free_port
from simulators.scenarios import SCENARIOS
from tests.screens.harness import REPO

# Paths in the file (models, outbox) are not checked: these tests use none of them.
CONFIG = parse_config(tomllib.loads((REPO / "config" / "simulated.toml").read_text()), GateConfig)
CATALOGUES = load_catalogues(LANGUAGES)
# Slow enough that every screen stays up long enough to be seen (and asserted), fast enough for CI.
SLOW_GATE = Timings(chip_read_s=0.7, door_motion_s=0.5, face_decision_s=1.2)

# --- catalogues and the adapter, without a browser -----------------------------------------------------------


def test_every_message_has_text_in_every_catalogue():
    for path in sorted(CATALOGUE_DIR.glob("*.json")):
        catalogue = json.loads(path.read_text(encoding="utf-8"))
        assert missing_texts(catalogue) == [], path.name
        assert set(catalogue["messages"]) == {m.value for m in Message}, f"{path.name}: unknown or missing keys"
    assert {p.stem for p in CATALOGUE_DIR.glob("*.json")} == set(LANGUAGES)


def test_a_catalogue_missing_a_message_stops_the_display_at_start(tmp_path):
    broken = json.loads((CATALOGUE_DIR / "zh-Hant.json").read_text(encoding="utf-8"))
    del broken["messages"]["see_officer"]
    (tmp_path / "zh-Hant.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"messages\.see_officer"):
        TravellerDisplayServer(DisplaySettings(languages=("zh-Hant",)), catalogue_dir=tmp_path)


def test_the_display_serves_loopback_only_by_default_and_validates_its_section():
    assert DisplaySettings().bind == "127.0.0.1"
    assert CONFIG.display.languages == ("en", "zh-Hant", "zh-Hans")
    with pytest.raises(ConfigError) as problems:
        parse_config({"languages": ["en", "fr"], "mode": "marquee"}, DisplaySettings)
    assert any("languages[1]" in p for p in problems.value.problems)
    assert any("mode" in p for p in problems.value.problems)


def test_only_a_message_and_a_bounded_progress_reach_the_screen():
    display = TravellerDisplayServer()
    display.show(Message.LOOK_AT_CAMERA, 1.7)
    assert display.current == (Message.LOOK_AT_CAMERA, 1.0)
    display.show("Chan Tai Man", 0.5)  # type: ignore[arg-type]  # not a Message: refused, nothing changes
    assert display.current == (Message.LOOK_AT_CAMERA, 1.0)
    display.show(Message.READING, math.nan)
    assert display.current == (Message.READING, None)
    display.show("proceed", -1)  # type: ignore[arg-type]  # a Message's value is a Message
    assert display.current == (Message.PROCEED, 0.0)


# --- in a real browser --------------------------------------------------------------------------------------


class LiveGate:
    """The real core and daemon with the in-process simulated devices, and the real display server."""

    def __init__(self, loop_thread, settings: DisplaySettings | None = None) -> None:
        self.loop_thread = loop_thread
        self.display = TravellerDisplayServer(settings or DisplaySettings(port=free_port()))
        self.rig = InProcessRig(CONFIG)
        self.rig.stage.timings = SLOW_GATE
        self.rig.display = self.display
        loop_thread.run(self._start())

    async def _start(self) -> None:
        self.daemon = GateDaemon(Gate(CONFIG.gate.timeouts.to_timeouts(), start_in_service=True), self.rig.devices())
        self.watch = GateWatch(self.daemon)
        self.stop = asyncio.Event()
        self.runner = asyncio.create_task(self.daemon.run(self.stop))
        await asyncio.wait_for(self.daemon.ready.wait(), 5)
        while self.display.health().ok is False:  # the daemon runs the display like every device
            await asyncio.sleep(0.01)

    @property
    def url(self) -> str:
        return self.display.url

    def do(self, action, *args) -> None:
        """A traveller's or officer's move, on the gate's loop."""
        self.loop_thread.call(action, *args)

    def shutdown(self) -> None:
        async def stop() -> None:
            self.stop.set()
            await self.runner

        self.loop_thread.run(stop())


@pytest.fixture
def gate(loop_thread):
    live = LiveGate(loop_thread)
    yield live
    live.shutdown()


def expect_screen(browser, message: str, secrets: tuple[str, ...] = (), shot: str | None = None) -> None:
    """The page shows `message`: its pictogram and its text in every language, and nothing else."""
    browser.wait_for("return document.getElementById('screen').dataset.message === arguments[0]", message, what=message)
    shown = browser.js(
        """const lines = [...document.querySelectorAll('#texts .line')];
           const pict = [...document.querySelectorAll('.pict')].filter(s => !s.hasAttribute('hidden'));
           return {texts: Object.fromEntries(lines.map(l => [l.lang, l.textContent])),
                   visible: lines.every(l => l.getBoundingClientRect().height > 0),
                   pictograms: pict.map(s => s.dataset.for),
                   size: Math.min(...lines.map(l => parseFloat(getComputedStyle(l).fontSize))) / innerHeight};"""
    )
    assert shown["texts"] == {lang: CATALOGUES[lang]["messages"][message] for lang in LANGUAGES}
    assert shown["visible"] and shown["pictograms"] == [message]
    assert shown["size"] >= 0.06  # of the screen's height (~14 mm on a 15" screen): readable from over a metre
    assert_no_personal_data(browser, secrets)
    if shot:
        browser.screenshot(shot)


def assert_no_personal_data(browser, secrets: tuple[str, ...]) -> None:
    allowed = {text for c in CATALOGUES.values() for text in (*c["messages"].values(), *c["ui"].values())}
    page = browser.js(
        """return {text: document.body.innerText, html: document.documentElement.outerHTML,
                   media: document.querySelectorAll('img,video,canvas,iframe,input,object').length,
                   resources: performance.getEntriesByType('resource').map(e => e.name)};"""
    )
    lines = {line.strip() for line in page["text"].splitlines() if line.strip()}
    assert lines <= allowed, f"text on the traveller's screen that is not in a catalogue: {lines - allowed}"
    assert page["media"] == 0
    for secret in secrets:
        assert secret not in page["html"]
    origin = browser.driver.current_url.rstrip("/")
    assert all(r.startswith(origin) for r in page["resources"]), "everything comes from the gate itself"


def test_the_page_follows_a_cleared_traveller_step_by_step_in_three_languages(browser, gate):
    browser.driver.get(gate.url)
    expect_screen(browser, "place_document", shot="traveller-place_document")
    scenario = SCENARIOS["genuine_second_face"]  # sees a second face while capturing: "one at a time"
    gate.do(gate.rig.arrive, scenario)
    gate.do(gate.rig.present_document)
    secrets = (scenario.name, "portrait-of")
    expect_screen(browser, "reading", secrets, shot="traveller-reading")
    expect_screen(browser, "step_in", secrets, shot="traveller-step_in")
    transaction = gate.daemon.gate.transaction_id
    secrets += (transaction,) if transaction else ()
    gate.do(gate.rig.step_in)
    expect_screen(browser, "wait", secrets)
    expect_screen(browser, "look_at_camera", secrets, shot="traveller-look_at_camera")
    assert browser.js("return document.getElementById('progress-ring').classList.contains('indeterminate')")
    expect_screen(browser, "appear_alone", secrets, shot="traveller-appear_alone")
    expect_screen(browser, "proceed", secrets, shot="traveller-proceed")
    gate.do(gate.rig.step_out_through_exit)
    expect_screen(browser, "place_document", secrets)
    shown = [m for m in browser.js("return window.__shown") if m != "starting"]
    assert shown == [
        "place_document",
        "reading",
        "step_in",
        "wait",
        "look_at_camera",
        "appear_alone",
        "proceed",
        "place_document",
    ]
    assert [r.outcome.value for r in gate.watch.records] == ["cleared"]


def test_referral_and_emergency_screens(browser, gate):
    browser.driver.get(gate.url)
    expect_screen(browser, "place_document")
    gate.do(gate.rig.arrive, SCENARIOS["forged_document"])
    gate.do(gate.rig.present_document)
    expect_screen(browser, "see_officer", ("forged_document",), shot="traveller-see_officer")
    gate.do(gate.rig.officer_resets)
    expect_screen(browser, "place_document")
    gate.do(gate.rig.fire_alarm, True)
    expect_screen(browser, "emergency", shot="traveller-emergency")
    assert browser.js("return document.getElementById('screen').dataset.tone") == "emergency"


def test_the_face_capture_cue_fills_with_progress(browser, gate):
    browser.driver.get(gate.url)
    expect_screen(browser, "place_document")
    gate.do(gate.display.show, Message.LOOK_AT_CAMERA, 0.25)
    browser.wait_for("return document.getElementById('screen').dataset.progress === '0.25'")
    gate.do(gate.display.show, Message.LOOK_AT_CAMERA, 0.75)
    browser.wait_for("return document.getElementById('screen').dataset.progress === '0.75'")
    # Three quarters of the ring drawn: a quarter of its (normalised) length left as the dash offset.
    browser.wait_for("return getComputedStyle(document.getElementById('progress-ring')).strokeDashoffset === '25px'")
    assert not browser.js("return document.getElementById('progress-ring').classList.contains('indeterminate')")
    browser.screenshot("traveller-look_at_camera-progress")


def test_the_page_reconnects_by_itself_when_the_daemon_restarts(browser, loop_thread):
    port = free_port()
    first = LiveGate(loop_thread, DisplaySettings(port=port))
    browser.driver.get(first.url)
    expect_screen(browser, "place_document")
    first.shutdown()  # the daemon stops: the page says the gate is starting, not a stale instruction
    browser.wait_for("return document.getElementById('screen').dataset.message === 'starting'", timeout=6)
    second = LiveGate(loop_thread, DisplaySettings(port=port))
    try:
        second.do(second.display.show, Message.GATE_CLOSED)
        expect_screen(browser, "gate_closed", shot="traveller-gate_closed")
    finally:
        second.shutdown()


def test_cycle_mode_shows_one_language_at_a_time(browser, loop_thread):
    live = LiveGate(loop_thread, DisplaySettings(port=free_port(), mode="cycle", cycle_s=1.0))
    try:
        browser.driver.get(live.url)
        seen = set()
        for _ in range(3):
            visible = browser.wait_for(
                """const v = [...document.querySelectorAll('#texts .line')].filter(l => l.offsetHeight > 0);
                   return v.length === 1 && !arguments[0].includes(v[0].lang) ? v[0].lang : null;""",
                sorted(seen),
                timeout=3,
            )
            seen.add(visible)
        assert seen == set(LANGUAGES)
    finally:
        live.shutdown()


def test_the_page_and_its_assets_are_served_locally():
    display = TravellerDisplayServer(DisplaySettings(port=free_port()))

    async def fetch_all() -> dict[str, tuple[int, str]]:
        server = asyncio.create_task(display.run(lambda event: None))
        while not display.health().ok:
            await asyncio.sleep(0.01)

        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(display.url.rstrip("/") + path, timeout=5) as answer:
                    return answer.status, answer.headers["Content-Security-Policy"] or ""
            except urllib.error.HTTPError as exc:
                return exc.code, ""

        paths = ("/", "/static/display.js", "/static/display.css", "/config.json", "/static/../server.py")
        results = {p: await asyncio.to_thread(get, p) for p in paths}
        server.cancel()
        return results

    results = asyncio.run(fetch_all())
    assert all(results[p][0] == 200 for p in ("/", "/static/display.js", "/static/display.css", "/config.json"))
    assert "default-src 'self'" in results["/"][1]
    assert results["/static/../server.py"][0] == 404
    html = (Path(__file__).resolve().parents[2] / "edge/display/static/index.html").read_text()
    assert "http" not in html.replace("http-equiv", ""), "no asset from elsewhere"
