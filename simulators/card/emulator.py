"""Serve a simulated chip to pcscd through the vsmartcard virtual reader driver (vpcd).

vpcd *listens* (localhost:35963 for the first virtual reader); inserting a card means connecting to it,
pulling the card means closing the connection. vpcd's framing: a 2-byte big-endian length, then the
payload. A 1-byte payload is a control message (0 power off, 1 power on, 2 reset, 4 get ATR, answered
with the ATR); anything longer is a command APDU, answered with the response APDU in the same framing.

    emulator = VpcdEmulator(port=35963)
    emulator.insert(document_chip(document), Faults(pull_after=5))   # a card pulled at the 6th APDU
    ...                                                                # wait for PRESENT / ABSENT with pcscd.py
    emulator.remove()

From a shell (the simulated gate): `python -m simulators.card.emulator --document DIR` serves the document
directory written by `echannel sim document`, optionally plays the MRZ/OCR reader on a pseudo-terminal
(`--mrz-link PATH`) and takes commands on a control socket (`--control PATH`, see `serve_control`).

Latency: vpcd writes length and APDU in two send() calls; with Nagle on its side and delayed ACKs on ours
every APDU would wait ~40 ms. TCP_NODELAY on our socket and TCP_QUICKACK before every recv() avoid it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_PORT = 35963
# Contactless-style ATR: T=0 then T=1 offered, no historical bytes, TCK = XOR of T0..TD2.
DEFAULT_ATR = bytes.fromhex("3B80800101")

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class Card(Protocol):
    """What the emulator serves: simulators.card.chip.Chip, or any object answering APDUs the same way."""

    def process(self, command: bytes) -> bytes: ...
    def reset(self) -> None: ...


@dataclass(frozen=True)
class Faults:
    """Ways a card misbehaves, counted in command APDUs since insertion.

    pull_after       the card leaves the field instead of answering APDU number pull_after + 1
    delay_s          a slow chip: every answer waits this long
    wrong_mac_after  from APDU number wrong_mac_after + 1 on, the response's last data byte (the MAC's)
                     is flipped, so secure messaging must refuse it
    truncate_after   APDU number truncate_after + 1 is answered with a response cut short
    """

    pull_after: int | None = None
    delay_s: float = 0.0
    wrong_mac_after: int | None = None
    truncate_after: int | None = None

    @classmethod
    def parse(cls, text: str) -> Faults:
        """From `pull_after=5,delay_ms=20` (the CLI and control socket form)."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, _, raw = item.partition("=")
            key = key.strip().replace("-", "_")
            try:
                if key == "delay_ms":
                    values["delay_s"] = float(raw) / 1000
                elif key in ("pull_after", "wrong_mac_after", "truncate_after"):
                    values[key] = int(raw)
                else:
                    raise ValueError(f"unknown fault {key!r}")
            except ValueError as exc:
                raise ValueError(f"bad fault {item!r}: {exc}") from None
        return cls(**values)


def _set_quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Read exactly `size` bytes; None when the peer closed (or we did, to pull the card)."""
    data = bytearray()
    while len(data) < size:
        _set_quickack(sock)  # Linux clears QUICKACK after a while: set it before every read
        try:
            chunk = sock.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class _Insertion:
    """One card in the field: one connection to vpcd and the thread serving it."""

    def __init__(self, sock: socket.socket, card: Card, faults: Faults, atr: bytes) -> None:
        self.sock = sock
        self.card = card
        self.faults = faults
        self.atr = atr
        self.apdu_count = 0
        self.pulled = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="vpcd-card", daemon=True)

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(len(payload).to_bytes(2, "big") + payload)  # one send: no Nagle split on our side

    def _serve(self) -> None:
        try:
            while not self.pulled.is_set():
                header = _recv_exact(self.sock, 2)
                if header is None:
                    return
                payload = _recv_exact(self.sock, int.from_bytes(header, "big"))
                if payload is None:
                    return
                if len(payload) == 1:
                    self._control(payload[0])
                    continue
                response = self._answer(payload)
                if response is None:
                    return  # pulled
                self._send(response)
        except OSError:
            return  # vpcd went away (pcscd stopped) or we pulled the card under it
        finally:
            self.close()

    def _control(self, code: int) -> None:
        if code == GET_ATR:
            self._send(self.atr)
        elif code in (POWER_ON, POWER_OFF, RESET):
            self.card.reset()

    def _answer(self, command: bytes) -> bytes | None:
        self.apdu_count += 1
        faults, n = self.faults, self.apdu_count
        if faults.pull_after is not None and n > faults.pull_after:
            self.pulled.set()
            return None
        if faults.delay_s:
            time.sleep(faults.delay_s)
        try:
            response = self.card.process(command)
        except Exception:  # a card model that raises answers like a confused chip, the emulator lives on
            log.exception("card model failed on an APDU")
            response = b"\x6f\x00"
        if faults.truncate_after is not None and n == faults.truncate_after + 1 and len(response) > 3:
            response = response[: len(response) // 2] + response[-2:]
        if faults.wrong_mac_after is not None and n > faults.wrong_mac_after and len(response) > 2:
            response = response[:-3] + bytes([response[-3] ^ 0x01]) + response[-2:]
        return response

    def close(self) -> None:
        self.pulled.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class VpcdEmulator:
    """Inserts and removes simulated cards in one vpcd virtual reader. Thread-safe."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1", atr: bytes = DEFAULT_ATR) -> None:
        self.host = host
        self.port = port
        self.atr = atr
        self._lock = threading.Lock()
        self._current: _Insertion | None = None
        self.insertions = 0

    @property
    def present(self) -> bool:
        with self._lock:
            return self._current is not None and not self._current.pulled.is_set()

    @property
    def apdu_count(self) -> int:
        """Command APDUs the current (or last) card received."""
        with self._lock:
            return self._current.apdu_count if self._current else 0

    def insert(self, card: Card, faults: Faults | None = None, *, timeout: float = 5.0) -> None:
        """Put `card` into the field: connect to vpcd (retrying while pcscd is still loading the driver)."""
        self.remove()
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ConnectionError(f"vpcd not listening on {self.host}:{self.port}: {exc}") from None
                time.sleep(0.05)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _set_quickack(sock)
        card.reset()
        insertion = _Insertion(sock, card, faults or Faults(), self.atr)
        with self._lock:
            self._current = insertion
            self.insertions += 1
        insertion.thread.start()

    def remove(self) -> None:
        """Take the card out of the field (close the connection); pcscd reports ABSENT a few 100 ms later."""
        with self._lock:
            current = self._current
        if current is not None:
            current.close()
            if current.thread.is_alive() and current.thread is not threading.current_thread():
                current.thread.join(2.0)

    def close(self) -> None:
        self.remove()

    def __enter__(self) -> VpcdEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- documents on disk ---------------------------------------------------------------------------------------


def document_chip(document: Any, **options: Any) -> Card:
    """The Chip for a factory Document (simulators.card.factory), with the document's secrets."""
    from edge.document.mrz import parse_mrz
    from simulators.card.chip import Chip

    curves = getattr(document, "pace_curves", ("P-256",))
    settings: dict[str, Any] = {
        "mrz_information": parse_mrz(document.mrz).key_information(),
        "can": document.can,
        "aa_private_key": document.aa_key,
        "pace": bool(curves),
        "pace_curve": curves[0] if curves else "P-256",
        "card_access": "CardAccess" in document.files,
    }
    if getattr(document, "ca_key", None) is not None:
        settings["ca_private_key"] = document.ca_key
    settings.update(options)
    try:
        return Chip(dict(document.files), **settings)
    except TypeError:
        settings.pop("ca_private_key", None)  # a chip without Chip Authentication support
        return Chip(dict(document.files), **settings)


def load_card(directory: str | os.PathLike[str], *, plain: bool = False, seed: str | None = None) -> tuple[Any, Card]:
    """(document, card) from a document directory; `plain` serves the files without access control, `seed`
    makes the chip replayable (the same random numbers after every reset)."""
    from simulators.card.factory import Document

    document = Document.load(directory)
    if plain:
        from simulators.card.plain_card import PlainCard

        return document, PlainCard(document.files)
    return document, document_chip(document, rng_seed=seed.encode() if seed is not None else None)


# --- control socket ----------------------------------------------------------------------------------------


class _Controller:
    """Text commands, one per line, answered with `ok ...` or `error ...`:

    insert DIR [FAULTS]   present the document in DIR (its MRZ first, on the MRZ pty if there is one)
    remove                take the card away
    status                `ok present|absent apdus=N`
    quit                  stop the emulator
    """

    def __init__(self, emulator: VpcdEmulator, mrz_out: Any, stop: threading.Event, plain: bool,
                 seed: str | None = None) -> None:
        self.emulator, self.mrz_out, self.stop, self.plain, self.seed = emulator, mrz_out, stop, plain, seed

    def present(self, directory: str, faults: Faults) -> None:
        document, card = load_card(directory, plain=self.plain, seed=self.seed)
        self.emulator.remove()
        if self.mrz_out is not None:
            self.mrz_out.send(document.mrz)
        self.emulator.insert(card, faults)

    def handle(self, line: str) -> str:
        words = line.split()
        if not words:
            return "error empty command"
        try:
            if words[0] == "insert" and len(words) in (2, 3):
                self.present(words[1], Faults.parse(words[2]) if len(words) == 3 else Faults())
                return "ok inserted"
            if words[0] == "remove":
                self.emulator.remove()
                return "ok removed"
            if words[0] == "status":
                state = "present" if self.emulator.present else "absent"
                return f"ok {state} apdus={self.emulator.apdu_count}"
            if words[0] == "quit":
                self.stop.set()
                return "ok quitting"
        except (ValueError, OSError) as exc:
            return f"error {exc}"
        return f"error unknown command {words[0]!r}"


def serve_control(path: str, controller: _Controller) -> socket.socket:
    """Listen on a Unix socket for controller commands (one client at a time, one thread)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def loop() -> None:
        while not controller.stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as stream:
                for line in stream:
                    stream.write(controller.handle(line.strip()) + "\n")
                    stream.flush()

    threading.Thread(target=loop, name="emulator-control", daemon=True).start()
    return server


def send_command(path: str, command: str, timeout: float = 10.0) -> str:
    """Send one command to a running emulator's control socket and return its answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.card.emulator",
        description="Serve a simulated document to pcscd's virtual reader (vpcd) until stopped.",
    )
    parser.add_argument("--document", metavar="DIR", help="document directory (echannel sim document --out DIR)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"vpcd port (default {DEFAULT_PORT})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--faults", default="", help="e.g. pull_after=5,delay_ms=20,wrong_mac_after=3")
    parser.add_argument("--plain", action="store_true", help="serve the files without access control (benchmark)")
    parser.add_argument("--seed", help="replayable chip: the same random numbers after every reset (benchmark)")
    parser.add_argument("--mrz-link", metavar="PATH", help="play the MRZ reader on a pty, symlinked here")
    parser.add_argument("--control", metavar="SOCKET", help="accept insert/remove/status/quit on this Unix socket")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    mrz_out = None
    if args.mrz_link:
        from simulators.card.mrz_pty import MrzPty

        mrz_out = MrzPty(link=args.mrz_link)
    emulator = VpcdEmulator(port=args.port, host=args.host)
    controller = _Controller(emulator, mrz_out, stop, args.plain, args.seed)
    server = serve_control(args.control, controller) if args.control else None
    try:
        if args.document:
            controller.present(args.document, Faults.parse(args.faults))
            log.info("card inserted into vpcd at %s:%d", args.host, args.port)
        while not stop.wait(0.5):
            pass
    except (ValueError, ConnectionError) as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    finally:
        emulator.close()
        if server is not None:
            server.close()
            with contextlib.suppress(OSError):
                os.unlink(args.control)
        if mrz_out is not None:
            mrz_out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
