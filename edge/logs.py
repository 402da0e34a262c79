"""Structured logs: to the systemd journal with fields (TRANSACTION_ID, GATE_STATE, REASON_CODE, ...)
when running under systemd, else one line per record with key=value fields on stderr.

Pass fields with `extra={"fields": {"transaction_id": ..., "state": ..., "reason": ...}}`. Never pass
personal data: callers log codes, states and identifiers only.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

JOURNAL_SOCKET = "/run/systemd/journal/socket"
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalHandler(logging.Handler):
    """journald's native protocol: one datagram of FIELD=value lines (binary-safe form for newlines)."""

    def __init__(self, identifier: str = "echannel", path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.identifier = identifier
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "MESSAGE": self.format(record),
                "PRIORITY": str(_PRIORITY.get(record.levelno, 6)),
                "SYSLOG_IDENTIFIER": self.identifier,
                "LOGGER": record.name,
            }
            for key, value in getattr(record, "fields", {}).items():
                fields[key.upper()] = str(value)
            self._socket.sendto(_encode(fields), self.path)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._socket.close()
        super().close()


def _encode(fields: dict[str, str]) -> bytes:
    out = bytearray()
    for key, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def configure(level: str = "info", fmt: str = "journal") -> None:
    """Set up the root logger once. 'journal' falls back to text when no journal is reachable."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    use_journal = fmt == "journal" and "JOURNAL_STREAM" in os.environ and os.path.exists(JOURNAL_SOCKET)
    handler: logging.Handler
    if use_journal:
        handler = JournalHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
