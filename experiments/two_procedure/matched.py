"""Objectives compared where they are alike: at the same distance from the base (KL) and at the same Pass@1.

At the end of a run the objectives differ in how far they moved, so a difference in Pass@k or entropy can be a
difference in distance or in accuracy, not in direction. Two views take those out, each with the bootstrap interval
over SFT seeds, RL seeds and problems of experiments/common/stats.py:

- matched KL: within each seed pair, every objective's per-problem Pass@k interpolated along its path (base,
  middle checkpoint, end) to the smallest final KL(policy || base) among the objectives of that pair;
- matched Pass@1: entropy and distinct answers less a straight line fitted through every final point against
  Pass@1 (experiments.two_procedure.claims.residuals_at_matched_pass1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from experiments.common.stats import Pair, difference_interval
from experiments.two_procedure.claims import LARGE_K, compare, pass_at, residuals_at_matched_pass1

# Which objective against which: the paper's contrasts, and W-REINFORCE against the PSR it adds a weight to.
MATCHED_PAIRS = (("psr", "nsr"), ("psr", "grpo"), ("nsr", "grpo"), ("w-reinforce", "psr"))
KL_METRICS: dict[str, Callable[[Mapping], np.ndarray]] = {
    "Pass@1": pass_at(1),
    f"Pass@{LARGE_K}, carry": pass_at(LARGE_K, True),
}


def at_matched_kl(summary: Mapping[str, Any], metric: Callable[[Mapping], np.ndarray]) -> dict[str, Any]:
    """Per objective, (SFT seed, RL seed) -> the per-problem metric at that pair's matched KL; and the KLs used."""
    objectives = [label for label in summary["objectives"] if any(r["arm"] == label for r in summary["runs"])]
    bases = {base["sft_seed"]: base["points"][0] for base in summary["bases"]}
    values: dict[str, dict[Pair, np.ndarray]] = {label: {} for label in objectives}
    targets: dict[Pair, float] = {}
    for pair in sorted({(r["sft_seed"], r["rl_seed"]) for r in summary["runs"]}):
        runs = {r["arm"]: r for r in summary["runs"] if (r["sft_seed"], r["rl_seed"]) == pair and r["arm"] in values}
        if len(runs) < len(objectives) or pair[0] not in bases:
            continue
        targets[pair] = min(run["points"][-1]["kl_to_base"] for run in runs.values())
        for label, run in runs.items():
            # KL along the path, made non-decreasing so that interpolation is defined; the base is at 0.
            kl = np.maximum.accumulate([0.0, *(point["kl_to_base"] for point in run["points"])])
            path = np.stack([metric(point) for point in (bases[pair[0]], *run["points"])])
            values[label][pair] = np.array([np.interp(targets[pair], kl, column) for column in path.T])
    return {"values": values, "targets": targets}


def matched_kl_differences(summary: Mapping[str, Any]) -> dict[str, dict[str, dict | None]]:
    """``a - b`` at matched KL for every pair of MATCHED_PAIRS that ran, per metric of KL_METRICS."""
    resamples = summary["settings"]["bootstrap_resamples"]
    table: dict[str, dict[str, dict | None]] = {}
    for name, metric in KL_METRICS.items():
        values = at_matched_kl(summary, metric)["values"]
        for ours, theirs in MATCHED_PAIRS:
            if ours in values and theirs in values:
                interval = difference_interval(values[ours], values[theirs], resamples)
                table.setdefault(f"{ours} - {theirs}", {})[name] = interval
    return table


def matched_pass1_differences(summary: Mapping[str, Any]) -> dict[str, dict[str, dict | None]]:
    """``a - b`` of entropy and of distinct answers at matched Pass@1, for every pair of MATCHED_PAIRS that ran."""
    ran = {run["arm"] for run in summary["runs"]}
    residuals = {
        "entropy": residuals_at_matched_pass1(summary, "entropy"),
        "distinct answers": residuals_at_matched_pass1(summary, "distinct_answers"),
    }
    return {
        f"{ours} - {theirs}": {name: compare(summary, ours, theirs, residual) for name, residual in residuals.items()}
        for ours, theirs in MATCHED_PAIRS
        if ours in ran and theirs in ran
    }
