"""The command line and the emulator as its own process, through the real pcscd: `echannel sim document`
issues a document, `echannel sim card` serves it (and plays the MRZ reader on a pty), and
`echannel document read` authenticates it and prints the checks, without personal data unless asked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.cli import main
from simulators.card.emulator import send_command
from simulators.card.pcscd import PcscDaemon
from simulators.processes import ChildProcess, wait_until

pytestmark = pytest.mark.card


@pytest.fixture
def card_process(pcscd: PcscDaemon, emulator, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """`echannel sim card` with a control socket and an MRZ pty, no document inserted yet."""
    control, mrz_link = tmp_path / "card.sock", tmp_path / "mrz"
    argv = [sys.executable, "-m", "edge.cli", "sim", "card", "--port", str(pcscd.port)]
    argv += ["--control", str(control), "--mrz-link", str(mrz_link)]
    child = ChildProcess(argv, name="sim-card", log_dir=tmp_path).start()
    try:
        wait_until(lambda: control.exists() and mrz_link.is_symlink(), timeout=10, what="emulator control socket")
        yield control, mrz_link
        assert send_command(str(control), "quit") == "ok quitting"
        assert child.process is not None and child.process.wait(10) == 0
    finally:
        child.stop()
        pcscd.wait_for_card(present=False)


def issue(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    assert main(["sim", "document", "--out", str(out), "--type", "td3", "--seed", name, *extra]) == 0
    assert (out / "document.json").exists() and list((out / "trust").iterdir())
    return out


def test_read_command_authenticates_a_document_scanned_and_served_by_the_emulator_process(
    pcscd: PcscDaemon, card_process: tuple[Path, Path], tmp_path: Path
) -> None:
    control, mrz_link = card_process
    document = issue(tmp_path, "genuine")
    argv = [
        sys.executable,
        "-m",
        "edge.cli",
        "document",
        "read",
        "--reader",
        pcscd.reader,
        "--mrz-port",
        str(mrz_link),
        "--trust",
        str(document / "trust"),
        "--json",
        "--timeout",
        "20",
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as reader:
        try:
            assert reader.stderr is not None and "waiting for a document" in reader.stderr.readline()
            assert send_command(str(control), f"insert {document}") == "ok inserted"  # MRZ first, then the chip
            out, err = reader.communicate(timeout=30)
        finally:
            reader.kill()
    assert reader.returncode == 0, err
    report = json.loads(out)
    assert report["accepted"] and report["reason"] == "ok" and report["document_type"] == "TD3"
    assert set(report["checks"].values()) <= {"successful", "not_supported"}
    assert "personal" not in report and (document / "mrz.txt").read_text().split()[0] not in out
    assert send_command(str(control), "status").startswith("ok present apdus=")
    assert send_command(str(control), "remove") == "ok removed"
    pcscd.wait_for_card(present=False)


def test_read_command_refuses_a_forgery_with_exit_status_1(
    pcscd: PcscDaemon, card_process: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    control, _ = card_process
    forged = issue(tmp_path, "forged", "--defect", "revoked_signer", "--algorithm", "rsa")
    assert send_command(str(control), f"insert {forged} delay_ms=1") == "ok inserted"
    pcscd.wait_for_card(present=True)
    status = main(
        [
            "document",
            "read",
            "--reader",
            pcscd.reader,
            "--mrz-file",
            str(forged / "mrz.txt"),
            "--trust",
            str(forged / "trust"),
            "--show-personal",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "REFUSED (signer_revoked)" in out and "signer_revocation        failed" in out
    assert "document_number" in out  # asked for with --show-personal
    assert send_command(str(control), "insert /no/such/dir").startswith("error ")


def test_card_rig_serves_the_simulated_gate(pcscd: PcscDaemon, emulator, tmp_path: Path) -> None:
    """What the simulated gate uses: the rig's settings and present/take_away, read by the adapter."""
    import queue

    from edge.config.schema import DocumentSettings  # via the schema: the settings module alone is circular
    from edge.document.reader import PcscDocumentReader
    from edge.gate.events import DocumentAuthenticated, DocumentPresented
    from simulators.card.emulator import Faults
    from simulators.card.rig import CardRig

    with CardRig(tmp_path / "rig", pcscd=pcscd) as rig:
        reader = PcscDocumentReader(DocumentSettings(**rig.document_settings()))  # type: ignore[arg-type]
        events: queue.Queue = queue.Queue()
        reader.start(events.put)
        reader.accept_documents(True)
        try:
            wait_until(lambda: reader.health().ok, timeout=5, what="adapter healthy")
            rig.present(issue(tmp_path, "rig-card"), Faults(delay_s=0.001))
            assert isinstance(events.get(timeout=10), DocumentPresented)
            assert isinstance(events.get(timeout=10), DocumentAuthenticated)
            rig.take_away()
        finally:
            reader.stop()
    assert not rig.control.exists() and rig.emulator is None


def test_sim_document_rejects_an_unknown_defect(tmp_path: Path) -> None:
    assert main(["sim", "document", "--out", str(tmp_path / "x"), "--defect", "forged_by_magic"]) == 2
