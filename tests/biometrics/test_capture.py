"""Capture from the camera simulator over HTTP, exactly as from an IP camera: newest frame only, never a
stale one, and a watchdog that notices a frozen camera and recovers when frames come back."""

from __future__ import annotations

import time

import pytest

from edge.biometrics.capture import FrameGrabber
from simulators.processes import free_port, wait_until


@pytest.fixture
def grabber(camera):
    camera.set_scenario("genuine")
    grab = FrameGrabber(camera.stream_url, stall_timeout_s=0.8, max_age_s=0.4, read_timeout_s=0.8).start()
    try:
        wait_until(lambda: grab.seq >= 3, timeout=15, what="first frames over HTTP")
        yield grab
    finally:
        grab.stop()


def test_frames_arrive_over_http_at_the_stream_rate(grabber):
    first = grabber.seq
    time.sleep(1.0)
    arrived = grabber.seq - first
    assert 8 <= arrived <= 25  # 15 fps, give or take a shared machine
    frame = grabber.latest()
    assert frame is not None and frame.image.shape == (480, 640, 3)


def test_a_slow_consumer_gets_the_newest_frame_and_skips_the_rest(grabber):
    seen = grabber.latest().seq
    time.sleep(0.5)  # a consumer busy with inference
    frame = grabber.latest(after=seen)
    assert frame is not None
    assert frame.seq - seen >= 4  # the frames in between were skipped, not queued
    assert time.monotonic() - frame.at < 0.2  # and what we got is fresh


def test_a_frame_already_seen_is_not_handed_out_again(grabber):
    frame = grabber.latest()
    again = grabber.latest(after=frame.seq, timeout=0.5)
    assert again is None or again.seq > frame.seq


def test_a_stalled_camera_yields_no_stale_frame_and_the_watchdog_flags_it_then_recovers(camera, grabber):
    camera.set_scenario("stall", stall_after_s=0.0)
    try:
        time.sleep(0.5)  # longer than max_age_s: whatever arrived before the stall is now stale
        assert grabber.latest(after=0, timeout=0.3) is None
        wait_until(lambda: grabber.status().stalled, timeout=5, what="watchdog flags the stall")
        assert "no frame" in grabber.status().detail
    finally:
        camera.set_scenario("genuine")
    wait_until(lambda: not grabber.status().stalled, timeout=15, what="frames flowing again")
    assert grabber.latest(timeout=2) is not None
    assert grabber.status().reconnects >= 1


def test_a_camera_that_cannot_be_opened_is_reported_not_raised():
    grab = FrameGrabber(f"http://127.0.0.1:{free_port()}/stream", stall_timeout_s=0.3, read_timeout_s=0.3).start()
    try:
        assert grab.latest(timeout=0.5) is None
        wait_until(lambda: grab.status().stalled, timeout=5, what="stall reported")
        assert grab.status().frames == 0
    finally:
        grab.stop()
