"""The measurements of a run read back into one JSON-ready summary: gate, trajectories, decompositions, matched
comparisons and a verdict per prediction (predictions.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.three_strategy.arms import ARMS, OBJECTIVES, Settings
from experiments.three_strategy.bootstrap import Resamples, end_difference, matched_difference, sign_of
from experiments.three_strategy.gate import gate
from experiments.three_strategy.points import METRICS, Point, load_points, metric_values
from experiments.three_strategy.predictions import PREDICTIONS, across_rates, combine, verdict_of

DECOMPOSED_METRICS = ("pass1_mix", "carry_pass64", "p_y_carries", "tag_entropy")
AGAINST_BASE_METRICS = (
    "pass1_mix",
    "pass1_no_carry",
    "carry_pass1",
    "carry_pass64",
    "p_y_carries",
    "p_w_no_carry",
    "tag_entropy",
    "sqrt_kl",
)
MATCHED_PAIRS = (("psr", "nsr"), ("grpo", "nsr"), ("w-reinforce", "nsr"), ("sr", "nsr"))
MATCHED_METRICS = ("carry_pass64", "p_y_carries", "tag_entropy")
MATCHERS = {"matched_pass1": "pass1_mix", "matched_kl": "sqrt_kl"}


def build_summary(settings: Settings, bases: Sequence[Mapping], runs: Sequence[Mapping]) -> dict[str, Any]:
    base_points = {record["sft_seed"]: load_points(record["measured"])[0] for record in bases}
    pushed = {record["sft_seed"]: load_points(record["pushed"])[0] for record in bases}
    at_zero = {record["sft_seed"]: load_points(record["determinism"])[0] for record in bases}
    trajectories: dict[str, dict[str, dict[int, list[Point]]]] = {}
    for run in runs:
        points = load_points(run["measured"], run["steps"])
        by_rate = trajectories.setdefault(run["lr"], {})
        by_rate.setdefault(run["arm"], {})[run["sft_seed"]] = [base_points[run["sft_seed"]], *points]
    draws = Resamples(sorted(base_points), next(iter(base_points.values())), settings.bootstrap_resamples)
    checked = gate(base_points, pushed, at_zero)
    summary: dict[str, Any] = {
        "settings": {key: value for key, value in settings.__dict__.items()},
        "arms": {
            label: {"mode": arm.mode, "flags": list(arm.flags), "control_of": arm.control_of}
            for label, arm in ARMS.items()
            if label in settings.arms
        },
        "gate": checked,
        "first_order": {str(record["sft_seed"]): first_order_of(Path(record["first_order"])) for record in bases},
        "bases": {str(seed): metric_values(point, settings.k_values) for seed, point in base_points.items()},
        "runs": [{key: value for key, value in run.items() if key != "measured"} for run in runs],
        "rates": {},
    }
    for rate, arms in trajectories.items():
        summary["rates"][rate] = rate_summary(arms, base_points, draws, settings, checked)
    summary["verdicts"] = {
        prediction.key: across_rates(
            {rate: part["verdicts"][prediction.key]["verdict"] for rate, part in summary["rates"].items()}
        )
        for prediction in PREDICTIONS
    }
    return summary


def first_order_of(path: Path) -> dict[str, Any]:
    """A base's first-order record, its model named by its folder (sft-N), not by where the run lay on disk."""
    record = json.loads(path.read_text())
    return {**record, "model": Path(record["model"]).name}


def rate_summary(arms, base_points, draws: Resamples, settings: Settings, checked: dict) -> dict[str, Any]:
    bases = {seed: [point] for seed, point in base_points.items()}

    def trajectory_of(label: str):
        return bases if label == "base" else arms.get(label)

    def compare(arm: str, reference: str, metric: str, at: str = "end"):
        ours, theirs = trajectory_of(arm), trajectory_of(reference)
        if ours is None or theirs is None:
            return None
        if at == "end":
            return end_difference(ours, theirs, METRICS[metric], draws)
        return matched_difference(ours, theirs, METRICS[metric], METRICS[MATCHERS[at]], draws)

    part: dict[str, Any] = {
        "trajectories": {
            label: {
                str(seed): [{"step": point.step, **metric_values(point, settings.k_values)} for point in points]
                for seed, points in by_seed.items()
            }
            for label, by_seed in arms.items()
        },
        "against_base": {
            label: {metric: compare(label, "base", metric) for metric in AGAINST_BASE_METRICS} for label in arms
        },
        "decomposition": {},
        "matched": {},
    }
    for objective in OBJECTIVES:
        control = f"{objective.label}+shuffled"
        if objective.label in arms and control in arms:
            part["decomposition"][objective.label] = {
                metric: {
                    "total": compare(objective.label, "base", metric),
                    "reward_dependent": compare(objective.label, control, metric),
                    "reward_independent": compare(control, "base", metric),
                }
                for metric in DECOMPOSED_METRICS
            }
    for arm, reference in MATCHED_PAIRS:
        if arm in arms and reference in arms:
            part["matched"][f"{arm} - {reference}"] = {
                at: {metric: compare(arm, reference, metric, at) for metric in MATCHED_METRICS} for at in MATCHERS
            }
    grpo_learned = part["decomposition"].get("grpo", {}).get("pass1_mix", {}).get("reward_dependent")
    part["learned"] = sign_of(grpo_learned) > 0
    testable = checked["passed"] and checked["determinism_passed"] and part["learned"]
    part["verdicts"] = {}
    for prediction in PREDICTIONS:
        tests = []
        for test in prediction.checks:
            interval = compare(test.arm, test.reference, test.metric, test.at)
            tests.append({"test": test.__dict__, "interval": interval, "verdict": verdict_of(test, interval)})
        verdict = combine([entry["verdict"] for entry in tests]) if testable else "not testable"
        part["verdicts"][prediction.key] = {"verdict": verdict, "tests": tests}
    return part
