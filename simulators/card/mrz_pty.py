"""Play an MRZ/OCR document reader on a pseudo-terminal, as the simulated gate's MRZ source.

Page and swipe readers present themselves as a serial port and send each MRZ line as text terminated by
CR LF. This opens a pty, makes its slave side raw (the reader adapter opens it with pyserial, like the real
device) and keeps it open so the line discipline never hangs up; `link` gives it a stable path.

    with MrzPty(link="/tmp/gate/mrz") as pty:      # configure [document] mrz_port = "/tmp/gate/mrz"
        pty.send(document.mrz)                       # a traveller lays the document on the reader
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class MrzPty:
    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing until the adapter configures it itself
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self._slave)
        self.link = Path(link) if link else None
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.port)

    @property
    def path(self) -> str:
        """What the reader adapter should open."""
        return str(self.link) if self.link else self.port

    def send(self, mrz: str, *, line_end: bytes = b"\r\n") -> None:
        """Send the MRZ lines as a page reader does: each line then CR LF."""
        payload = b"".join(line.strip().encode("ascii") + line_end for line in mrz.strip().splitlines())
        self.send_raw(payload)

    def send_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                self.drain()
                continue
            view = view[written:]

    def drain(self) -> bytes:
        """Whatever the adapter wrote towards the reader (nothing, normally)."""
        chunks = []
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self.master, 4096):
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self.link is not None:
            with contextlib.suppress(OSError):
                if self.link.is_symlink():
                    self.link.unlink()
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> MrzPty:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
