"""The face verifier behind the daemon's seam (edge.ports.FaceVerifier), against the camera simulator over
HTTP: exactly one outcome per start, the right one for each scripted traveller."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.biometrics.verifier import CameraFaceVerifier
from edge.config.schema import FaceSettings  # via edge.config: importing the section first is circular
from edge.gate.events import (
    CaptureTimeout,
    FaceOutcome,
    FaceRejected,
    FaceVerified,
    MoreThanOnePerson,
    PadAlarm,
    Sensor,
)
from simulators.processes import wait_until

CAPTURE_TIMEOUT_S = 3.0  # room for PAD's 8 frames on a busy machine
SHORT_TIMEOUT_S = 1.5  # for the captures that can only end at the timeout


class Recorder:
    def __init__(self) -> None:
        self.events: list = []
        self.lock = threading.Lock()

    def __call__(self, event) -> None:  # thread-safe, like the daemon's emit
        with self.lock:
            self.events.append(event)

    def outcomes(self) -> list[FaceOutcome]:
        with self.lock:
            return [e for e in self.events if isinstance(e, FaceOutcome)]

    def clear(self) -> None:
        with self.lock:
            self.events.clear()


@pytest.fixture(scope="module")
def gate(camera):
    settings = FaceSettings(camera=camera.stream_url, capture_timeout_s=CAPTURE_TIMEOUT_S, stall_timeout_s=1.0)
    face = CameraFaceVerifier.from_settings(settings, Path(__file__).resolve().parents[2])
    recorder = Recorder()
    camera.set_scenario("no_face")
    face.start_threads(recorder)
    wait_until(lambda: face.health().ok, timeout=20, what="camera frames reach the verifier")
    try:
        yield face, recorder, camera
    finally:
        face.close()


@pytest.fixture
def short_timeout(gate):
    face = gate[0]
    face.rules = replace(face.rules, capture_timeout_s=SHORT_TIMEOUT_S)
    yield SHORT_TIMEOUT_S
    face.rules = replace(face.rules, capture_timeout_s=CAPTURE_TIMEOUT_S)


def run_capture(gate, scenario: str, portrait_of: str = "obama", settle: float = 0.4, **extra):
    face, recorder, camera = gate
    camera.set_scenario(scenario, **extra)
    time.sleep(settle)  # frames of the previous scene still in flight belong to the previous traveller
    recorder.clear()
    face.start("txn-test", camera.portrait(portrait_of))
    wait_until(lambda: recorder.outcomes(), timeout=CAPTURE_TIMEOUT_S + 8, what=f"an outcome for {scenario}")
    time.sleep(0.3)  # anything more would be a second outcome
    return recorder.outcomes(), list(recorder.events)


def test_nobody_in_front_of_the_camera_ends_in_a_capture_timeout(gate, short_timeout):
    outcomes, _ = run_capture(gate, "no_face")
    assert len(outcomes) == 1 and isinstance(outcomes[0], CaptureTimeout)
    assert outcomes[0].score is None and outcomes[0].capture_ms >= short_timeout * 1000


def test_a_genuine_traveller_is_verified_quickly_with_score_quality_and_pad(gate):
    (outcome,), _ = run_capture(gate, "genuine", person="biden", portrait_of="biden")  # exactly one
    assert isinstance(outcome, FaceVerified)
    assert outcome.threshold == pytest.approx(0.363)
    assert outcome.score > 0.363 and outcome.quality > 0.5
    assert outcome.pad_score is not None and outcome.pad_score <= 0.5
    assert outcome.capture_ms < 2500


def test_an_impostor_is_rejected_at_the_timeout_by_the_best_frame(gate, short_timeout):
    (outcome,), _ = run_capture(gate, "impostor", person="astronaut", portrait_of="astronaut")
    assert isinstance(outcome, FaceRejected)
    assert outcome.score is not None and outcome.score < 0.363
    assert outcome.capture_ms >= short_timeout * 1000


def test_a_printed_photo_raises_a_pad_alarm_even_though_the_face_matches(gate):
    (outcome,), _ = run_capture(gate, "print", person="biden", portrait_of="biden")
    assert isinstance(outcome, PadAlarm)
    assert outcome.score > 0.363  # the face matches: only PAD stops it
    assert outcome.pad_score > 0.5


def test_two_people_raise_appear_alone_and_then_one_outcome(gate, short_timeout):
    outcomes, events = run_capture(gate, "two_people")
    assert MoreThanOnePerson(sensor=Sensor.CAMERA) in events
    assert events.index(MoreThanOnePerson(sensor=Sensor.CAMERA)) < events.index(outcomes[0])
    assert len(outcomes) == 1 and isinstance(outcomes[0], CaptureTimeout)


def test_a_stalled_camera_ends_in_a_capture_timeout(gate, short_timeout):
    outcomes, _ = run_capture(gate, "stall", stall_after_s=0.0)
    assert len(outcomes) == 1 and isinstance(outcomes[0], CaptureTimeout)
    face, _, camera = gate
    camera.set_scenario("no_face")
    wait_until(lambda: face.health().ok, timeout=15, what="camera back after the stall")


@pytest.mark.parametrize(
    "portrait",
    [None, b"", b"\xff\xd8 not a jpeg", np.zeros((0, 0, 3), np.uint8), np.full((480, 360, 3), 128, np.uint8)],
    ids=["none", "empty-bytes", "corrupt-jpeg", "zero-size", "no-face"],
)
def test_an_unusable_chip_portrait_is_rejected_with_one_outcome_not_an_exception(gate, portrait):
    face, recorder, camera = gate
    camera.set_scenario("genuine")
    recorder.clear()
    face.start("txn-bad-portrait", portrait)
    wait_until(lambda: recorder.outcomes(), timeout=5, what="an outcome")
    time.sleep(0.2)
    (outcome,) = recorder.outcomes()
    assert isinstance(outcome, FaceRejected) and outcome.score is None


def test_a_greyscale_chip_portrait_still_verifies(gate):
    import cv2

    face, recorder, camera = gate
    camera.set_scenario("genuine")
    time.sleep(0.4)
    recorder.clear()
    face.start("txn-grey", cv2.cvtColor(camera.portrait("obama"), cv2.COLOR_BGR2GRAY))
    wait_until(lambda: recorder.outcomes(), timeout=8, what="an outcome")
    assert isinstance(recorder.outcomes()[0], FaceVerified)


def test_stop_abandons_the_capture_without_an_outcome(gate, short_timeout):
    face, recorder, camera = gate
    camera.set_scenario("no_face")
    recorder.clear()
    face.start("txn-stopped", camera.portrait("obama"))
    time.sleep(0.5)
    face.stop()
    time.sleep(short_timeout + 0.5)
    assert recorder.outcomes() == []


def test_a_new_start_replaces_the_running_capture_and_only_it_gets_an_outcome(gate):
    face, recorder, camera = gate
    camera.set_scenario("genuine")  # obama in front of the camera
    time.sleep(0.4)
    recorder.clear()
    face.start("txn-first", camera.portrait("biden"))  # an impostor: rejected only at its timeout...
    time.sleep(0.5)  # ...it is running, comparing frames
    face.start("txn-second", camera.portrait("obama"))  # replaces it, and matches
    wait_until(lambda: recorder.outcomes(), timeout=8, what="an outcome")
    time.sleep(CAPTURE_TIMEOUT_S + 0.5)  # past the moment the first capture would have been rejected
    assert [type(outcome) for outcome in recorder.outcomes()] == [FaceVerified]


def test_set_threshold_applies_to_the_next_capture(gate, short_timeout):
    face = gate[0]
    face.set_threshold(0.99)  # nobody matches this
    try:
        (outcome,), _ = run_capture(gate, "genuine")
        assert isinstance(outcome, FaceRejected) and outcome.threshold == pytest.approx(0.99)
    finally:
        face.set_threshold(0.363)
    with pytest.raises(ValueError):
        face.set_threshold(2.0)


def test_health_reports_the_camera(gate):
    face, _, _ = gate
    health = face.health()
    assert health.ok and health.figures["camera_fps"] > 5


def test_run_is_an_asyncio_task_that_starts_the_threads_and_stops_them_when_cancelled(camera):
    import asyncio

    settings = FaceSettings(camera=camera.stream_url, capture_timeout_s=CAPTURE_TIMEOUT_S)
    face = CameraFaceVerifier.from_settings(settings, Path(__file__).resolve().parents[2])

    async def scenario() -> None:
        task = asyncio.create_task(face.run(Recorder()))
        for _ in range(200):
            if face.health().ok:
                break
            await asyncio.sleep(0.05)
        assert face.health().ok
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert not face.health().ok and face.health().detail == "not running"
