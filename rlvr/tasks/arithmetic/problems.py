"""The problems of the arithmetic toy task: ``a+b*c`` with a and b below 100 and c a single digit.

A multiplication in front of an addition, answered without any working, is hard for a ~1M-parameter model: after
a short supervised warm-up some problems are solved almost always, others almost never, and many sit between. That
spread is what a Pass@k curve needs: room to sharpen (Pass@1) and room to widen (Pass@k at large k).

Train and test never share a problem: each expression belongs to one split by a fixed hash, whatever the seed; the
seed only decides which problems of that split are drawn.
"""

from __future__ import annotations

import random
import zlib
from functools import cache

from rlvr.errors import UserError

A_RANGE = (0, 99)
B_RANGE = (0, 99)
C_RANGE = (0, 9)
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


def split_of(expression: str) -> str:
    """The split an expression belongs to, the same for every seed."""
    return "test" if zlib.crc32(expression.encode()) % TEST_SHARE == 0 else "train"


@cache
def _operands_of_split(split: str) -> tuple[tuple[int, int, int], ...]:
    # 100k expressions in all: enumerating them once is cheaper and simpler than rejection sampling.
    return tuple(
        (a, b, c)
        for a in range(A_RANGE[0], A_RANGE[1] + 1)
        for b in range(B_RANGE[0], B_RANGE[1] + 1)
        for c in range(C_RANGE[0], C_RANGE[1] + 1)
        if split_of(expression_of(a, b, c)) == split
    )


def generate_problems(num_rows: int, seed: int, split: str) -> list[dict]:
    """``num_rows`` distinct problems of ``split`` drawn with ``seed``: rows ``{"expression", "answer"}``.

    >>> generate_problems(2, seed=0, split="test") == generate_problems(2, seed=0, split="test")
    True
    """
    if split not in SPLITS:
        raise UserError(f"arithmetic: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    operands = _operands_of_split(split)
    if not 0 < num_rows <= len(operands):
        raise UserError(f"arithmetic: the {split} split holds {len(operands)} problems; asked for {num_rows}")
    chosen = random.Random(f"arithmetic-{split}-{seed}").sample(operands, num_rows)
    return [{"expression": expression_of(*abc), "answer": answer_of(*abc)} for abc in chosen]
