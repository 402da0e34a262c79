"""Document subcommands: read a card on the reader, and the simulators that issue and serve test documents.

    echannel document read [--config FILE] [--mrz-file F | --mrz-port PORT | --can N] [--trust DIR] [--json]
    echannel sim document --out DIR --type td1|td3 [--face IMAGE] [--defect NAME]
    echannel sim card --document DIR [--port N] [--mrz-link PATH] [--faults SPEC] [--control SOCKET]

`document read` prints check results and reason codes; personal fields only with --show-personal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from edge.cli import command_group

DEFECT_HELP = (
    "tampered_dg1, tampered_dg2, bad_sod_signature, unknown_csca, revoked_signer, expired_signer, "
    "signer_not_yet_valid, expired_document, cloned_chip"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    document = command_group(subparsers, "document", help="identity documents", description="Identity documents.")
    read = document.add_parser(
        "read",
        help="read and authenticate the card on the reader",
        description="Wait for a card on the PC/SC reader, read it (BAC or PACE), run every check and print the "
        "results. Exit status 0 when the document would be accepted, 1 when refused.",
    )
    read.add_argument("--config", metavar="FILE", help="gate configuration (its [document] section)")
    read.add_argument("--reader", metavar="PATTERN", help="reader name substring (default: from the config)")
    key = read.add_mutually_exclusive_group()
    key.add_argument("--mrz-file", metavar="F", help="a text file with the MRZ lines")
    key.add_argument("--mrz-port", metavar="PORT", help="wait for a scan from the MRZ reader on this serial port")
    key.add_argument("--can", metavar="N", help="the card access number (PACE)")
    read.add_argument("--trust", metavar="DIR", help="trust store directory (default: from the config)")
    read.add_argument("--protocol", choices=("pace", "bac"), help="preferred access control (default: config)")
    read.add_argument("--timeout", type=float, default=30.0, metavar="S", help="wait this long for a card")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.add_argument("--show-personal", action="store_true", help="also print the MRZ fields read from DG1")
    read.set_defaults(handler=_read)

    sim = command_group(subparsers, "sim", help="simulators", description="Simulated devices for tests and demos.")
    issue = sim.add_parser(
        "document",
        help="issue a test document (data groups, EF.SOD, MRZ, trust store)",
        description="Write a test identity card or passport, signed by the test PKI, into DIR; its trust store "
        "goes to DIR/trust.",
    )
    issue.add_argument("--out", required=True, metavar="DIR")
    issue.add_argument("--type", choices=("td1", "td3"), default="td1", help="TD1 identity card or TD3 passport")
    issue.add_argument("--face", metavar="IMAGE", help="portrait image (any format OpenCV reads; default: drawn)")
    issue.add_argument("--defect", metavar="NAME", help=f"a forged variant: {DEFECT_HELP}")
    issue.add_argument("--seed", default=None, help="document seed (default: random)")
    issue.add_argument("--pki-seed", default="1", help="test PKI seed (same seed, same CSCA; default 1)")
    issue.add_argument("--algorithm", choices=("ecdsa", "rsa"), default="ecdsa", help="CSCA/DS signatures")
    issue.add_argument("--aa", choices=("ecdsa", "rsa", "none"), default="ecdsa", help="Active Authentication key")
    issue.add_argument("--chip-authentication", action="store_true", help="offer Chip Authentication (DG14)")
    issue.add_argument(
        "--pace-curve",
        action="append",
        choices=("P-256", "brainpoolP256r1"),
        help="PACE domain parameters in EF.CardAccess (repeatable; default P-256)",
    )
    issue.add_argument("--no-pace", action="store_true", help="a BAC-only chip (no EF.CardAccess)")
    issue.add_argument("--dg2-kb", type=float, default=17.0, help="portrait size budget in KB (default 17)")
    issue.add_argument("--jpeg2000", action="store_true", help="store the portrait as JPEG 2000")
    issue.set_defaults(handler=_sim_document)

    card = sim.add_parser(
        "card",
        help="serve a document to the virtual reader until stopped",
        description="Insert the document's chip into pcscd's vpcd reader (and play its MRZ on a pty).",
    )
    card.add_argument("--document", metavar="DIR", help="a directory written by `echannel sim document`")
    card.add_argument("--port", type=int, default=35963, help="vpcd port (default 35963)")
    card.add_argument("--mrz-link", metavar="PATH", help="play the MRZ reader on a pty, symlinked here")
    card.add_argument("--faults", default="", metavar="SPEC", help="e.g. pull_after=5,delay_ms=20")
    card.add_argument("--control", metavar="SOCKET", help="accept insert/remove/status/quit on this socket")
    card.set_defaults(handler=_sim_card)


# --- echannel document read -------------------------------------------------------------------------------------


def _read(args: argparse.Namespace) -> int:
    import datetime as dt
    import time

    from edge.config import ConfigError, load_config
    from edge.config.schema import DocumentSettings  # via the schema: the settings module alone is circular
    from edge.document.errors import DocumentError
    from edge.document.mrz import CAN, parse_mrz
    from edge.document.mrz_reader import SerialMrzReader
    from edge.document.pcsc import PcscContext, PcscError
    from edge.document.reader import load_trust_store, read_options
    from edge.document.session import read_document

    try:
        settings = load_config(args.config).document if args.config else DocumentSettings()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 2
    options = read_options(settings)
    if args.protocol:
        from dataclasses import replace

        options = replace(options, preferred_protocol=args.protocol)
    try:
        trust = load_trust_store(args.trust if args.trust is not None else settings.trust_store)
        if args.can:
            key: Any = CAN(args.can)
        elif args.mrz_file:
            key = parse_mrz(Path(args.mrz_file).read_text())
        else:
            key = None
    except (OSError, DocumentError) as exc:
        print(f"echannel document read: {exc}", file=sys.stderr)
        return 2
    pattern = args.reader if args.reader is not None else settings.reader
    port = args.mrz_port or (settings.mrz_port if key is None else "")
    if key is None and not port:
        print("echannel document read: give --mrz-file, --mrz-port or --can", file=sys.stderr)
        return 2
    # The MRZ reader listens before the card is awaited: the page is usually scanned first.
    mrz_reader = SerialMrzReader(port, settings.mrz_baudrate).start() if key is None else None
    started = time.monotonic()
    try:
        with PcscContext() as context:
            reader = context.find_reader(pattern)
            if reader is None:
                print(f"echannel document read: no PC/SC reader matching {pattern!r}", file=sys.stderr)
                return 2
            if mrz_reader is not None:
                deadline = time.monotonic() + 5
                while not (mrz_reader.connected or mrz_reader.last_error) and time.monotonic() < deadline:
                    time.sleep(0.01)  # the port opens in the reader's thread: a few ms
                if not mrz_reader.connected:
                    print(f"echannel document read: cannot open {port}", file=sys.stderr)
                    return 2
            print(f"waiting for a document on {reader!r} ...", file=sys.stderr, flush=True)
            context.wait_for(reader, present=True, timeout=args.timeout)
            if mrz_reader is not None:
                key = mrz_reader.wait_for_scan(since=started, timeout=max(settings.mrz_wait_s, 1.0))
                if key is None:
                    print("echannel document read: no MRZ scanned", file=sys.stderr)
                    return 2
            card = context.connect(reader)
            try:
                result = read_document(card.transmit, key, options, trust, dt.datetime.now(dt.UTC))
            finally:
                card.disconnect()
    except (TimeoutError, PcscError) as exc:
        print(f"echannel document read: {exc}", file=sys.stderr)
        return 2
    finally:
        if mrz_reader is not None:
            mrz_reader.stop()
    verdict = result.verdict(settings.require_chip_authentication)
    report: dict[str, Any] = {
        "accepted": verdict.accepted,
        "reason": verdict.reason,
        "retryable": verdict.retryable,
        "protocol": result.protocol,
        "document_type": result.document_type,
        "checks": {name: value.value for name, value in result.event_checks()},
        "details": dict(result.details),
        "data_groups_read": list(result.data_groups_read),
        "apdu_count": result.apdu_count,
        "read_ms": round(result.read_ms, 1),
        "portrait": None if result.portrait is None else f"{result.portrait_format} {result.portrait.shape}",
    }
    if args.show_personal and result.mrz is not None:
        mrz = result.mrz
        report["personal"] = {
            "document_number": mrz.document_number,
            "primary_identifier": mrz.primary_identifier,
            "secondary_identifier": mrz.secondary_identifier,
            "nationality": mrz.nationality,
            "date_of_birth": mrz.date_of_birth,
            "date_of_expiry": mrz.date_of_expiry,
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        outcome = "ACCEPTED" if verdict.accepted else f"REFUSED ({verdict.reason})"
        print(
            f"{outcome}: {result.document_type or '?'} via {result.protocol or '-'}, "
            f"{result.apdu_count} APDUs, {result.read_ms:.0f} ms"
        )
        for name, value in report["checks"].items():
            detail = f"  [{result.details[name]}]" if name in result.details else ""
            print(f"  {name:24} {value}{detail}")
        for name, value in report.get("personal", {}).items():
            print(f"  {name:24} {value}")
    return 0 if verdict.accepted else 1


# --- echannel sim document / sim card -------------------------------------------------------------------------


def _sim_document(args: argparse.Namespace) -> int:
    from simulators.card.factory import DEFECTS, TestPKI, issue_document

    if args.defect and args.defect not in DEFECTS:
        print(f"echannel sim document: unknown defect {args.defect!r}; one of {DEFECT_HELP}", file=sys.stderr)
        return 2
    portrait: Any = None
    if args.face:
        try:
            portrait = _load_face(Path(args.face))
        except (OSError, ValueError) as exc:
            print(f"echannel sim document: {exc}", file=sys.stderr)
            return 2
    seed = args.seed if args.seed is not None else os.urandom(6).hex()
    pki = TestPKI(seed=args.pki_seed, algorithm=args.algorithm)
    document = issue_document(
        pki,
        kind=args.type.upper(),
        seed=seed,
        portrait=portrait,
        portrait_format="jp2" if args.jpeg2000 else "jpeg",
        portrait_max_bytes=int(args.dg2_kb * 1000),
        active_authentication=None if args.aa == "none" else args.aa,
        chip_authentication=args.chip_authentication,
        pace_curves=() if args.no_pace else tuple(args.pace_curve or ("P-256",)),
        defect=args.defect,
    )
    out = Path(args.out)
    document.save(out)
    pki.write_trust_store(out / "trust")
    print(
        f"{out}: {document.kind}{' ' + document.defect if document.defect else ''}, seed {seed}, "
        f"DG2 {len(document.files['DG2'])} bytes; MRZ in {out / 'mrz.txt'}, trust store in {out / 'trust'}"
    )
    return 0


def _load_face(path: Path) -> Any:
    """The face image as a BGR array (the factory encodes it as JPEG or JPEG 2000 within the size budget)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return image


def _sim_card(args: argparse.Namespace) -> int:
    from simulators.card.emulator import main

    argv = ["--port", str(args.port)]
    for flag, value in (
        ("--document", args.document),
        ("--mrz-link", args.mrz_link),
        ("--faults", args.faults),
        ("--control", args.control),
    ):
        if value:
            argv += [flag, value]
    return main(argv)
