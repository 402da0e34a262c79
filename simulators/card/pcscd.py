"""Run our own pcscd with one vpcd virtual reader, for tests, benchmarks and the simulated gate.

    with PcscDaemon() as pcscd:                      # a free port pair, generated reader.conf, `pcscd -c DIR`
        emulator = VpcdEmulator(port=pcscd.port)
        emulator.insert(chip)
        pcscd.wait_for_card(present=True)            # SCardGetStatusChange: no sleeps, no TCP probes
        ...

Only one pcscd can run on a machine (its socket is /run/pcscd/pcscd.comm whatever the environment says),
so `start()` takes a machine-wide lock (waiting for another test run to finish with it) and refuses, with
the PID, to start next to a pcscd it did not start; `PcscDaemon.attach()` reuses a running system pcscd and
its stock vpcd reader (port 35963) instead. vpcd listens on 0.0.0.0: a test rig thing, never on a gate.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from edge.document.pcsc import NoService, PcscContext, PcscError, ReaderState
from simulators.processes import ChildProcess

RUN_DIR = Path("/run/pcscd")
COMM_SOCKET = RUN_DIR / "pcscd.comm"
PID_FILE = RUN_DIR / "pcscd.pid"
VPCD_DRIVER_CANDIDATES = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
)
LOCK_FILE = Path(tempfile.gettempdir()) / "echannel-pcscd.lock"
SYSTEM_VPCD_PORT = 35963
SYSTEM_READER = "Virtual PCD 00 00"


class PcscdError(RuntimeError):
    pass


class PcscdAlreadyRunning(PcscdError):
    def __init__(self, pid: int) -> None:
        self.pid = pid
        super().__init__(
            f"a pcscd this harness did not start is running (PID {pid}); stop it (e.g. `systemctl stop "
            f"pcscd.socket pcscd`) or reuse it with PcscDaemon.attach()"
        )


def running_pcscd_pid() -> int | None:
    """PID of a live pcscd per /run/pcscd/pcscd.pid (a stale file after a SIGKILL does not count)."""
    try:
        pid = int(PID_FILE.read_text().strip().strip("\x00").strip())  # pcscd writes "PID\n\0"
    except (OSError, ValueError):
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if comm == "pcscd" else None


def vpcd_driver() -> str:
    for path in VPCD_DRIVER_CANDIDATES:
        if Path(path).exists():
            return path
    raise PcscdError("vsmartcard-vpcd is not installed (libifdvpcd.so not found)")


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port p with p + 1 also free: vpcd opens two readers, on its port and the next one."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((host, 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
                return port
    raise PcscdError("no two consecutive free TCP ports")


class PcscDaemon:
    """A pcscd child with a generated reader.conf: reader `<name> 00 00` on vpcd port `port`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        name: str = "echannel vpcd",
        log_dir: str | None = None,
        lock_timeout: float = 120.0,
        debug: bool = False,
    ) -> None:
        self.port = port
        self.name = name
        self.log_dir = log_dir
        self.lock_timeout = lock_timeout
        self.debug = debug
        self.child: ChildProcess | None = None
        self.conf_dir: Path | None = None
        self._lock_fd: int | None = None
        self.attached = False

    @property
    def reader(self) -> str:
        return SYSTEM_READER if self.attached else f"{self.name} 00 00"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else running_pcscd_pid() if self.attached else None

    @classmethod
    def attach(cls) -> PcscDaemon:
        """Use the system's running pcscd and its stock vpcd reader; `stop()` then leaves it alone."""
        if running_pcscd_pid() is None:
            raise PcscdError("no pcscd is running to attach to")
        daemon = cls(port=SYSTEM_VPCD_PORT)
        daemon.attached = True
        daemon._wait_ready(10.0)
        return daemon

    def start(self, timeout: float = 10.0) -> PcscDaemon:
        self._take_lock()
        try:
            other = running_pcscd_pid()
            if other is not None:
                raise PcscdAlreadyRunning(other)
            self.port = self.port or free_port_pair()
            self.conf_dir = Path(tempfile.mkdtemp(prefix="echannel-pcscd-"))
            (self.conf_dir / "vpcd").write_text(
                f'FRIENDLYNAME "{self.name}"\n'
                f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
                f"LIBPATH      {vpcd_driver()}\n"
                f"CHANNELID    0x{self.port:04X}\n"
            )
            argv = ["pcscd", "--foreground", "-c", str(self.conf_dir)] + (["--debug"] if self.debug else [])
            self.child = ChildProcess(argv, name="pcscd", log_dir=self.log_dir).start()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """pcscd's socket exists, SCardListReaders stops answering 'no service', and our reader is listed."""
        deadline = time.monotonic() + timeout
        while True:
            if self.child is not None and not self.child.alive():
                raise PcscdError(f"pcscd exited with {self.child.process.returncode}: {self.child.log_tail()}")  # type: ignore[union-attr]
            if COMM_SOCKET.exists():
                try:
                    with PcscContext() as context:
                        if self.reader in context.readers():
                            return
                except NoService:
                    pass
            if time.monotonic() >= deadline:
                log = self.child.log_tail() if self.child else ""
                raise PcscdError(f"pcscd not ready with reader {self.reader!r} after {timeout:.1f} s\n{log}")
            time.sleep(0.005)  # start-up only: there is no event to wait on before the socket exists

    def wait_for_card(self, *, present: bool, timeout: float = 5.0) -> ReaderState:
        """Block (in pcscd, via SCardGetStatusChange) until the reader shows the card PRESENT or ABSENT."""
        with PcscContext() as context:
            return context.wait_for(self.reader, present=present, timeout=timeout)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None
        if self.conf_dir is not None:
            shutil.rmtree(self.conf_dir, ignore_errors=True)
            self.conf_dir = None
        self._release_lock()

    def _take_lock(self) -> None:
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise PcscdError(f"another test run holds {LOCK_FILE} (the machine's one pcscd)") from None
                time.sleep(0.1)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> PcscDaemon:
        return self if self.attached or self.child else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run our pcscd with its vpcd reader until interrupted; print the reader name and the vpcd port."""
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(prog="python -m simulators.card.pcscd", description=main.__doc__)
    parser.add_argument("--port", type=int, default=None, help="vpcd port (default: a free one)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        daemon = PcscDaemon(port=args.port).start()
    except PcscdError as exc:
        print(f"pcscd: {exc}", file=sys.stderr)
        return 2
    print(f"reader {daemon.reader!r}, vpcd port {daemon.port}, pcscd PID {daemon.pid}", flush=True)
    try:
        while not stop.wait(0.5):
            if daemon.child is not None and not daemon.child.alive():
                print(f"pcscd exited:\n{daemon.child.log_tail()}", file=sys.stderr)
                return 1
    finally:
        daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["PcscDaemon", "PcscError", "PcscdAlreadyRunning", "PcscdError", "free_port_pair", "running_pcscd_pid"]
