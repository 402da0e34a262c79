"""`echannel biometrics evaluate` and `verify`: error rates, the threshold for a target FMR, the DET curve,
and a plain statement of what the sample can bound."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.biometrics.evaluate import (
    PairsError,
    Scores,
    error_rates,
    read_pairs,
    summarise,
    threshold_for_fmr,
    upper_bound_95,
)
from edge.cli import main

REPO = Path(__file__).resolve().parents[2]
PAIRS = REPO / "simulators" / "camera" / "pairs.csv"


def test_fmr_and_fnmr_count_scores_at_or_above_the_threshold_as_matches():
    scores = Scores(genuine=[0.5, 0.7, 0.9, 0.3], impostor=[0.1, 0.2, 0.5, 0.05])
    fmr, fnmr = error_rates(scores, np.array([0.5]))
    assert fmr[0] == 0.25  # 0.5 >= 0.5 is a (false) match
    assert fnmr[0] == 0.25  # 0.3 < 0.5 is a false non-match


def test_the_threshold_for_a_target_fmr_lets_through_only_what_the_target_allows():
    impostor = list(np.linspace(0, 0.5, 1000))
    t = threshold_for_fmr(impostor, 0.01)
    assert sum(s >= t for s in impostor) == 10
    assert threshold_for_fmr(impostor[:50], 0.001) > max(impostor[:50])  # fewer than 1000: no false match allowed


def test_rule_of_three_and_clopper_pearson_bounds():
    assert upper_bound_95(0, 3000) == pytest.approx(0.001, rel=0.01)
    assert upper_bound_95(0, 7) == pytest.approx(0.348, abs=0.001)
    assert upper_bound_95(1, 100) == pytest.approx(0.0466, abs=0.001)  # published one-sided 95 % value
    assert upper_bound_95(0, 0) is None


def test_a_small_sample_is_said_to_be_unable_to_show_the_target_fmr():
    summary = summarise(Scores(genuine=[0.8] * 3, impostor=[0.1] * 7), 0.363, 0.001)
    assert "CANNOT show FMR <= 0.10%" in summary["statement"]
    assert "3,000" in summary["statement"]
    big = summarise(Scores(genuine=[0.8] * 100, impostor=[0.1] * 4000), 0.363, 0.001)
    assert "supports FMR <= 0.10%" in big["statement"]


def test_bad_pairs_files_are_refused_with_the_line(tmp_path):
    bad = tmp_path / "pairs.csv"
    bad.write_text("a.jpg,b.jpg,maybe\n")
    with pytest.raises(PairsError, match=r"pairs\.csv:1"):
        read_pairs(bad)
    assert read_pairs(PAIRS)[0].genuine


def test_evaluate_on_the_test_photographs_writes_a_det_curve_and_json(tmp_path, capsys):
    assert main(["biometrics", "evaluate", str(PAIRS), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "3 genuine, 7 impostor" in printed and "CANNOT show" in printed
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["at_threshold"]["fmr"] == 0 and report["at_threshold"]["fnmr"] == 0
    assert report["genuine"]["min"] > 0.6 and report["impostor"]["max"] < 0.3
    assert len(report["det"]["fmr"]) == len(report["det"]["threshold"])
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_verify_prints_score_threshold_and_decision_with_exit_codes(capsys):
    faces = REPO / "simulators" / "camera" / "faces"
    assert main(["biometrics", "verify", str(faces / "obama.jpg"), str(faces / "obama3.jpg")]) == 0
    assert "decision match" in capsys.readouterr().out
    assert main(["biometrics", "verify", str(faces / "obama.jpg"), str(faces / "biden.jpg"), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] == "no_match" and result["threshold"] == 0.363 and result["a"]["faces"] == 1
    assert main(["biometrics", "verify", str(faces / "obama.jpg"), str(PAIRS)]) == 2
    assert "undecodable_image" in capsys.readouterr().out
