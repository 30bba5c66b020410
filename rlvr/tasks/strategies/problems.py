"""Three-strategy addition: ``a+b=`` answered by one of three procedures, each marked by its first character.

The prompt is ``a+b=`` with a in 0-99 and b in 0-9; a problem *carries* when a's units and b reach 10. Writing a's
tens digit t, the three procedures are deterministic (no random slips, so RL cannot gain by sharpening digits):

- X, tag ``-`` (common after the warm start): forgets the carry, and on problems without a carry whose tens digit
  is 7 or 8 writes the tens digit one too high;
- W, tag ``*`` (uncommon): forgets the carry, and is otherwise always right;
- Y, tag ``+`` (rare): always right with a carry; without one, when t is 1, 3, 5 or 7 it writes the units digit one
  too high (mod 10).

So on problems without a carry W is always right, X is wrong on a fifth and Y on two fifths; on problems with a
carry only Y is ever right. The RL training mix holds 10% carry problems, on which Y is the worst of the three (0.64
against X 0.72 and W 0.90): a first-order reason to give the rare strategy up, though it is the only one that
solves the hard problems. The supervised warm start shows the tags independently of the problem.

Train and test never share a problem, nor a problem and its commuted twin: the split of the two-procedure toy
(rlvr/tasks/carry/problems.py), a fixed hash of the unordered pair.
"""

from __future__ import annotations

import random
from functools import cache

from rlvr.errors import UserError
from rlvr.tasks.carry.problems import carries, split_of

COMMON_TAG, UNCOMMON_TAG, RARE_TAG = "-", "*", "+"  # X, W, Y
TAGS = (COMMON_TAG, UNCOMMON_TAG, RARE_TAG)
STRATEGY_NAMES = {COMMON_TAG: "X", UNCOMMON_TAG: "W", RARE_TAG: "Y"}
# The share of each tag in the warm start's rows (docs/objectives.md, "The second toy"): 88% X, 10% W, 2% Y.
WARM_START_SHARES = {COMMON_TAG: 0.88, UNCOMMON_TAG: 0.10, RARE_TAG: 0.02}
TRAINING_CARRY_SHARE = 0.10  # the RL training mix
X_BUG_TENS = frozenset({7, 8})
Y_BUG_TENS = frozenset({1, 3, 5, 7})
SPLITS = ("train", "test")
# warm-start: every train problem equally often, tags drawn with WARM_START_SHARES; training-mix: 10% carry problems
# (the RL prompts); push-w: problems without a carry, every row tagged W (the gate's reward-free supervised push).
DATASETS = ("training-mix", "warm-start", "push-w")


def answer_by(tag: str, a: int, b: int) -> int:
    """The answer strategy ``tag`` gives.

    >>> [answer_by(tag, 47, 5) for tag in "-*+"]  # carries: only Y is right
    [42, 42, 52]
    >>> [answer_by(tag, 72, 4) for tag in "-*+"]  # no carry, tens 7: X and Y have their bugs
    [86, 76, 77]
    >>> [answer_by(tag, 42, 4) for tag in "-*+"]  # no carry, tens 4: all right
    [46, 46, 46]
    """
    if tag not in TAGS:
        raise ValueError(f"unknown strategy tag {tag!r}")
    total, tens = a + b, a // 10
    if carries(a, b):
        return total if tag == RARE_TAG else total - 10
    if tag == COMMON_TAG and tens in X_BUG_TENS:
        return total + 10
    if tag == RARE_TAG and tens in Y_BUG_TENS:
        return total - total % 10 + (total + 1) % 10
    return total


def right_tags(a: int, b: int) -> tuple[str, ...]:
    """The tags whose procedure answers ``a+b`` right."""
    return tuple(tag for tag in TAGS if answer_by(tag, a, b) == a + b)


@cache
def problems_of(split: str, carrying: bool | None = None) -> tuple[tuple[int, int], ...]:
    """Every (a, b) of ``split`` in a fixed order; only those that carry (True) or do not (False) when asked."""
    if split not in SPLITS:
        raise UserError(f"strategies: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return tuple(
        (a, b)
        for a in range(100)
        for b in range(10)
        if split_of(a, b) == split and (carrying is None or carries(a, b) == carrying)
    )


def problem_row(a: int, b: int, tag: str) -> dict:
    return {"expression": f"{a}+{b}", "answer": a + b, "carries": carries(a, b), "strategy": tag}


def held_out_rows(num_rows: int | None, seed: int) -> list[dict]:
    """``num_rows`` distinct test problems (all when None) in an order drawn with ``seed``; tagged Y (no use)."""
    problems = list(problems_of("test"))
    if num_rows is not None and not 0 < num_rows <= len(problems):
        raise UserError(f"strategies: the test split holds {len(problems)} problems; asked for {num_rows}")
    random.Random(f"strategies-test-{seed}").shuffle(problems)
    return [problem_row(a, b, RARE_TAG) for a, b in problems[:num_rows]]


def training_rows(dataset: str, num_rows: int, seed: int) -> list[dict]:
    """``num_rows`` rows of train problems drawn with replacement, as ``dataset`` says (see DATASETS)."""
    if dataset not in DATASETS:
        raise UserError(f"unknown strategies dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    if num_rows <= 0:
        raise UserError(f"strategies: subset size must be a positive number of rows, got {num_rows}")
    picks, tags = random.Random(f"strategies-{dataset}-{seed}"), random.Random(f"strategies-tags-{seed}")
    carrying, plain = problems_of("train", True), problems_of("train", False)
    every = problems_of("train")
    tag_names, tag_weights = list(WARM_START_SHARES), list(WARM_START_SHARES.values())
    rows = []
    for _ in range(num_rows):
        if dataset == "warm-start":
            a, b = picks.choice(every)
        elif dataset == "push-w":
            a, b = picks.choice(plain)
        else:
            a, b = picks.choice(carrying if picks.random() < TRAINING_CARRY_SHARE else plain)
        tag = UNCOMMON_TAG if dataset == "push-w" else tags.choices(tag_names, tag_weights)[0]
        rows.append(problem_row(a, b, tag))
    return rows
