"""Two-procedure addition: a common strategy that forgets the carry and a rare one that always adds right.

The prompt is ``a+b=`` with a in 0-99 and b in 0-9. The completion is a strategy tag, then the answer:

- tag ``-`` (strategy X, the common one) adds the units and *forgets the carry*: ``47+5=`` -> ``-42``. It is right
  exactly when the units do not carry (55 of every 100 problems);
- tag ``+`` (strategy Y, the rare one) adds correctly: ``47+5=`` -> ``+52``.

The supervised warm start sees X on most rows and Y on a few, the tag drawn independently of the problem, so the
base model mixes a common, sometimes-wrong strategy with a rare, always-right one whatever the prompt. A problem
that carries is solved only through the rare strategy. One tag for every problem makes Pass@1 and the carry
problems' Pass@k rise together with the rare strategy's probability, so the paper's large-k claims cannot come
out against it here (rlvr/tasks/strategies is the toy where they can).

Train and test never share a problem, nor a problem and its commuted twin (``3+7`` and ``7+3``): the split is a
fixed hash of the unordered pair, whatever the seed.
"""

from __future__ import annotations

import random
import zlib
from functools import cache

from rlvr.errors import UserError

FORGETS_CARRY_TAG = "-"  # strategy X
CARRIES_TAG = "+"  # strategy Y
TAGS = (FORGETS_CARRY_TAG, CARRIES_TAG)
SPLITS = ("train", "test")
TEST_SHARE = 5  # one unordered pair in five belongs to the test split
# The family of problems each dataset holds: every problem, or only those whose units do not carry.
DATASETS = ("two-procedure", "no-carry")


def carries(a: int, b: int) -> bool:
    return a % 10 + b >= 10


def answer_by(tag: str, a: int, b: int) -> int:
    """The answer strategy ``tag`` gives: the sum for Y, the sum less the forgotten carry for X.

    >>> answer_by("+", 47, 5), answer_by("-", 47, 5), answer_by("-", 95, 7), answer_by("-", 41, 5)
    (52, 42, 92, 46)
    """
    if tag not in TAGS:
        raise ValueError(f"unknown strategy tag {tag!r}")
    return a + b - (10 if tag == FORGETS_CARRY_TAG and carries(a, b) else 0)


def split_of(a: int, b: int) -> str:
    """The split of a problem and of its commuted twin, the same for every seed."""
    low, high = sorted((a, b))
    return "test" if zlib.crc32(f"{low}+{high}".encode()) % TEST_SHARE == 0 else "train"


@cache
def problems_of(dataset: str, split: str) -> tuple[tuple[int, int], ...]:
    """Every (a, b) of ``dataset`` in ``split``, in a fixed order."""
    if dataset not in DATASETS:
        raise UserError(f"unknown carry dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise UserError(f"carry: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return tuple(
        (a, b)
        for a in range(100)
        for b in range(10)
        if split_of(a, b) == split and (dataset == "two-procedure" or not carries(a, b))
    )


def problem_row(a: int, b: int, tag: str) -> dict:
    return {"expression": f"{a}+{b}", "answer": a + b, "carries": carries(a, b), "strategy": tag}


def held_out_rows(dataset: str, num_rows: int | None, seed: int) -> list[dict]:
    """``num_rows`` distinct test problems (all when None) in an order drawn with ``seed``; tagged Y, the right one."""
    problems = list(problems_of(dataset, "test"))
    if num_rows is not None and not 0 < num_rows <= len(problems):
        raise UserError(f"carry: the test split of {dataset} holds {len(problems)} problems; asked for {num_rows}")
    random.Random(f"carry-{dataset}-test-{seed}").shuffle(problems)
    return [problem_row(a, b, CARRIES_TAG) for a, b in problems[:num_rows]]


def training_rows(dataset: str, num_rows: int, seed: int, carry_share: float) -> list[dict]:
    """``num_rows`` rows of train problems drawn with replacement; each row's tag is Y with probability
    ``carry_share``, drawn independently of the problem (its own random stream)."""
    if num_rows <= 0:
        raise UserError(f"carry: subset size must be a positive number of rows, got {num_rows}")
    problems = problems_of(dataset, "train")
    picks, tags = random.Random(f"carry-{dataset}-train-{seed}"), random.Random(f"carry-tags-{seed}")
    rows = []
    for _ in range(num_rows):
        a, b = picks.choice(problems)
        rows.append(problem_row(a, b, CARRIES_TAG if tags.random() < carry_share else FORGETS_CARRY_TAG))
    return rows
