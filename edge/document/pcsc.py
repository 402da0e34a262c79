"""PC/SC reader states through pyscard's SCardGetStatusChange: wait for a card without polling.

    with PcscContext() as pcsc:
        reader = pcsc.find_reader("vpcd")                       # substring of the reader name
        state = pcsc.wait_for(reader, present=True, timeout=5)   # blocks in pcscd, no sleep loop
        transmit = pcsc.connect(reader)

`cancel()` (thread-safe) wakes a thread blocked in `wait_change`, which is how the adapter stops its
worker. Errors become `PcscError` (with the PC/SC code) or `NoService` when pcscd is not running.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from smartcard import scard

from edge.document.errors import TransportError

Transmit = Callable[[bytes], bytes]

_INFINITE_WAIT_MS = 0xFFFFFFFF


class PcscError(TransportError):
    def __init__(self, code: int, what: str) -> None:
        self.code = code & 0xFFFFFFFF
        super().__init__(f"{what}: {scard.SCardGetErrorMessage(code)} (0x{self.code:08X})")


class NoService(PcscError):
    """pcscd is not running (or not answering)."""


class Cancelled(PcscError):
    """`cancel()` interrupted the wait."""


def _check(code: int, what: str) -> None:
    if code == scard.SCARD_S_SUCCESS:
        return
    if code == scard.SCARD_E_NO_SERVICE or code == scard.SCARD_E_SERVICE_STOPPED:
        raise NoService(code, what)
    if code == scard.SCARD_E_CANCELLED:
        raise Cancelled(code, what)
    raise PcscError(code, what)


@dataclass(frozen=True)
class ReaderState:
    reader: str
    flags: int  # SCARD_STATE_* as pcscd reported them
    atr: bytes = b""

    @property
    def present(self) -> bool:
        """A card is in the field and answered with an ATR (a mute card does not count)."""
        return bool(self.flags & scard.SCARD_STATE_PRESENT) and not self.flags & scard.SCARD_STATE_MUTE

    @property
    def empty(self) -> bool:
        """No card at all (a mute card is still a card: it has to leave before the next one counts)."""
        return not self.flags & scard.SCARD_STATE_PRESENT

    @property
    def known(self) -> bool:
        return not self.flags & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE)


class PcscContext:
    """One PC/SC context. Not shared between threads except for `cancel()`."""

    def __init__(self) -> None:
        code, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(code, "SCardEstablishContext")
        self._lock = threading.Lock()
        self._closed = False

    def readers(self) -> list[str]:
        code, names = scard.SCardListReaders(self.handle, [])
        if code == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check(code, "SCardListReaders")
        return list(names)

    def find_reader(self, pattern: str = "") -> str | None:
        """The first reader whose name contains `pattern` (any reader when empty)."""
        return next((name for name in self.readers() if pattern in name), None)

    def state(self, reader: str) -> ReaderState:
        return self.wait_change(reader, scard.SCARD_STATE_UNAWARE, 0) or ReaderState(reader, 0)

    def wait_change(self, reader: str, known_flags: int, timeout_ms: int) -> ReaderState | None:
        """Block until the reader's state differs from `known_flags` (None on timeout)."""
        known = known_flags & ~scard.SCARD_STATE_CHANGED
        code, states = scard.SCardGetStatusChange(self.handle, timeout_ms, [(reader, known)])
        if code == scard.SCARD_E_TIMEOUT:
            return None
        _check(code, "SCardGetStatusChange")
        name, flags, atr = states[0]
        return ReaderState(name, flags & ~scard.SCARD_STATE_CHANGED, bytes(atr or b""))

    def wait_for(self, reader: str, *, present: bool, timeout: float) -> ReaderState:
        """Wait until a card is (or is no longer) in `reader`; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        state = self.state(reader)
        while not (state.present if present else state.empty):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                wanted = "PRESENT" if present else "ABSENT"
                raise TimeoutError(f"reader {reader!r} not {wanted} after {timeout:.1f} s (flags 0x{state.flags:X})")
            changed = self.wait_change(reader, state.flags, max(1, int(remaining * 1000)))
            if changed is not None:
                state = changed
        return state

    def connect(self, reader: str) -> Card:
        code, card, protocol = scard.SCardConnect(
            self.handle, reader, scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        _check(code, "SCardConnect")
        return Card(card, protocol)

    def cancel(self) -> None:
        """Wake a `wait_change` blocked in another thread (it raises Cancelled)."""
        with self._lock:
            if not self._closed:
                scard.SCardCancel(self.handle)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Exception):
            scard.SCardReleaseContext(self.handle)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Card:
    """A connected card: `transmit(apdu) -> response` (data + SW1 SW2) as bytes, counting exchanges."""

    def __init__(self, handle: int, protocol: int) -> None:
        self.handle = handle
        self.protocol = protocol
        self.exchanges = 0
        self._pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0

    def transmit(self, apdu: bytes) -> bytes:
        self.exchanges += 1
        code, response = scard.SCardTransmit(self.handle, self._pci, list(apdu))
        _check(code, "SCardTransmit")
        if len(response) < 2:  # vpcd's answer when the card left mid-command
            raise TransportError("the card answered without a status word (removed?)")
        return bytes(response)

    def disconnect(self, disposition: int = scard.SCARD_LEAVE_CARD) -> None:
        """Release the card. LEAVE, not RESET: resetting a card that has just been pulled fails and leaves
        pcscd reporting the reader EMPTY before it has seen the removal, so the next card goes unnoticed."""
        with contextlib.suppress(Exception):
            scard.SCardDisconnect(self.handle, disposition)

    def __enter__(self) -> Card:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()


def service_available() -> bool:
    """Whether pcscd answers (SCardEstablishContext + SCardListReaders succeed)."""
    try:
        with PcscContext() as context:
            context.readers()
        return True
    except PcscError:
        return False
