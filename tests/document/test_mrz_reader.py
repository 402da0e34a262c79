"""The MRZ source: MRZ lines as an OCR page reader sends them, over a real pseudo-terminal."""

from __future__ import annotations

import time

import pytest

from edge.document.mrz_reader import MrzAssembler, SerialMrzReader
from simulators.card.mrz_pty import MrzPty

TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"


@pytest.mark.parametrize("end", [b"\r\n", b"\r", b"\n"])
@pytest.mark.parametrize("text", [TD1, TD3])
def test_lines_with_any_terminator_make_one_mrz(text: str, end: bytes) -> None:
    found = MrzAssembler().feed(b"".join(line.encode() + end for line in text.splitlines()))
    assert [m.lines for m in found] == [tuple(text.splitlines())]


def test_bytes_may_arrive_in_any_pieces_with_framing_and_blanks() -> None:
    assembler = MrzAssembler()
    stream = b"\x02" + b"\r\n".join(b" " + line.encode() + b" " for line in TD3.splitlines()) + b"\r\n\x03"
    found = []
    for i in range(len(stream)):
        found += assembler.feed(stream[i : i + 1])
    assert len(found) == 1 and found[0].document_number == "L898902C3" and found[0].check_digits_ok


def test_noise_between_documents_is_ignored_and_both_documents_found() -> None:
    assembler = MrzAssembler()
    noise = b"READER READY\r\n\xff\xfe garbage\r\n"
    found = assembler.feed(noise + TD1.replace("\n", "\r\n").encode() + b"\r\n" + noise + TD3.encode() + b"\n")
    assert [m.kind for m in found] == ["TD1", "TD3"]
    assert assembler.rejected_lines == 0  # noise outside an MRZ is not an error


def test_a_line_of_the_wrong_shape_resets_the_window() -> None:
    td1 = TD1.splitlines()
    assembler = MrzAssembler()
    assert assembler.feed((td1[0] + "\n" + "SHORT<LINE\n" + td1[1] + "\n" + td1[2] + "\n").encode()) == []
    assert assembler.rejected_lines == 1
    assert len(assembler.feed(TD1.encode() + b"\n")) == 1


def test_endless_bytes_without_line_breaks_are_dropped() -> None:
    assembler = MrzAssembler()
    assert assembler.feed(b"<" * 10_000) == []
    assert len(assembler.feed(b"\n" + TD3.encode() + b"\n")) == 1


def test_serial_reader_over_a_pty_waits_for_the_scan_and_forgets_it() -> None:
    with MrzPty() as pty, SerialMrzReader(pty.path) as reader:
        _wait_connected(reader)
        before = time.monotonic()
        assert reader.wait_for_scan(since=before, timeout=0.05) is None
        pty.send(TD3)
        mrz = reader.wait_for_scan(since=before, timeout=5)
        assert mrz is not None and mrz.kind == "TD3" and reader.scans == 1
        assert reader.latest(since=time.monotonic() + 1) is None  # older than asked for
        reader.forget()
        assert reader.latest() is None
        assert "ERIKSSON" not in repr(mrz)


def test_serial_reader_reports_a_missing_port_and_keeps_trying(tmp_path) -> None:
    reader = SerialMrzReader(str(tmp_path / "no-such-tty"), reopen_interval_s=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while not reader.last_error and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not reader.connected and reader.last_error
    finally:
        reader.stop()


def _wait_connected(reader: SerialMrzReader) -> None:
    deadline = time.monotonic() + 5
    while not reader.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.connected
