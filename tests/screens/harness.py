"""What the screen tests share: headless Chromium via Selenium (Debian's chromium and chromedriver, nothing
downloaded), a private mosquitto by PID, and an asyncio loop in a thread for the servers under test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from simulators.processes import ChildProcess, free_port, port_open, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[2]
ARTEFACTS = REPO / "artefacts" / "screens"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
)


def browser_available() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (bash .ci/setup installs chromium and chromium-driver)"
    return ""


class Browser:
    """One headless Chromium with a fresh profile; `quit()` stops chromedriver and the browser."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver or a browser
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="echannel-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_for(self, script: str, *args: Any, timeout: float = 5.0, what: str = "") -> Any:
        """Poll a JS expression until it returns something truthy; return it."""
        result: list[Any] = []

        def holds() -> bool:
            value = self.js(script, *args)
            result[:] = [value]
            return bool(value)

        wait_until(holds, timeout=timeout, what=what or script, interval=0.03)
        return result[0]

    def screenshot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


class LoopThread:
    """An asyncio loop running in a thread, so blocking Selenium calls and the servers can run together."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="screens-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Mosquitto:
    """A private broker on a free loopback port, started and stopped by PID."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        conf = directory / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.process = ChildProcess(["mosquitto", "-c", str(conf)], name="mosquitto-screens", log_dir=directory)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.process.start()
        wait_until(lambda: port_open("127.0.0.1", self.port), timeout=5, what="mosquitto listening")
        return self

    def stop(self) -> None:
        self.process.stop()
