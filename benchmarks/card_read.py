"""Time a full document read through the real PC/SC stack, and the same APDU exchanges sent raw.

    .venv/bin/python benchmarks/card_read.py [--reads 20] [--dg2-kb 17]

Starts its own pcscd (generated reader.conf, free port) and the card emulator as a separate process
(`python -m simulators.card.emulator`), issues a TD3 passport with a 15-20 KB DG2, then for BAC and PACE:
- full read: connect, the terminal core's `read_document` (EF.CardAccess, access control, EF.COM, EF.SOD,
  DG14, DG1, DG2, DG15, Active Authentication, every check), disconnect;
- replay: the same APDU exchanges sent raw: the protected command bytes the full read put on the wire,
  recorded from it and sent again as they are to the same chip, which answers them as before (it is
  replayable: `--seed`, the same random numbers after every reset). The terminal does nothing between
  exchanges (no secure messaging, no parsing, no checks); the chip does its own work, as a real one would.
  Every replayed answer must carry the recorded status word, or the run fails.
- transport only: the plain commands the full read wrapped in secure messaging, sent in the clear to an
  emulator serving the same files with no access control (simulators.card.plain_card): neither end does
  any cryptography.
Full read / replay is the goal's ratio: what the terminal software adds to the card's own exchanges.
Beside it, the least work any terminal must do for the same read, each part timed alone with the libraries'
own calls (benchmarks/card_floor.py), and the best ratio that floor leaves on this machine.
Timed from connect to the last answer (the disconnect, a card reset that readies the replay, is not timed).
Prints medians and minima over `--reads` runs of each, the APDU count, and the machine. Needs pcscd and
vsmartcard-vpcd, and no other pcscd running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from smartcard import scard

from edge.document import session
from edge.document.mrz import parse_mrz
from edge.document.pcsc import PcscContext
from edge.document.session import ReadOptions, read_document
from edge.document.trust import TrustStore
from simulators.card.factory import TestPKI, issue_document
from simulators.card.pcscd import PcscDaemon
from simulators.processes import ChildProcess

try:
    from benchmarks.card_floor import best_ratio, floor_ms
except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
    from card_floor import best_ratio, floor_ms  # type: ignore[no-redef]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def record_plain_commands(into: list[bytes]) -> Callable[[], None]:
    """Record every command the session sends, before secure messaging wraps it (benchmark-only hook)."""
    original = session._Link.send

    def send(self, command):  # type: ignore[no-untyped-def]
        into.append(command.encode())
        return original(self, command)

    session._Link.send = send  # type: ignore[method-assign]

    def undo() -> None:
        session._Link.send = original  # type: ignore[method-assign]

    return undo


class Emulator:
    """The card emulator as its own process, like the simulated gate runs it."""

    def __init__(self, pcscd: PcscDaemon, directory: Path, log_dir: str, *, plain: bool = False,
                 seed: str | None = None) -> None:
        argv = [sys.executable, "-m", "simulators.card.emulator", "--document", str(directory)]
        argv += ["--port", str(pcscd.port)] + (["--plain"] if plain else []) + (["--seed", seed] if seed else [])
        self.pcscd = pcscd
        self.child = ChildProcess(argv, name="card-emulator", log_dir=log_dir, cwd=Path(__file__).parent.parent)

    def __enter__(self) -> Emulator:
        self.child.start()
        self.pcscd.wait_for_card(present=True, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.child.stop()
        self.pcscd.wait_for_card(present=False, timeout=10)


def recorder(transmit: Callable[[bytes], bytes], into: list[tuple[bytes, bytes]]) -> Callable[[bytes], bytes]:
    """`transmit`, keeping every (command, answer) pair as it went over the wire."""

    def recording(command: bytes) -> bytes:
        answer = transmit(command)
        into.append((bytes(command), answer))
        return answer

    return recording


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   min {min(values):7.1f} ms   max {max(values):7.1f} ms"


VARIANTS = (("bac", "auto"), ("pace", "auto"), ("bac", "never"))


def measure(reads: int = 20, dg2_kb: float = 17.0, variants=VARIANTS) -> dict:
    """Time full reads and their raw exchanges for each (protocol, extended_length) variant.

    Starts (and stops) its own pcscd and card emulator: no other pcscd may run meanwhile."""
    work = Path(tempfile.mkdtemp(prefix="card-bench-"))
    pki = TestPKI(seed="bench")
    trust = TrustStore.load(pki.write_trust_store(work / "trust"))
    document = issue_document(pki, kind="TD3", seed="bench", portrait_max_bytes=int(dg2_kb * 1000))
    document.save(work / "document")
    mrz = parse_mrz(document.mrz)
    now = dt.datetime.now(dt.UTC)
    result: dict = {
        "reads": reads,
        "dg2_bytes": len(document.files["DG2"]),
        "sod_bytes": len(document.files["SOD"]),
        "variants": [],
    }
    with PcscDaemon(log_dir=str(work)) as pcscd, PcscContext() as context:
        for protocol, extended in variants:
            options = ReadOptions(preferred_protocol=protocol, extended_length=extended)
            commands: list[bytes] = []
            wire: list[tuple[bytes, bytes]] = []  # (protected command, answer) of the recorded read
            full, core_ms, replay, apdus = [], [], [], 0
            with Emulator(pcscd, work / "document", str(work), seed="card-read-benchmark"):
                for run in range(reads + 1):
                    recording = run == reads
                    undo = record_plain_commands(commands) if recording else (lambda: None)
                    started = time.perf_counter()
                    card = context.connect(pcscd.reader)
                    transmit = recorder(card.transmit, wire) if recording else card.transmit
                    try:
                        read = read_document(transmit, mrz, options, trust, now)
                        elapsed = (time.perf_counter() - started) * 1000
                    finally:
                        card.disconnect(scard.SCARD_RESET_CARD)  # the chip starts afresh: replayable
                        undo()
                    verdict = read.verdict()
                    if not verdict.accepted:
                        raise RuntimeError(f"read failed: {verdict.reason}")
                    if run:
                        full.append(elapsed)
                        core_ms.append(read.read_ms)
                    apdus = read.apdu_count
                for run in range(reads + 1):
                    started = time.perf_counter()
                    card = context.connect(pcscd.reader)
                    try:
                        for number, (command, answer) in enumerate(wire, 1):
                            if card.transmit(command)[-2:] != answer[-2:]:
                                raise RuntimeError(f"replay: APDU {number} of {len(wire)} not answered as recorded")
                        elapsed = (time.perf_counter() - started) * 1000
                    finally:
                        card.disconnect(scard.SCARD_RESET_CARD)
                    if run:
                        replay.append(elapsed)

            raw = []
            with Emulator(pcscd, work / "document", str(work), plain=True):
                for run in range(reads + 1):
                    started = time.perf_counter()
                    card = context.connect(pcscd.reader)
                    try:
                        for command in commands:
                            card.transmit(command)
                        elapsed = (time.perf_counter() - started) * 1000
                    finally:
                        card.disconnect()
                    if run:
                        raw.append(elapsed)
            result["variants"].append(
                {
                    "label": f"{protocol.upper()}, {'extended length' if extended == 'auto' else 'short APDUs'}",
                    "protocol": protocol,
                    "extended_length": extended,
                    "apdus": apdus,
                    "replayed": len(commands),
                    "full_ms": full,
                    "core_ms": core_ms,
                    "replay_ms": replay,
                    "raw_ms": raw,
                    "steps_ms": {k: v for k, v in read.timings_ms.items() if k != "total"},
                    "floor_ms": floor_ms(protocol, wire, document.files, document.aa_key),
                }
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20, help="timed runs of each kind (default 20)")
    parser.add_argument("--dg2-kb", type=float, default=17.0, help="portrait size in KB (default 17)")
    args = parser.parse_args(argv)

    python = platform.python_version()
    print(f"machine: {platform.platform()} | {cpu_model()} | {os.cpu_count()} cores | Python {python}")
    try:
        result = measure(args.reads, args.dg2_kb)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"document: TD3, DG2 {result['dg2_bytes']} bytes, EF.SOD {result['sod_bytes']} bytes, "
        f"AA ECDSA P-256, {args.reads} timed runs each after one warm-up"
    )
    for v in result["variants"]:
        full, replay, raw = v["full_ms"], v["replay_ms"], v["raw_ms"]
        ratio = statistics.median(full) / statistics.median(replay)
        verdict = "met" if ratio <= 1.3 and statistics.median(full) <= 150 else "NOT met"
        print(f"\n{v['label']}: {v['apdus']} APDUs ({v['replayed']} replayed raw)")
        print(f"  full read (connect + read_document):                 {summary(full)}")
        print(f"  of which read_document (its own clock):              {summary(v['core_ms'])}")
        print(f"  same exchanges raw (wire bytes replayed, chip works): {summary(replay)}")
        print(f"  transport only (plain commands, no crypto either end): {summary(raw)}")
        print(f"  full / replay (medians): {ratio:.2f}x   goal: full <= 150 ms and <= 1.3x raw: {verdict}")
        print(f"  full / transport only: {statistics.median(full) / statistics.median(raw):.2f}x")
        floor = v["floor_ms"]
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in floor.items())
        print(f"  least terminal work (library calls alone): {sum(floor.values()):.2f} ms ({parts})")
        replay_ms = statistics.median(replay)
        print(f"  best full / replay that leaves: {best_ratio(replay_ms, floor):.2f}x;"
              f" terminal now {statistics.median(full) - replay_ms:.1f} ms")
        timings = ", ".join(f"{k} {ms:.1f}" for k, ms in v["steps_ms"].items())
        print(f"  last read, ms per step: {timings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
