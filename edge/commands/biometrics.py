"""`echannel biometrics verify A B` (a field check of two photos) and `echannel biometrics evaluate PAIRS.csv`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "biometrics", help="face verification tools", description="Face verification tools (models in models/)."
    )
    sub = parser.add_subparsers(dest="biometrics_command", metavar="ACTION", required=True)

    verify = sub.add_parser(
        "verify",
        help="compare the faces in two images",
        description="Detect, assess and compare the faces in two images; print detection, quality, score, "
        "threshold and decision. Exit code 0 match, 1 no match, 2 an image has no usable face.",
    )
    verify.add_argument("image_a", metavar="IMAGE_A")
    verify.add_argument("image_b", metavar="IMAGE_B")
    _common(verify)
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(handler=_verify)

    evaluate = sub.add_parser(
        "evaluate",
        help="measure FMR/FNMR on labelled pairs",
        description="Score every pair in PAIRS.csv (image_a,image_b,label with label same/1 or different/0; "
        "paths relative to the CSV) and report genuine/impostor score distributions, FMR and FNMR, the "
        "threshold for a target FMR, a DET curve (PNG + JSON), and what the sample size can and cannot bound.",
    )
    evaluate.add_argument("pairs", metavar="PAIRS.csv")
    _common(evaluate)
    evaluate.add_argument("--target-fmr", type=float, default=0.001, help="default 0.001 (0.1%%)")
    evaluate.add_argument("--out", metavar="DIR", default=None, help="write det.png and evaluation.json here")
    evaluate.set_defaults(handler=_evaluate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", metavar="DIR", default=None, help="models directory (default: the repo's models/)")
    parser.add_argument("--threshold", type=float, default=None, help="default: the model manifest's (0.363)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--detection-size", type=int, default=None, help="longer side the detector sees (default: the manifest's, 320)"
    )


def _engine(args: argparse.Namespace):
    from edge.biometrics.models import ModelError
    from edge.biometrics.pipeline import FaceEngine

    try:
        return FaceEngine.load(args.models, threads=args.threads, detection_size=args.detection_size)
    except ModelError as exc:
        print(f"echannel: {exc}", file=sys.stderr)
        return None


def _read(path: str):
    from edge.biometrics.images import BadImage, decode

    try:
        return decode(Path(path).read_bytes())
    except OSError as exc:
        raise BadImage("unreadable_file", f"{path}: {exc.strerror}") from None


def _verify(args: argparse.Namespace) -> int:
    from edge.biometrics.images import BadImage

    engine = _engine(args)
    if engine is None:
        return 3
    images, unreadable = [], {}
    for key, path in (("a", args.image_a), ("b", args.image_b)):
        try:
            images.append(_read(path))
        except BadImage as exc:
            images.append(None)
            unreadable[key] = {"error": exc.reason}
    result = {**engine.compare(*images), **unreadable}
    threshold = args.threshold if args.threshold is not None else engine.embedder.default_threshold
    result["threshold"] = threshold
    score = result["score"]
    result["decision"] = "no_face" if score is None else ("match" if score >= threshold else "no_match")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, path in (("a", args.image_a), ("b", args.image_b)):
            entry = result[key]
            if "error" in entry:
                print(
                    f"{key.upper()}: {path}: {entry['error']}"
                    + (f" ({entry['faces']} faces)" if "faces" in entry else "")
                )
            else:
                box = ", ".join(f"{v:.0f}" for v in entry["box"])
                issue = f", issue: {entry['quality_issue']}" if entry["quality_issue"] else ""
                print(
                    f"{key.upper()}: {path}: {entry['faces']} face(s); largest at ({box}), detection "
                    f"{entry['detection_score']:.3f}, eye distance {entry['eye_distance_px']:.0f} px, "
                    f"quality {entry['quality']:.2f}{issue}"
                )
        if score is not None:
            print(f"score {score:.4f}  threshold {threshold:.3f}  decision {result['decision']}")
        else:
            print("decision no_face (an image has no usable face)")
    return {"match": 0, "no_match": 1}.get(result["decision"], 2)


def _evaluate(args: argparse.Namespace) -> int:
    from edge.biometrics.evaluate import PairsError, Scores, det_points, plot, read_pairs, summarise
    from edge.biometrics.images import BadImage

    try:
        pairs = read_pairs(args.pairs)
    except PairsError as exc:
        print(f"echannel: {exc}", file=sys.stderr)
        return 2
    if not 0 < args.target_fmr < 1:
        print("echannel: --target-fmr must be between 0 and 1", file=sys.stderr)
        return 2
    engine = _engine(args)
    if engine is None:
        return 3
    scores = Scores()
    for pair in pairs:
        try:
            result = engine.compare(_read(str(pair.a)), _read(str(pair.b)))
        except BadImage as exc:
            result = {"score": None, "a": {"error": exc.reason}}
        if result["score"] is None:
            reason = next((result[k]["error"] for k in ("a", "b") if "error" in result.get(k, {})), "no_face")
            scores.failures.append((pair.line, reason))
            scores.genuine_failures += pair.genuine
        elif pair.genuine:
            scores.genuine.append(result["score"])
        else:
            scores.impostor.append(result["score"])
    threshold = args.threshold if args.threshold is not None else engine.embedder.default_threshold
    summary = summarise(scores, threshold, args.target_fmr)
    _print_summary(summary)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "evaluation.json").write_text(json.dumps({**summary, "det": det_points(scores)}, indent=2) + "\n")
        plot(scores, summary, out / "det.png")
        print(f"wrote {out / 'evaluation.json'} and {out / 'det.png'}")
    return 0


def _print_summary(summary: dict) -> None:
    pairs, at = summary["pairs"], summary["at_threshold"]
    print(f"pairs: {pairs['genuine']} genuine, {pairs['impostor']} impostor, {pairs['failures_to_acquire']} failed")
    for kind in ("genuine", "impostor"):
        d = summary[kind]
        if d["n"]:
            print(f"{kind:9s} scores: min {d['min']:.3f}  p5 {d['p05']:.3f}  median {d['median']:.3f}  "
                  f"p95 {d['p95']:.3f}  max {d['max']:.3f}")  # fmt: skip
    print(
        f"at threshold {summary['threshold']:.3f}: FMR {at['fmr']:.2%} ({at['false_matches']} false matches), "
        f"FNMR {at['fnmr']:.2%} ({at['false_non_matches']}), FRR incl. failures {at['frr_with_failures']:.2%}"
    )
    chosen = summary["threshold_for_target_fmr"]
    if chosen is not None:
        supported = at["fmr_upper_95"] is not None and summary["pairs"]["impostor"] >= summary[
            "impostor_pairs_needed_for_target"
        ]
        caveat = "" if supported else " (an observation on this sample only: too few impostor pairs to rely on it)"
        print(f"threshold for observed FMR <= {summary['target_fmr']:.2%} on this sample: {chosen:.4f}{caveat}")
    print(summary["statement"])
