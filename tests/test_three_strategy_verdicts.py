"""How the three-strategy report judges: verdict words from intervals, matched comparisons that read the reference's
trajectory at the arm's Pass@1 (never extrapolated), and intervals that resample SFT seeds and problems."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.three_strategy.bootstrap import Resamples, end_difference, matched_difference
from experiments.three_strategy.points import METRICS, Point
from experiments.three_strategy.predictions import Check, across_rates, combine, verdict_of

NUM_SAMPLES = 64
CARRIES = np.array([True] * 10 + [False] * 30)


def point(step: int, correct_share: float, p_y: float, wobble: float = 0.0) -> Point:
    """A model whose every problem has ``correct_share`` of its samples right and P(Y) = ``p_y``."""
    count = np.clip(np.round((correct_share + wobble * np.linspace(-1, 1, len(CARRIES))) * NUM_SAMPLES), 0, 64)
    p_tag = {"+": np.full(len(CARRIES), p_y), "*": np.full(len(CARRIES), 0.1), "-": np.full(len(CARRIES), 0.9 - p_y)}
    return Point(
        step,
        NUM_SAMPLES,
        CARRIES,
        count.astype(int),
        p_tag,
        np.full(len(CARRIES), 0.4),
        np.zeros(len(CARRIES)),
        {},
        {},
        {},
    )


@pytest.mark.parametrize(
    ("kind", "low", "high", "margin", "verdict"),
    [
        ("greater", 0.01, 0.2, 0, "reproduced"),
        ("greater", -0.2, -0.01, 0, "contradicted"),
        ("greater", -0.1, 0.1, 0, "inconclusive"),
        ("less", -0.2, -0.01, 0, "reproduced"),
        ("noninferior", -0.04, 0.1, 0.05, "reproduced"),
        ("noninferior", -0.2, -0.06, 0.05, "contradicted"),
        ("noninferior", -0.08, 0.01, 0.05, "inconclusive"),
        ("greater", float("nan"), float("nan"), 0, "not testable"),
    ],
)
def test_a_verdict_is_read_from_the_interval(kind, low, high, margin, verdict):
    test = Check("psr", "nsr", "carry_pass64", kind, margin=margin)
    assert verdict_of(test, {"mean": 0.0, "low": low, "high": high}) == verdict


def test_tests_and_rates_combine_without_hiding_a_contradiction_or_a_disagreement():
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "contradicted"]) == "contradicted"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert across_rates({"1e-4": "reproduced", "3e-4": "contradicted"}) == "inconclusive"
    assert across_rates({"1e-4": "not testable", "3e-4": "contradicted"}) == "contradicted"
    assert across_rates({"1e-4": "not testable"}) == "not testable"


def test_the_matched_difference_reads_the_reference_at_the_arms_pass_at_1():
    # Reference: P(Y) = 0.1 + Pass@1 along its trajectory; the arm lies 0.05 above that line at every checkpoint.
    reference = {
        seed: [point(step, share, 0.1 + share) for step, share in ((0, 0.25), (50, 0.5), (100, 0.75))]
        for seed in (0, 1, 2)
    }
    arm = {seed: [point(0, 0.25, 0.35), point(50, 0.375, 0.525), point(100, 0.625, 0.775)] for seed in (0, 1, 2)}
    draws = Resamples([0, 1, 2], reference[0][0], 50)
    result = matched_difference(arm, reference, METRICS["p_y_carries"], METRICS["pass1_mix"], draws)
    assert result["mean"] == pytest.approx(0.05, abs=1e-6)
    assert result["by_checkpoint"] == {"50": pytest.approx(0.05, abs=1e-6), "100": pytest.approx(0.05, abs=1e-6)}
    assert result["low"] == pytest.approx(0.05, abs=1e-6) and result["high"] == pytest.approx(0.05, abs=1e-6)


def test_a_checkpoint_outside_the_references_range_is_not_matched():
    reference = {0: [point(0, 0.25, 0.3), point(50, 0.5, 0.5)]}
    arm = {0: [point(0, 0.25, 0.3), point(50, 0.375, 0.45), point(100, 0.875, 0.9)]}
    result = matched_difference(
        arm, reference, METRICS["p_y_carries"], METRICS["pass1_mix"], Resamples([0], reference[0][0], 20)
    )
    assert result["by_checkpoint"]["100"] is None and result["matched_share"] == 0.5


def test_the_end_difference_shows_each_seed_and_an_interval_that_holds_their_spread():
    base = {seed: [point(0, 0.2, 0.02)] for seed in (0, 1, 2)}
    arm = {seed: [point(0, 0.2, 0.02), point(200, 0.2, 0.02 + 0.1 * seed)] for seed in (0, 1, 2)}
    result = end_difference(arm, base, METRICS["p_y_carries"], Resamples([0, 1, 2], base[0][0], 400))
    assert result["per_seed"] == {"0": pytest.approx(0.0), "1": pytest.approx(0.1), "2": pytest.approx(0.2)}
    assert result["mean"] == pytest.approx(0.1)
    assert result["low"] < 0.05 and result["high"] > 0.15  # three seeds: the between-base spread is in the interval


def test_every_prediction_the_code_judges_is_written_in_the_docs_word_for_word():
    from pathlib import Path

    from experiments.three_strategy.predictions import PREDICTIONS

    text = (Path(__file__).resolve().parents[1] / "docs" / "objectives.md").read_text()
    for prediction in PREDICTIONS:
        assert f"| {prediction.key} | {prediction.claim} | {prediction.contradicted_by} |" in text, prediction.key
