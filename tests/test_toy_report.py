"""The experiment's verdicts: the learning gate, comparisons against controls, and the claims follow the numbers.

Runs are fabricated here with known Pass@k values, so each test states what the report must conclude from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.objectives_toy import CONTROLS, OBJECTIVES
from experiments.toy_report import build_summary, learning_gate, markdown_report, paired_interval

KS = ("1", "4", "16", "64")
CONTROL_OF = {method.label: method.control_of for method in CONTROLS}


def write_samples(path: Path) -> Path:
    problem = {"problem_id": 0, "question": "1+1", "answer": "2", "samples": ["2", "3"], "correct": [True, False]}
    path.write_text(json.dumps({"problems": [{**problem, "num_correct": 1, "num_total": 2}]}))
    return path


def fabricated_summary(tmp_path: Path, pass_at_1: dict[str, list[float]], base: float = 0.30) -> dict:
    """Every arm at the given Pass@1 per seed; Pass@k for k > 1 rises by 0.1 per step of k."""
    runs, results, samples = {}, {}, {}
    curve = {k: index * 0.1 for index, k in enumerate(KS)}

    def results_for(value: float) -> dict:
        values = {k: min(value + curve[k], 1.0) for k in KS}
        return {"pass_at_k": values, "confidence_intervals": {k: [v - 0.02, v + 0.02] for k, v in values.items()}}

    results["base"], samples["base"] = results_for(base), write_samples(tmp_path / "base.json")
    for label, values in pass_at_1.items():
        for seed, value in enumerate(values):
            name = f"{label}-seed{seed}"
            runs[name] = (label, seed)
            results[name], samples[name] = results_for(value), write_samples(tmp_path / f"{name}.json")
    return build_summary(results, samples, {"checkpoints": []}, tmp_path, runs, controls=CONTROL_OF)


LEARNS = {
    "grpo": [0.40, 0.42, 0.41],
    "grpo+shuffled": [0.25, 0.27, 0.26],
    "psr": [0.45, 0.44, 0.46],
    "psr+shuffled": [0.28, 0.29, 0.27],
    "nsr": [0.35, 0.36, 0.34],
    "nsr+shuffled": [0.29, 0.30, 0.28],
    "w-reinforce": [0.42, 0.43, 0.41],
    "w-reinforce+shuffled": [0.28, 0.29, 0.30],
    "lr0": [0.30, 0.30, 0.30],
}


def test_the_gate_passes_when_grpo_and_psr_beat_the_base_and_their_shuffled_controls(tmp_path):
    summary = fabricated_summary(tmp_path, LEARNS)
    assert summary["gate"]["passed"]
    assert summary["claims"], "with the gate passed, the claims are judged"
    report = markdown_report(summary)
    assert "## The paper's claims" in report and "Pass@64" in report


def test_the_gate_refuses_a_run_in_which_nothing_learned(tmp_path):
    # Every arm drifts a little around the base, objectives and controls alike: noise, not learning.
    nothing = {label: [0.30, 0.28, 0.31] for label in LEARNS}
    summary = fabricated_summary(tmp_path, nothing)
    assert not summary["gate"]["passed"]
    assert summary["claims"] == []
    report = markdown_report(summary)
    assert "The gate failed" in report
    assert "## The paper's claims" not in report and "## Pass@k, mean" not in report


def test_beating_the_base_is_not_enough_without_beating_the_shuffled_control(tmp_path):
    # GRPO rises, but so does its shuffled control: the rise is not the reward's doing.
    summary = fabricated_summary(tmp_path, {**LEARNS, "grpo+shuffled": [0.41, 0.40, 0.42]})
    checks = {check["objective"]: check for check in summary["gate"]["checks"]}
    assert checks["grpo"]["vs_base"]["low"] > 0
    assert not checks["grpo"]["passed"] and checks["psr"]["passed"]
    assert not learning_gate(summary)["passed"]


def test_a_difference_must_clear_the_seed_spread():
    assert paired_interval([0.10, 0.11, 0.09])["low"] > 0
    assert paired_interval([0.20, -0.15, 0.10])["low"] < 0 < paired_interval([0.20, -0.15, 0.10])["high"]


def test_verdicts_follow_the_intervals(tmp_path):
    claims = {claim["claim"]: claim for claim in fabricated_summary(tmp_path, LEARNS)["claims"]}
    assert claims["PSR raises Pass@1 over the base model"]["verdict"] == "reproduced"
    # Every arm here has the same curve shape, so PSR does not fall behind at large k.
    assert claims["PSR falls behind the base at large k (Pass@64)"]["verdict"] == "not reproduced"
    assert claims["NSR matches or beats GRPO across k"]["verdict"] == "not reproduced"  # NSR is below GRPO


def test_every_objective_has_a_shuffled_control_and_lr0_controls_the_base():
    assert {method.control_of for method in CONTROLS} == {*(method.label for method in OBJECTIVES), "base"}
    assert all("--shuffle-rewards" in method.flags for method in CONTROLS if method.control_of != "base")
    assert [method.flags for method in CONTROLS if method.control_of == "base"] == [("--learning-rate", "0")]


@pytest.mark.parametrize("label", ["grpo", "psr"])
def test_the_gate_checks_grpo_and_psr(label, tmp_path):
    summary = fabricated_summary(tmp_path, {**LEARNS, label: [0.29, 0.30, 0.31]})
    assert not summary["gate"]["passed"]
