"""The camera simulator is reachable the way a real IP camera is, and scriptable per traveller."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from simulators.camera.scenes import SCENARIOS, ScenarioSpec, Scene


def test_opencv_opens_the_mjpeg_stream_by_url_like_any_ip_camera(camera):
    camera.set_scenario("genuine")
    capture = cv2.VideoCapture(camera.stream_url, cv2.CAP_FFMPEG)
    try:
        assert capture.isOpened()
        ok, frame = capture.read()
        assert ok and frame.shape == (480, 640, 3)
    finally:
        capture.release()


def test_the_control_api_switches_scenarios_and_refuses_unknown_ones(camera):
    assert camera.set_scenario("impostor", person="biden")["name"] == "impostor"
    assert camera.scenario()["person"] == "biden"
    request = urllib.request.Request(
        camera.base + "/scenario", data=json.dumps({"name": "juggling"}).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400
    assert camera.scenario()["name"] == "impostor"  # unchanged


def test_the_portrait_endpoint_serves_a_chip_like_portrait(camera):
    portrait = camera.portrait("astronaut")
    assert portrait.shape == (640, 480, 3)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_renders_deterministically(name):
    a = Scene(ScenarioSpec(name=name, seed=7)).frame(0.2)
    b = Scene(ScenarioSpec(name=name, seed=7)).frame(0.2)
    assert (a is None and b is None) or np.array_equal(a, b)


def test_the_stall_scenario_stops_delivering_after_its_delay():
    scene = Scene(ScenarioSpec(name="stall", stall_after_s=0.5))
    assert scene.frame(0.4) is not None and scene.frame(0.6) is None
