"""The gate: the task can produce the effect the predictions are about, checked on every base before any verdict.

Thresholds fixed before the run (docs/objectives.md, "The second toy"); a failed check makes every prediction
"not testable". On each base, at temperature 1:

(a) the strategy mix is near its design: mean P(X) in [0.80, 0.95], P(W) in [0.05, 0.16], P(Y) in [0.01, 0.04];
(b) answers follow their procedure: for each tag, at least 90% of the sampled answers behind it are the ones its
    procedure gives, on carry problems and on the others;
(c) the hard problems are hard but reachable: carry Pass@1 at most 0.06 and carry Pass@64 at least 0.5;
(d) the strategy is shared across problems: a reward-free supervised push toward W on problems without a carry
    changes P(Y) on them by at least 2% (relative), and changes P(Y) on carry problems, where the push never
    trained, in the same direction by at least half as much (relative), so what RL does to Y on the training mix
    reaches the hard problems. The direction itself is not the check: a push toward W takes its mass mostly from X,
    and on the three bases, before any RL, 20 steps moved P(Y) by +33%, -89% and -41%; what carried over to the
    carry problems was 96%, 98% and 116% of it. The rise of P(W) on carry problems is reported beside it.

The determinism check is separate: GRPO at learning rate 0 through the whole pipeline (rollouts, checkpoint, reload,
measurement) must give exactly the base's tag probabilities and correct counts. It is not a replication.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from experiments.three_strategy.points import METRICS, Point, every_problem
from rlvr.tasks.strategies.problems import COMMON_TAG, RARE_TAG, STRATEGY_NAMES, TAGS, UNCOMMON_TAG

MIX_RANGES = {COMMON_TAG: (0.80, 0.95), UNCOMMON_TAG: (0.05, 0.16), RARE_TAG: (0.01, 0.04)}
MIN_FOLLOWED = 0.90
MAX_CARRY_PASS1, MIN_CARRY_PASS64 = 0.06, 0.5
MIN_PUSH_CHANGE, MIN_COUPLING = 0.02, 0.5


def base_checks(base: Point, pushed: Point) -> dict:
    """The four checks on one base, each with the numbers it was decided on."""
    index = every_problem(base)
    mix = {STRATEGY_NAMES[tag]: float(base.p_tag[tag].mean()) for tag in TAGS}
    followed = {
        label: {STRATEGY_NAMES[tag]: share for tag, share in shares.items()}
        for label, shares in base.followed_by_class.items()
    }
    carry_pass1, carry_pass64 = METRICS["carry_pass1"](base, index), METRICS["carry_pass64"](base, index)
    changes = {}
    for label in ("carries", "no_carry"):
        before = METRICS[f"p_y_{label}"](base, index)
        after = METRICS[f"p_y_{label}"](pushed, index)
        changes[label] = after / before - 1
    carried_over = changes["carries"] / changes["no_carry"] if changes["no_carry"] else float("nan")
    w_before = float(base.p_tag[UNCOMMON_TAG][base.carries].mean())
    w_after = float(pushed.p_tag[UNCOMMON_TAG][pushed.carries].mean())
    return {
        "a_mix": {
            "values": mix,
            "passed": all(low <= mix[STRATEGY_NAMES[tag]] <= high for tag, (low, high) in MIX_RANGES.items()),
        },
        "b_procedures": {
            "values": followed,
            "passed": all(share >= MIN_FOLLOWED for shares in followed.values() for share in shares.values()),
        },
        "c_hard_but_reachable": {
            "values": {"carry_pass1": carry_pass1, "carry_pass64": carry_pass64},
            "passed": carry_pass1 <= MAX_CARRY_PASS1 and carry_pass64 >= MIN_CARRY_PASS64,
        },
        "d_coupling": {
            "values": {
                "relative_change_no_carry": changes["no_carry"],
                "relative_change_carries": changes["carries"],
                "carried_over": carried_over,
                "p_w_carries_before": w_before,
                "p_w_carries_after": w_after,
            },
            "passed": abs(changes["no_carry"]) >= MIN_PUSH_CHANGE and carried_over >= MIN_COUPLING,
        },
    }


def determinism_check(base: Point, at_rate_zero: Point) -> dict:
    """Exact equality of the tag probabilities and of the correct counts."""
    largest = max(float(np.abs(base.p_tag[tag] - at_rate_zero.p_tag[tag]).max()) for tag in TAGS)
    same_counts = bool(np.array_equal(base.num_correct, at_rate_zero.num_correct))
    return {
        "largest_probability_difference": largest,
        "same_correct_counts": same_counts,
        "passed": largest == 0.0 and same_counts,
    }


def gate(bases: Mapping[int, Point], pushed: Mapping[int, Point], at_rate_zero: Mapping[int, Point]) -> dict:
    by_seed = {str(seed): base_checks(bases[seed], pushed[seed]) for seed in bases}
    determinism = {str(seed): determinism_check(bases[seed], at_rate_zero[seed]) for seed in bases}
    passed = all(check["passed"] for checks in by_seed.values() for check in checks.values())
    return {
        "by_seed": by_seed,
        "determinism": determinism,
        "passed": passed,
        "determinism_passed": all(check["passed"] for check in determinism.values()),
    }
