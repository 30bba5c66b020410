"""The predictions, written down before the run (docs/objectives.md, "Predictions"), each judged by the intervals.

A verdict is one of four words: reproduced (the interval lies on the predicted side of 0), contradicted (on the
other side), inconclusive (it holds 0), or not testable, with the reason: no learning rate kept the controls at
the base, or, for a claim about large k or the rare strategy, the mechanism gate failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from experiments.common.stats import base_by_pair, difference_interval, metric_by_pair, per_problem_pass_at_k, sign_of

VERDICTS = ("reproduced", "contradicted", "inconclusive", "not testable")
LARGE_K = 64


def pass_at(k: int, only_carries: bool = False) -> Callable[[Mapping], np.ndarray]:
    return lambda point: per_problem_pass_at_k(point, min(k, point["num_samples"]), only_carries)


def scalar(key: str) -> Callable[[Mapping], np.ndarray]:
    return lambda point: np.array([point[key]])


def compare(summary: Mapping, arm: str, reference: str, metric, point: int = -1) -> dict | None:
    """``arm - reference`` (another arm, or "base") with its bootstrap interval over seeds and problems."""
    ours = metric_by_pair(summary["runs"], arm, metric, point)
    theirs = (
        base_by_pair(summary["bases"], list(ours), metric)
        if reference == "base"
        else metric_by_pair(summary["runs"], reference, metric, point)
    )
    return difference_interval(ours, theirs, summary["settings"]["bootstrap_resamples"])


def verdict_of(intervals: list[dict | None], direction: int) -> str:
    """Every interval on the predicted side: reproduced; any on the other side: contradicted; else inconclusive."""
    signs = [sign_of(interval) for interval in intervals]
    if signs and all(sign == direction for sign in signs):
        return "reproduced"
    if any(sign == -direction for sign in signs):
        return "contradicted"
    return "inconclusive"


def residuals_at_matched_pass1(summary: Mapping, key: str = "entropy") -> Callable[[Mapping], np.ndarray]:
    """``key`` (entropy, distinct answers) less what a straight line through every final point (``key`` against
    Pass@1) predicts: the value at matched Pass@1, so an arm is not called narrow merely for being more accurate."""
    points = [run["points"][-1] for run in summary["runs"]]
    accuracy = np.array([pass_at(1)(point).mean() for point in points])
    values = np.array([point[key] for point in points])
    slope, intercept = np.polyfit(accuracy, values, 1) if len(points) > 2 else (0.0, float(values.mean()))
    return lambda point: np.array([point[key] - (slope * pass_at(1)(point).mean() + intercept)])


def paper_claims(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    rate_ok = summary["learning_rate"]["chosen"] is not None
    gate = summary["gate"]
    large_ks = [k for k in summary["settings"]["k_values"] if k <= summary["settings"]["num_samples"]]
    claims: list[dict[str, Any]] = []

    def claim(statement: str, evidence: dict[str, dict | None], direction: int, large: bool) -> None:
        if not rate_ok:
            verdict, why = "not testable", "no learning rate kept the controls at the base"
        elif large and not gate["passed"]:
            verdict, why = "not testable", f"the mechanism gate failed ({', '.join(gate['failed'])})"
        elif any(interval is None for interval in evidence.values()):
            verdict, why = "not testable", "an arm it needs was not run"
        else:
            verdict, why = verdict_of(list(evidence.values()), direction), ""
        claims.append({"claim": statement, "evidence": evidence, "verdict": verdict, "why": why})

    p_y = scalar("p_y_carries")
    claim(
        "PSR raises Pass@1 over the base",
        {"psr - base, Pass@1": compare(summary, "psr", "base", pass_at(1))},
        1,
        large=False,
    )
    claim(
        f"PSR lowers Pass@{LARGE_K} on problems that carry",
        {f"psr - base, Pass@{LARGE_K} (carry)": compare(summary, "psr", "base", pass_at(LARGE_K, True))},
        -1,
        large=True,
    )
    claim(
        "PSR lowers P(Y) on problems that carry",
        {"psr - base, P(Y)": compare(summary, "psr", "base", p_y)},
        -1,
        large=True,
    )
    for arm in ("nsr", "grpo"):
        claim(
            f"{arm.upper()} raises Pass@{LARGE_K} and P(Y) on problems that carry",
            {
                f"{arm} - base, Pass@{LARGE_K} (carry)": compare(summary, arm, "base", pass_at(LARGE_K, True)),
                f"{arm} - base, P(Y)": compare(summary, arm, "base", p_y),
            },
            1,
            large=True,
        )
    claim(
        "NSR raises Pass@k over the base at every k",
        {f"nsr - base, Pass@{k}": compare(summary, "nsr", "base", pass_at(k)) for k in large_ks},
        1,
        large=True,
    )
    claim(
        f"W-REINFORCE is at least PSR at large k (Pass@{LARGE_K}, problems that carry)",
        {f"w-reinforce - psr, Pass@{LARGE_K} (carry)": compare(summary, "w-reinforce", "psr", pass_at(LARGE_K, True))},
        1,
        large=True,
    )
    residual = residuals_at_matched_pass1(summary)
    claim(
        "At matched Pass@1, PSR's policy is narrower (lower entropy) than NSR's",
        {"psr - nsr, entropy residual": compare(summary, "psr", "nsr", residual)},
        -1,
        large=False,
    )
    return claims
