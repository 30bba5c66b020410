"""A measured model as arrays over the held-out problems, and every metric of the report as a function of them.

A *point* is one model measured (measure.py): per problem, its correct count of n samples, whether it carries, the
exact first-token probability of each tag, the tag entropy and the KL to its base. Metrics take the point and a
vector of problem indices, so a bootstrap can resample problems and recompute every metric, matched ones included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlvr.estimators import pass_at_k
from rlvr.tasks.strategies.problems import COMMON_TAG, RARE_TAG, TAGS, TRAINING_CARRY_SHARE, UNCOMMON_TAG


@dataclass(frozen=True)
class Point:
    step: int
    num_samples: int
    carries: np.ndarray  # bool, per problem
    num_correct: np.ndarray
    p_tag: dict[str, np.ndarray]
    tag_entropy: np.ndarray
    kl: np.ndarray
    tagged: dict[str, int]
    followed: dict[str, int]
    followed_by_class: dict[str, dict[str, float]]
    _pass_cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def pass_at(self, k: int) -> np.ndarray:
        """Per-problem unbiased Pass@k (computed once per k: the bootstrap asks for it thousands of times)."""
        if k not in self._pass_cache:
            totals = np.full(self.num_correct.shape, self.num_samples)
            self._pass_cache[k] = pass_at_k(totals, self.num_correct, k)
        return self._pass_cache[k]


def load_points(path: Path | str, steps: list[int] | None = None) -> list[Point]:
    """Every checkpoint measured in one file of measure.py, in order; ``steps`` names their training steps."""
    checkpoints = json.loads(Path(path).read_text())["checkpoints"]
    points = []
    for index, checkpoint in enumerate(checkpoints):
        problems = checkpoint["problems"]
        carries = np.array([problem["carries"] for problem in problems], dtype=bool)
        followed_by_class = {}
        for label, wanted in (("carries", True), ("no_carry", False)):
            chosen = [problem for problem in problems if problem["carries"] == wanted]
            followed_by_class[label] = {
                tag: sum(p["followed"][tag] for p in chosen) / max(sum(p["tagged"][tag] for p in chosen), 1)
                for tag in TAGS
            }
        points.append(
            Point(
                step=steps[index] if steps else 0,
                num_samples=checkpoint["num_samples"],
                carries=carries,
                num_correct=np.array([problem["num_correct"] for problem in problems]),
                p_tag={tag: np.array([problem["p_tag"][tag] for problem in problems]) for tag in TAGS},
                tag_entropy=np.array([problem["tag_entropy"] for problem in problems]),
                kl=np.array([problem["kl_to_reference"] for problem in problems]),
                tagged={tag: sum(problem["tagged"][tag] for problem in problems) for tag in TAGS},
                followed={tag: sum(problem["followed"][tag] for problem in problems) for tag in TAGS},
                followed_by_class=followed_by_class,
            )
        )
    return points


Metric = Callable[[Point, np.ndarray], float]


def _mean_where(values: np.ndarray, mask: np.ndarray, index: np.ndarray) -> float:
    chosen = index[mask[index]]
    return float(values[chosen].mean()) if len(chosen) else float("nan")


def carry_pass_at(k: int) -> Metric:
    """Pass@k on the carry problems; k is capped at n / 4 (only the smoke run, with n = 16, reaches the cap)."""
    return lambda point, index: _mean_where(point.pass_at(min(k, point.num_samples // 4)), point.carries, index)


def pass1_training_mix(point: Point, index: np.ndarray) -> float:
    """Pass@1 weighted as the training mix draws problems: 10% carry, 90% not."""
    values = point.pass_at(1)
    carrying = _mean_where(values, point.carries, index)
    plain = _mean_where(values, ~point.carries, index)
    return TRAINING_CARRY_SHARE * carrying + (1 - TRAINING_CARRY_SHARE) * plain


def tag_probability(tag: str, on_carries: bool) -> Metric:
    return lambda point, index: _mean_where(point.p_tag[tag], point.carries == on_carries, index)


def tag_entropy(point: Point, index: np.ndarray) -> float:
    return float(point.tag_entropy[index].mean())


def sqrt_kl(point: Point, index: np.ndarray) -> float:
    return float(np.sqrt(max(point.kl[index].mean(), 0.0)))


METRICS: dict[str, Metric] = {
    "pass1_mix": pass1_training_mix,
    "pass1_no_carry": lambda point, index: _mean_where(point.pass_at(1), ~point.carries, index),
    "carry_pass1": carry_pass_at(1),
    "carry_pass8": carry_pass_at(8),
    "carry_pass64": carry_pass_at(64),
    "p_y_carries": tag_probability(RARE_TAG, True),
    "p_y_no_carry": tag_probability(RARE_TAG, False),
    "p_w_no_carry": tag_probability(UNCOMMON_TAG, False),
    "p_x_no_carry": tag_probability(COMMON_TAG, False),
    "tag_entropy": tag_entropy,
    "sqrt_kl": sqrt_kl,
}
METRIC_LABELS = {
    "pass1_mix": "Pass@1 (training mix)",
    "pass1_no_carry": "Pass@1 (no carry)",
    "carry_pass1": "carry Pass@1",
    "carry_pass8": "carry Pass@8",
    "carry_pass64": "carry Pass@64",
    "p_y_carries": "P(Y) on carry problems",
    "p_y_no_carry": "P(Y) without a carry",
    "p_w_no_carry": "P(W) without a carry",
    "p_x_no_carry": "P(X) without a carry",
    "tag_entropy": "tag entropy (nats)",
    "sqrt_kl": "sqrt(KL to base)",
}


def every_problem(point: Point) -> np.ndarray:
    return np.arange(len(point.num_correct))


def metric_values(point: Point, k_values: tuple[int, ...]) -> dict[str, float]:
    """Every metric on all problems, plus carry Pass@k for each k (the curve)."""
    index = every_problem(point)
    values = {name: metric(point, index) for name, metric in METRICS.items()}
    values["carry_pass_at_k"] = {str(k): carry_pass_at(k)(point, index) for k in k_values}
    return values
