"""The problems of the arithmetic toy task, in two families (datasets):

- ``synthetic`` (the default): ``a+b*c`` with a and b below 100 and c a single digit;
- ``addition``: ``a+b`` with a and b below 100: after a short warm-up the model is right often enough for RL to
  have a signal and wrong often enough to leave room (docs/objectives.md, "Choices").

A multiplication in front of an addition, answered without any working, is hard for a ~1M-parameter model: after
a short supervised warm-up some problems are solved almost always, others almost never, and many sit between. That
spread is what a Pass@k curve needs: room to sharpen (Pass@1) and room to widen (Pass@k at large k).

Train and test never share a problem: each expression belongs to one split by a fixed hash, whatever the seed; the
seed only decides which problems of that split are drawn.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from rlvr.errors import UserError

SPLITS = ("train", "test")
TEST_SHARE = 5  # one expression in five belongs to the test split


def expression_of(a: int, b: int, c: int) -> str:
    """The problem as the model reads it, without the ``=`` the prompt adds.

    >>> expression_of(12, 34, 5)
    '12+34*5'
    """
    return f"{a}+{b}*{c}"


def answer_of(a: int, b: int, c: int) -> int:
    """Multiplication first, as everywhere: 12+34*5 is 182, not 230."""
    return a + b * c


@dataclass(frozen=True)
class ProblemFamily:
    operand_ranges: tuple[tuple[int, int], ...]  # inclusive bounds of each operand
    expression: Callable[..., str]
    answer: Callable[..., int]


FAMILIES = {
    "synthetic": ProblemFamily(((0, 99), (0, 99), (0, 9)), expression_of, answer_of),
    "addition": ProblemFamily(((0, 99), (0, 99)), lambda a, b: f"{a}+{b}", lambda a, b: a + b),
}


def split_of(expression: str) -> str:
    """The split an expression belongs to, the same for every seed."""
    return "test" if zlib.crc32(expression.encode()) % TEST_SHARE == 0 else "train"


@cache
def _operands_of_split(family: str, split: str) -> tuple[tuple[int, ...], ...]:
    # At most 1M expressions: enumerating them once is cheaper and simpler than rejection sampling.
    spec = FAMILIES[family]
    ranges = (range(low, high + 1) for low, high in spec.operand_ranges)
    return tuple(operands for operands in itertools.product(*ranges) if split_of(spec.expression(*operands)) == split)


def problems_in_split(family: str, split: str) -> int:
    return len(_operands_of_split(family, split))


def generate_problems(num_rows: int, seed: int, split: str, family: str = "synthetic") -> list[dict]:
    """``num_rows`` distinct problems of ``split`` drawn with ``seed``: rows ``{"expression", "answer"}``.

    >>> generate_problems(2, seed=0, split="test") == generate_problems(2, seed=0, split="test")
    True
    """
    if split not in SPLITS:
        raise UserError(f"arithmetic: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    operands = _operands_of_split(family, split)
    if not 0 < num_rows <= len(operands):
        raise UserError(f"arithmetic: the {split} split holds {len(operands)} problems; asked for {num_rows}")
    # The synthetic family keeps its original stream of draws, so its problems did not move.
    stream = f"arithmetic-{split}-{seed}" if family == "synthetic" else f"arithmetic-{family}-{split}-{seed}"
    chosen = random.Random(stream).sample(operands, num_rows)
    spec = FAMILIES[family]
    return [{"expression": spec.expression(*picked), "answer": spec.answer(*picked)} for picked in chosen]
