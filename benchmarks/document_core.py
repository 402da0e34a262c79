"""Cost of the document core alone (no PC/SC): a full reading against the in-process simulated chip, with the
chip's own time taken out, so what remains is the terminal: secure messaging, BAC / PACE, parsing, portrait
decoding and every check.

    .venv/bin/python benchmarks/document_core.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from edge.document.mrz import parse_mrz
from edge.document.session import ReadOptions, read_document
from edge.document.trust import TrustStore
from simulators.card.chip import Chip
from simulators.card.factory import TestPKI, issue_document


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.platform()} | {cpu} | {os.cpu_count()} cores | Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    import tempfile

    pki = TestPKI(seed=1)
    document = issue_document(pki, kind="TD3", seed="bench", portrait_max_bytes=17_000)
    trust = TrustStore.load(pki.write_trust_store(tempfile.mkdtemp()))
    mrz = parse_mrz(document.mrz)
    print(machine())
    print(f"DG2 {len(document.files['DG2'])} bytes, EF.SOD {len(document.files['SOD'])} bytes, {args.runs} runs each")
    for protocol in ("bac", "pace"):
        for extended in (False, True):
            totals, chip_times, apdus = [], [], 0
            for _ in range(args.runs):
                chip = Chip(document.files, mrz_information=mrz.key_information(), aa_private_key=document.aa_key,
                            extended_length=extended)
                spent = [0.0]

                def transmit(apdu: bytes, chip=chip, spent=spent) -> bytes:
                    start = time.perf_counter()
                    response = chip.process(apdu)
                    spent[0] += time.perf_counter() - start
                    return response

                start = time.perf_counter()
                result = read_document(transmit, mrz, ReadOptions(preferred_protocol=protocol), trust, pki.now)
                totals.append((time.perf_counter() - start) * 1000)
                chip_times.append(spent[0] * 1000)
                apdus = result.apdu_count
                assert result.verdict().accepted, result.verdict()
            terminal = [t - c for t, c in zip(totals, chip_times, strict=True)]
            print(f"{protocol.upper():4} {'extended' if extended else 'short   '} reads: {apdus:3d} APDUs | "
                  f"terminal core median {statistics.median(terminal):6.1f} ms "
                  f"(p90 {sorted(terminal)[int(0.9 * len(terminal))]:6.1f}) | "
                  f"simulated chip {statistics.median(chip_times):6.1f} ms")


if __name__ == "__main__":
    main()
