"""The simulated document station of a gate: our pcscd with a vpcd reader, the card emulator as its own
process, and the OCR page reader on a pseudo-terminal. For the simulated gate and end-to-end tests.

    with CardRig(work_dir) as rig:
        config["document"] |= rig.document_settings()     # reader name, MRZ port, trust store
        rig.present(document_dir)                          # the traveller lays the passport on the reader
        ...                                                # the daemon reads it through the real pcscd
        rig.take_away()                                    # waits until pcscd reports the reader empty

Documents come from `echannel sim document` (or simulators.card.factory) and should share the rig's PKI
seed so the rig's trust store covers them; `trust_store` is written from `pki_seed` at start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simulators.card.emulator import Faults, send_command
from simulators.card.pcscd import PcscDaemon
from simulators.card.pki import TestPKI
from simulators.processes import ChildProcess, wait_until


class RigError(RuntimeError):
    pass


class CardRig:
    def __init__(
        self,
        work_dir: str | Path,
        *,
        pki_seed: str | int = "1",
        algorithm: str = "ecdsa",
        pcscd: PcscDaemon | None = None,
    ) -> None:
        """`pcscd`: a running harness to use (and leave running); by default the rig starts its own."""
        self.work_dir = Path(work_dir)
        self.pki_seed = pki_seed
        self.algorithm = algorithm
        self._own_pcscd = pcscd is None
        self.pcscd = pcscd or PcscDaemon(log_dir=str(self.work_dir / "logs"))
        self.control = self.work_dir / "card-emulator.sock"
        self.mrz_link = self.work_dir / "mrz-reader"
        self.trust_store = self.work_dir / "trust"
        self.emulator: ChildProcess | None = None

    def start(self) -> CardRig:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        TestPKI(seed=self.pki_seed, algorithm=self.algorithm).write_trust_store(self.trust_store)  # type: ignore[arg-type]
        if self._own_pcscd:
            self.pcscd.start()
        argv = [sys.executable, "-m", "simulators.card.emulator", "--port", str(self.pcscd.port)]
        argv += ["--control", str(self.control), "--mrz-link", str(self.mrz_link)]
        self.emulator = ChildProcess(argv, name="card-emulator", log_dir=self.work_dir / "logs").start()
        try:
            wait_until(lambda: self._ready(), timeout=10, what="card emulator control socket")
        except TimeoutError:
            tail = self.emulator.log_tail()
            self.stop()
            raise RigError(f"card emulator did not start:\n{tail}") from None
        return self

    def _ready(self) -> bool:
        if self.emulator is not None and not self.emulator.alive():
            raise RigError(f"card emulator exited:\n{self.emulator.log_tail()}")
        return self.control.exists() and self.mrz_link.is_symlink()

    @property
    def reader(self) -> str:
        return self.pcscd.reader

    def document_settings(self) -> dict[str, object]:
        """The [document] keys a gate configuration needs to use this rig."""
        return {"reader": self.reader, "mrz_port": str(self.mrz_link), "trust_store": str(self.trust_store)}

    def command(self, text: str) -> str:
        answer = send_command(str(self.control), text)
        if not answer.startswith("ok"):
            raise RigError(f"card emulator: {answer}")
        return answer

    def present(self, document_dir: str | Path, faults: Faults | str = "", *, wait: bool = True) -> None:
        """Scan the document's MRZ, then put its chip on the reader (and wait until pcscd sees it)."""
        spec = faults if isinstance(faults, str) else _spec(faults)
        self.take_away()
        self.command(f"insert {document_dir}" + (f" {spec}" if spec else ""))
        if wait:
            self.pcscd.wait_for_card(present=True, timeout=10)

    def take_away(self) -> None:
        self.command("remove")
        self.pcscd.wait_for_card(present=False, timeout=10)

    def stop(self) -> None:
        if self.emulator is not None:
            if self.emulator.alive() and self.control.exists():
                try:
                    send_command(str(self.control), "quit", timeout=2)
                    self.emulator.process.wait(5)  # type: ignore[union-attr]
                except Exception:  # a stuck emulator is stopped by PID below
                    pass
            self.emulator.stop()
            self.emulator = None
        if self._own_pcscd:
            self.pcscd.stop()

    def __enter__(self) -> CardRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spec(faults: Faults) -> str:
    parts = []
    if faults.pull_after is not None:
        parts.append(f"pull_after={faults.pull_after}")
    if faults.delay_s:
        parts.append(f"delay_ms={faults.delay_s * 1000:g}")
    if faults.wrong_mac_after is not None:
        parts.append(f"wrong_mac_after={faults.wrong_mac_after}")
    if faults.truncate_after is not None:
        parts.append(f"truncate_after={faults.truncate_after}")
    return ",".join(parts)
