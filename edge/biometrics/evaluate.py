"""Verification accuracy from labelled image pairs: score distributions, FMR/FNMR, DET curve, and an honest
statement of what the sample size can bound.

Definitions (ISO/IEC 19795-1): a comparison at threshold t is a match when score >= t.
  FMR(t)  = impostor comparisons with score >= t / impostor comparisons
  FNMR(t) = genuine comparisons with score < t / genuine comparisons
Pairs where a face could not be found or an image could not be read are failures to acquire (FTA); they
are reported apart and, for the system view (FRR), counted as non-matches of genuine pairs.
With n comparisons and no error observed, the 95 % upper confidence bound of the error rate is about 3/n
("rule of three"): to claim FMR <= 0.1 % one needs at least 3,000 impostor comparisons without a single
false match, more when errors occur.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GENUINE_LABELS = {"1", "same", "genuine", "match", "true", "yes"}
IMPOSTOR_LABELS = {"0", "different", "impostor", "nonmatch", "non-match", "false", "no"}


class PairsError(ValueError):
    pass


@dataclass(frozen=True)
class Pair:
    a: Path
    b: Path
    genuine: bool
    line: int


@dataclass
class Scores:
    genuine: list[float] = field(default_factory=list)
    impostor: list[float] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (CSV line, reason code)
    genuine_failures: int = 0


def read_pairs(path: str | Path) -> list[Pair]:
    """CSV rows `image_a,image_b,label` (a header row is allowed); paths are relative to the CSV file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PairsError(f"{path}: cannot read: {exc.strerror}") from None
    pairs, problems = [], []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or row[0].strip().startswith("#"):
            continue
        if len(row) < 3:
            problems.append(f"{path}:{number}: expected image_a,image_b,label")
            continue
        a, b, label = (cell.strip() for cell in row[:3])
        if label.lower() == "label":
            continue  # the header row
        if label.lower() in GENUINE_LABELS:
            genuine = True
        elif label.lower() in IMPOSTOR_LABELS:
            genuine = False
        else:
            problems.append(f"{path}:{number}: label {label!r} is neither same (1) nor different (0)")
            continue
        pairs.append(Pair(path.parent / a, path.parent / b, genuine, number))
    if problems:
        raise PairsError("\n".join(problems))
    if not pairs:
        raise PairsError(f"{path}: no pairs")
    return pairs


def error_rates(
    scores: Scores, thresholds: np.ndarray, include_failures: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """FMR and FNMR at each threshold (FNMR counts genuine failures to acquire when asked: the FRR view)."""
    impostor = np.sort(np.asarray(scores.impostor, dtype=np.float64))
    genuine = np.sort(np.asarray(scores.genuine, dtype=np.float64))
    fmr = (impostor.size - np.searchsorted(impostor, thresholds, side="left")) / max(impostor.size, 1)
    misses = np.searchsorted(genuine, thresholds, side="left").astype(np.float64)
    total = genuine.size
    if include_failures:
        misses += scores.genuine_failures
        total += scores.genuine_failures
    return fmr, misses / max(total, 1)


def threshold_for_fmr(impostor: list[float], target: float) -> float | None:
    """The lowest threshold whose observed FMR is <= target (None without impostor scores)."""
    if not impostor:
        return None
    ordered = np.sort(np.asarray(impostor))[::-1]
    allowed = math.floor(target * len(ordered))  # false matches the target tolerates in this sample
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))  # just above the first score that must not match


def upper_bound_95(errors: int, n: int) -> float | None:
    """One-sided 95 % upper confidence bound of an error rate (Clopper-Pearson; 3/n when errors == 0)."""
    if n == 0:
        return None
    if errors == 0:
        return 1 - 0.05 ** (1 / n)  # ~ 3/n
    if errors >= n:
        return 1.0
    low, high = errors / n, 1.0  # bisection on the binomial tail: P(X <= errors | p) = 0.05
    for _ in range(60):
        mid = (low + high) / 2
        tail = sum(math.comb(n, k) * mid**k * (1 - mid) ** (n - k) for k in range(errors + 1))
        low, high = (mid, high) if tail > 0.05 else (low, mid)
    return high


def summarise(scores: Scores, threshold: float, target_fmr: float) -> dict:
    fmr, fnmr = error_rates(scores, np.array([threshold]))
    _, frr = error_rates(scores, np.array([threshold]), include_failures=True)
    n_imp, n_gen = len(scores.impostor), len(scores.genuine)
    false_matches = sum(score >= threshold for score in scores.impostor)
    false_non_matches = sum(score < threshold for score in scores.genuine)
    chosen = threshold_for_fmr(scores.impostor, target_fmr)
    needed = math.ceil(3 / target_fmr)
    return {
        "pairs": {"genuine": n_gen, "impostor": n_imp, "failures_to_acquire": len(scores.failures)},
        "threshold": threshold,
        "at_threshold": {
            "fmr": float(fmr[0]),
            "fnmr": float(fnmr[0]),
            "frr_with_failures": float(frr[0]),
            "false_matches": false_matches,
            "false_non_matches": false_non_matches,
            "fmr_upper_95": upper_bound_95(false_matches, n_imp),
            "fnmr_upper_95": upper_bound_95(false_non_matches, n_gen),
        },
        "target_fmr": target_fmr,
        "threshold_for_target_fmr": chosen,
        "impostor_pairs_needed_for_target": needed,
        "genuine": _describe(scores.genuine),
        "impostor": _describe(scores.impostor),
        "failures": [{"line": line, "reason": reason} for line, reason in scores.failures],
        "statement": statement(n_gen, n_imp, false_matches, false_non_matches, target_fmr),
    }


def statement(n_gen: int, n_imp: int, false_matches: int, false_non_matches: int, target_fmr: float) -> str:
    """What this sample can and cannot bound, in plain words."""
    lines = []
    fmr_bound, fnmr_bound = upper_bound_95(false_matches, n_imp), upper_bound_95(false_non_matches, n_gen)
    if fmr_bound is None:
        lines.append("No impostor pairs: nothing can be said about the false match rate.")
    else:
        lines.append(
            f"{n_imp} impostor comparisons with {false_matches} false match(es): with 95 % confidence the FMR is "
            f"at most {fmr_bound:.2%}."
        )
        needed = math.ceil(3 / target_fmr)
        if fmr_bound > target_fmr:
            lines.append(
                f"This sample CANNOT show FMR <= {target_fmr:.2%}: that takes at least {needed:,} impostor "
                "comparisons with no false match (rule of three), more if any occur."
            )
        else:
            lines.append(f"This sample supports FMR <= {target_fmr:.2%} at 95 % confidence.")
    if fnmr_bound is None:
        lines.append("No genuine pairs: nothing can be said about the false non-match rate.")
    else:
        lines.append(
            f"{n_gen} genuine comparisons with {false_non_matches} false non-match(es): with 95 % confidence the "
            f"FNMR is at most {fnmr_bound:.2%}."
        )
    lines.append(
        "Pairs from a few people say little about the population: errors are correlated within a person, so the "
        "bounds above assume independence that such a sample does not have."
    )
    return " ".join(lines)


def _describe(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = np.asarray(values)
    return {
        "n": int(v.size),
        "min": round(float(v.min()), 4),
        "p05": round(float(np.percentile(v, 5)), 4),
        "median": round(float(np.median(v)), 4),
        "p95": round(float(np.percentile(v, 95)), 4),
        "max": round(float(v.max()), 4),
    }


def det_points(scores: Scores) -> dict:
    thresholds = np.unique(np.concatenate([[-1.0, 1.0], np.round(scores.genuine + scores.impostor, 6)]))
    fmr, fnmr = error_rates(scores, thresholds)
    return {"threshold": thresholds.tolist(), "fmr": fmr.tolist(), "fnmr": fnmr.tolist()}


def plot(scores: Scores, summary: dict, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a gate
    import matplotlib.pyplot as plt

    points = det_points(scores)
    floor = 1e-4
    fmr = np.clip(points["fmr"], floor, 1)
    fnmr = np.clip(points["fnmr"], floor, 1)
    figure, (det, hist) = plt.subplots(1, 2, figsize=(11, 4.5))
    det.plot(fmr, fnmr, drawstyle="steps-post", label="observed")
    det.set_xscale("log")
    det.set_yscale("log")
    det.set_xlim(floor, 1)
    det.set_ylim(floor, 1)
    det.axvline(summary["target_fmr"], color="grey", linestyle=":", label=f"target FMR {summary['target_fmr']:.2%}")
    bound = summary["at_threshold"]["fmr_upper_95"]
    if bound is not None:
        det.axvspan(floor, bound, color="orange", alpha=0.15, label=f"below this sample's resolution ({bound:.1%})")
    det.set_xlabel("false match rate (FMR)")
    det.set_ylabel("false non-match rate (FNMR)")
    det.set_title("DET curve (values below 1e-4 drawn at 1e-4)")
    det.legend(fontsize=8)
    bins = np.linspace(-0.2, 1.0, 49)
    hist.hist(scores.impostor, bins=bins, alpha=0.6, label=f"impostor (n={len(scores.impostor)})")
    hist.hist(scores.genuine, bins=bins, alpha=0.6, label=f"genuine (n={len(scores.genuine)})")
    hist.axvline(summary["threshold"], color="black", linestyle="--", label=f"threshold {summary['threshold']:.3f}")
    hist.set_xlabel("cosine similarity")
    hist.set_ylabel("pairs")
    hist.set_title("score distributions")
    hist.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out_png, dpi=110)
    plt.close(figure)
