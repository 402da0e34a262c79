"""One capture's per-frame processing and decision, fed simulator frames directly with time passed in."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.biometrics.images import BadImage, to_bgr
from edge.biometrics.liveness import MultiFrameRgbPad
from edge.biometrics.pipeline import CaptureRules, Decision, FaceCapture, FaceEngine, NoFace, SecondFace
from simulators.camera import library
from simulators.camera.scenes import ScenarioSpec, Scene

FPS = 15


@pytest.fixture(scope="module")
def engine(detector, embedder):
    return FaceEngine(detector, embedder)


def run(engine, scenario, person="obama", timeout=1.2, seed=1, pad=True):
    portrait, _ = engine.portrait_embedding(library.portrait(person))
    capture = FaceCapture(
        engine, portrait, CaptureRules(capture_timeout_s=timeout), MultiFrameRgbPad() if pad else None, 0.0
    )
    scene = Scene(ScenarioSpec(name=scenario, person=person, seed=seed))
    signals = []
    for i in range(int(timeout * FPS) + 2):
        t = i / FPS
        frame = scene.frame(t)
        signals += capture.process(frame, t) if frame is not None else [d for d in [capture.expire(t)] if d]
        if capture.decision:
            break
    decisions = [s for s in signals if isinstance(s, Decision)]
    assert len(decisions) == 1
    return decisions[0], signals


def test_a_genuine_traveller_is_verified_within_a_second_by_the_first_good_frames(engine):
    decision, _ = run(engine, "genuine", timeout=7.0)
    assert decision.kind == "verified" and decision.score >= 0.363
    assert decision.capture_ms < 1000 and decision.comparisons <= 2


def test_an_impostor_is_rejected_at_the_timeout_with_the_best_frames_score(engine):
    decision, _ = run(engine, "impostor", person="biden")
    assert decision.kind == "rejected" and decision.score < 0.363
    assert decision.capture_ms == pytest.approx(1200, abs=100)
    assert 1 <= decision.comparisons <= 5


def test_an_empty_compartment_times_out_without_a_score(engine):
    decision, _ = run(engine, "no_face")
    assert (decision.kind, decision.score, decision.reason) == ("timeout", None, "no_usable_face")


def test_a_second_face_is_announced_once_and_never_compared(engine):
    decision, signals = run(engine, "two_people")
    assert [s for s in signals if isinstance(s, SecondFace)] == [SecondFace(2)]
    assert decision.kind == "timeout" and decision.comparisons == 0


def test_the_group_photo_counts_as_more_than_one_person(engine, photo):
    portrait, _ = engine.portrait_embedding(library.portrait("obama"))
    capture = FaceCapture(engine, portrait, CaptureRules(), None, 0.0)
    (signal,) = capture.process(photo("group.jpg"), 0.1)
    assert signal == SecondFace(6)


@pytest.mark.parametrize("person", ["obama", "biden", "astronaut"])
def test_pad_flags_the_printed_photo_attack(engine, person):
    decision, _ = run(engine, "print", person=person, seed=2)
    assert decision.kind == "pad_alarm" and decision.pad_score > 0.5
    assert decision.score >= 0.363  # it is the right face: only PAD stops it


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("person", ["obama", "biden", "astronaut"])
def test_pad_passes_genuine_travellers(engine, person, seed):
    decision, _ = run(engine, "genuine", person=person, seed=seed)
    assert decision.kind == "verified" and decision.pad_score <= 0.5


def test_pad_score_has_at_least_ten_levels_in_zero_one():
    from edge.biometrics.liveness import quantise

    levels = {quantise(x) for x in np.linspace(-0.5, 1.5, 1001)}
    assert min(levels) == 0.0 and max(levels) == 1.0 and len(levels) >= 10


# --- bad input never escapes as an exception ------------------------------------------------------------

BAD_FRAMES = {
    "none": None,
    "empty-array": np.zeros((0, 0, 3), np.uint8),
    "one-pixel": np.zeros((1, 1, 3), np.uint8),
    "wrong-shape": np.zeros((10, 10, 10, 3), np.uint8),
    "five-channels": np.zeros((100, 100, 5), np.uint8),
    "corrupt-bytes": b"\xff\xd8\xff\xe0 broken",
    "empty-bytes": b"",
    "text": "not an image",
    "huge": np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20000, 20000, 3)),  # 400 MP, no memory used
    "nan-float": np.full((64, 64, 3), np.nan, np.float32),
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_bad_frames_are_skipped_and_counted_not_raised(engine, name):
    portrait, _ = engine.portrait_embedding(library.portrait("obama"))
    capture = FaceCapture(engine, portrait, CaptureRules(capture_timeout_s=1.0), MultiFrameRgbPad(), 0.0)
    assert capture.process(BAD_FRAMES[name], 0.1) == []
    (decision,) = capture.process(BAD_FRAMES[name], 1.2)
    assert decision.kind == "timeout"
    assert capture.bad_frames + (name == "nan-float") * 2 >= 2  # a NaN image is a valid (black) face-less frame


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_bad_chip_portraits_raise_a_clear_bad_image_or_no_face(engine, name):
    with pytest.raises((BadImage, NoFace)) as error:
        engine.portrait_embedding(BAD_FRAMES[name])
    assert error.value.reason in (
        "empty_image", "bad_image", "undecodable_image", "image_too_large", "image_too_small", "no_face",
    )  # fmt: skip


def test_a_face_less_portrait_says_no_face(engine, photo):
    scenery = Scene(ScenarioSpec(name="no_face")).frame(0.0)
    with pytest.raises(NoFace):
        engine.portrait_embedding(scenery)


def test_greyscale_alpha_16_bit_float_and_encoded_portraits_are_converted_and_match(engine):
    colour = library.portrait("obama")
    reference, _ = engine.portrait_embedding(colour)
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    variants = {
        "grey": grey,
        "grey-hw1": grey[:, :, None],
        "bgra": cv2.cvtColor(colour, cv2.COLOR_BGR2BGRA),
        "16-bit": colour.astype(np.uint16) * 257,
        "float01": colour.astype(np.float32) / 255,
        "jpeg-bytes": cv2.imencode(".jpg", colour)[1].tobytes(),
        "jpeg2000-bytes": cv2.imencode(".jp2", colour)[1].tobytes(),  # ICAO DG2 carries JPEG or JPEG 2000
    }
    for name, image in variants.items():
        embedding, _ = engine.portrait_embedding(image)
        assert float(embedding @ reference) > 0.7, name


def test_a_small_chip_portrait_still_yields_a_face(engine):
    small = cv2.resize(library.portrait("biden"), (120, 160), interpolation=cv2.INTER_AREA)  # old passports
    embedding, quality = engine.portrait_embedding(small)
    assert embedding.shape == (128,) and quality.eye_distance > 10


def test_to_bgr_refuses_huge_inputs_before_touching_them():
    with pytest.raises(BadImage) as error:
        to_bgr(BAD_FRAMES["huge"])
    assert error.value.reason == "image_too_large"


def test_biometric_data_is_dropped_after_the_decision(engine):
    decision, _ = run(engine, "genuine")
    assert decision.kind == "verified"
    portrait, _ = engine.portrait_embedding(library.portrait("obama"))
    pad = MultiFrameRgbPad()
    capture = FaceCapture(engine, portrait, CaptureRules(capture_timeout_s=0.5), pad, 0.0)
    scene = Scene(ScenarioSpec(name="genuine"))
    for i in range(20):
        capture.process(scene.frame(i / FPS), i / FPS)
    capture.process(scene.frame(1.0), 1.0)
    assert capture.decision is not None
    assert capture._portrait is None and len(pad._landmarks) == 0
