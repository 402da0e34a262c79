from __future__ import annotations

import pytest

from tests.screens.harness import Browser, LoopThread, Mosquitto, browser_available


@pytest.fixture(scope="module")
def browser():
    why = browser_available()
    if why:
        pytest.skip(why)
    chromium = Browser()
    yield chromium
    chromium.quit()


@pytest.fixture
def loop_thread():
    loop = LoopThread()
    yield loop
    loop.stop()


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()
