"""Before any objective is compared: the mechanism gate, and the learning rate at which the controls survive.

The gate asks whether the base models have the mechanism the paper's large-k claims need (docs/objectives.md):

(a) the designed strategy mix, whatever the prompt: the exact P(Y) at temperature 1, averaged over held-out
    problems, lies within a factor 2 of the share of Y in the supervised data, and differs between problems that
    carry and problems that do not by at most a quarter of itself;
(b) an answer follows its strategy: of the sampled answers with each tag, at least 95% are the answer that tag gives;
(c) the designed Pass@k shape: on problems that carry, Pass@1 at most 0.10 and Pass@64 at least 0.5, and at least
    30% of all problems have between 1 and 10 correct samples of 256;
(d) coupling: a few PSR steps on problems without a carry only lower the mean P(Y) on held-out problems that carry,
    in every probe run.

Every check holds for every base (SFT seed). If one fails, every large-k claim reads "not testable".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from experiments.common.stats import per_problem_pass_at_k, problem_interval
from rlvr.tasks.carry.task import CARRY_SHARE

FOLLOW_RATE = 0.95
HARD_PASS_AT_1_AT_MOST, HARD_PASS_AT_64_AT_LEAST = 0.10, 0.5
BAND_SHARE_AT_LEAST = 0.30


def band_of(num_samples: int) -> tuple[int, int]:
    """The 1-10 of 256 correct-sample band, scaled to ``num_samples``."""
    return 1, max(1, math.ceil(10 * num_samples / 256))


def check_base(point: Mapping[str, Any]) -> dict[str, Any]:
    """Checks (a)-(c) on one base's evaluated point."""
    mean_p_y = (point["p_y_carries"] + point["p_y_no_carry"]) / 2
    mix = {
        "p_y": mean_p_y,
        "designed": CARRY_SHARE,
        "p_y_carries_minus_no_carry": point["p_y_carries"] - point["p_y_no_carry"],
        "passed": CARRY_SHARE / 2 <= mean_p_y <= CARRY_SHARE * 2
        and abs(point["p_y_carries"] - point["p_y_no_carry"]) <= mean_p_y / 4,
    }
    rates = {
        tag: point["followed"][tag] / point["tagged"][tag] if point["tagged"][tag] else None for tag in point["tagged"]
    }
    follows = {"rates": rates, "passed": all(rate is not None and rate >= FOLLOW_RATE for rate in rates.values())}
    large_k = min(64, point["num_samples"])
    low, high = band_of(point["num_samples"])
    correct = np.array(point["num_correct"])
    shape = {
        "hard_pass_at_1": float(per_problem_pass_at_k(point, 1, only_carries=True).mean()),
        f"hard_pass_at_{large_k}": float(per_problem_pass_at_k(point, large_k, only_carries=True).mean()),
        "band": [low, high],
        "share_in_band": float(((correct >= low) & (correct <= high)).mean()),
    }
    shape["passed"] = (
        shape["hard_pass_at_1"] <= HARD_PASS_AT_1_AT_MOST
        and shape[f"hard_pass_at_{large_k}"] >= HARD_PASS_AT_64_AT_LEAST
        and shape["share_in_band"] >= BAND_SHARE_AT_LEAST
    )
    return {"a_mix": mix, "b_follows": follows, "c_shape": shape}


def mechanism_gate(bases: Sequence[Mapping], coupling: Sequence[Mapping], num_samples: int) -> dict[str, Any]:
    per_base = {str(base["sft_seed"]): check_base(base["points"][0]) for base in bases}
    base_p_y = {base["sft_seed"]: base["points"][0]["p_y_carries"] for base in bases}
    probes = [
        {"run": run["name"], "base_p_y_carries": base_p_y[run["sft_seed"]], "after": run["points"][-1]["p_y_carries"]}
        for run in coupling
    ]
    coupled = {"probes": probes, "passed": bool(probes) and all(p["after"] < p["base_p_y_carries"] for p in probes)}
    checks = {
        name: all(base[name]["passed"] for base in per_base.values()) for name in ("a_mix", "b_follows", "c_shape")
    }
    checks["d_coupling"] = coupled["passed"]
    failed = [name for name, passed in checks.items() if not passed]
    return {"per_base": per_base, "coupling": coupled, "checks": checks, "passed": not failed, "failed": failed}


def inside(value: float, interval: Sequence[float]) -> bool:
    return interval[0] <= value <= interval[1]


def choose_learning_rate(base: Mapping, sweep: Mapping[str, Sequence[Mapping]], rates: Sequence[str]) -> dict:
    """The largest rate (in ``rates`` order, largest first) at which every control keeps Pass@1 and Pass@64 inside
    the base's 95% bootstrap interval over problems at every evaluated checkpoint; None when no tested rate does."""
    base_point = base["points"][0]
    large_k = min(64, base_point["num_samples"])
    ks = (1, large_k)
    intervals = {k: problem_interval(per_problem_pass_at_k(base_point, k), 2000) for k in ks}
    tested: dict[str, Any] = {}
    chosen = None
    for rate in rates:
        if rate not in sweep:
            continue
        controls = {}
        for run in sweep[rate]:
            values = [
                {"step": point["step"], **{f"pass_at_{k}": float(per_problem_pass_at_k(point, k).mean()) for k in ks}}
                for point in run["points"]
            ]
            survived = all(inside(value[f"pass_at_{k}"], intervals[k]) for value in values for k in ks)
            controls[run["arm"]] = {"points": values, "survived": survived}
        tested[rate] = {"controls": controls, "survived": all(c["survived"] for c in controls.values())}
        if chosen is None and tested[rate]["survived"]:
            chosen = rate
    return {"chosen": chosen, "tested": tested, "base_intervals": {str(k): list(v) for k, v in intervals.items()}}
