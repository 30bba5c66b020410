"""The measurements of the two-procedure experiment (run.py), read back from its files into one JSON-ready summary.

A *point* is one model evaluated: its samples of every held-out problem (correct counts, the strategy each sample
followed) and its probe (exact P(Y), entropy, KL to its base). A *run* is an arm trained from one base with one RL
seed, with a point at its middle checkpoint and one at its end; a base is a run with one point.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.two_procedure.arms import ARMS, Settings
from experiments.two_procedure.claims import paper_claims
from experiments.two_procedure.gate import mechanism_gate
from rlvr.tasks.carry.problems import CARRIES_TAG, TAGS, answer_by, carries
from rlvr.tasks.carry.task import split_completion


def load_point(samples_path: Path, probe_path: Path, probe_index: int, step: int) -> dict[str, Any]:
    """One evaluated model: per-problem counts from its samples, and its probe record."""
    problems = json.loads(samples_path.read_text())["problems"]
    probe = json.loads(probe_path.read_text())["checkpoints"][probe_index]
    operands = [tuple(int(part) for part in problem["question"].split("+")) for problem in problems]
    followed = dict.fromkeys(TAGS, 0)
    tagged = dict.fromkeys(TAGS, 0)
    carry_tags, carry_samples = 0, 0
    for (a, b), problem in zip(operands, problems, strict=True):
        for sample in problem["samples"]:
            tag, digits = split_completion(sample)
            if tag is not None:
                tagged[tag] += 1
                followed[tag] += digits == str(answer_by(tag, a, b))
            if carries(a, b):
                carry_samples += 1
                carry_tags += tag == CARRIES_TAG
    p_carries = probe["p_carries_by_problem"]
    hard = [value for expression, value in p_carries.items() if carries(*map(int, expression.split("+")))]
    easy = [value for expression, value in p_carries.items() if not carries(*map(int, expression.split("+")))]
    return {
        "step": step,
        "num_samples": problems[0]["num_total"],
        "num_correct": [problem["num_correct"] for problem in problems],
        "carries": [carries(a, b) for a, b in operands],
        "sampled_y_share_on_carries": carry_tags / max(carry_samples, 1),
        "tagged": tagged,
        "followed": followed,
        "distinct_answers": statistics.fmean(len({s.strip() for s in p["samples"]}) for p in problems),
        "p_y_carries": statistics.fmean(hard),
        "p_y_no_carry": statistics.fmean(easy),
        "p_y_spread": statistics.pstdev(p_carries.values()),
        "entropy": probe["entropy"],
        "kl_to_base": probe["kl_to_reference"],
    }


def build_summary(
    settings: Settings,
    bases: Sequence[dict],
    runs: Sequence[dict],
    sweep: Mapping[str, Sequence[dict]],
    coupling: Sequence[dict],
    choice: Mapping[str, Any],
    learning_rate: str,
) -> dict[str, Any]:
    """Everything the report and the figures need."""
    summary: dict[str, Any] = {
        "settings": {key: value for key, value in settings.__dict__.items()},
        "arms": {
            label: {
                "mode": arm.mode,
                "flags": list(arm.flags),
                "control_of": arm.control_of,
                "control_kind": arm.control_kind,
                "learning_rate": arm.learning_rate,
            }
            for label, arm in ARMS.items()
        },
        "objectives": list(settings.objectives),
        "bases": list(bases),
        "runs": list(runs),
        "sweep": {rate: list(records) for rate, records in sweep.items()},
        "coupling": list(coupling),
        "learning_rate": {**choice, "used": learning_rate},
    }
    summary["gate"] = mechanism_gate(bases, coupling, settings.num_samples)
    summary["claims"] = paper_claims(summary)
    return summary
