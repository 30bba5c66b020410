"""Seeded Countdown problems with a known solution, and a small exhaustive solver.

A problem is 3 or 4 numbers from 1 to 99 and a whole-number target from 1 to 99 reached by one random
expression over all of them; that expression is stored as the row's ``solution``. Train and test never share a
problem: each (numbers, target) pair belongs to one split by a fixed hash, whatever the seed, and the seed only
decides which problems of that split are drawn.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Sequence
from fractions import Fraction
from itertools import combinations
from math import comb

from rlvr.errors import UserError

# A leaf is a given number; an inner node is (operator, left, right).
Node = int | tuple[str, "Node", "Node"]

NUMBER_COUNTS = (3, 4)
NUMBER_RANGE = (1, 99)
TARGET_RANGE = (1, 99)
SPLITS = ("train", "test")
TEST_SHARE = 5  # one problem in five belongs to the test split
DEFAULT_SPLIT_SIZES = {"train": 2000, "test": 200}
# Draws per row asked for before a split is taken to hold no more problems: the loop always ends.
ATTEMPTS_PER_ROW = 1000
# Above this many numbers the exhaustive search gets slow (six numbers: tens of millions of trees).
MAX_SOLVER_NUMBERS = 5
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def split_of(nums: Sequence[int], target: int) -> str:
    """The split a problem belongs to, the same for every seed and every order of its numbers."""
    key = f"{sorted(nums)}->{target}".encode()
    return "test" if zlib.crc32(key) % TEST_SHARE == 0 else "train"


def node_value(node: Node) -> Fraction | None:
    """The exact value of an expression tree, or ``None`` where it divides by zero."""
    if isinstance(node, int):
        return Fraction(node)
    operator, left_node, right_node = node
    left, right = node_value(left_node), node_value(right_node)
    if left is None or right is None:
        return None
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    return None if right == 0 else left / right


def render(node: Node) -> str:
    """The expression as text with only the parentheses it needs.

    >>> render(("*", ("-", 6, 2), 5)), render(("-", 9, ("-", 4, 1)))
    ('(6 - 2) * 5', '9 - (4 - 1)')
    """
    if isinstance(node, int):
        return str(node)
    operator, left, right = node
    left_text = _operand_text(left, operator, is_right=False)
    right_text = _operand_text(right, operator, is_right=True)
    return f"{left_text} {operator} {right_text}"


def _operand_text(node: Node, parent: str, is_right: bool) -> str:
    text = render(node)
    if isinstance(node, int):
        return text
    child, outer = PRECEDENCE[node[0]], PRECEDENCE[parent]
    # a - (b - c) and a / (b / c) keep their parentheses; a + (b + c) and a * (b * c) do not need them.
    needs_parentheses = child < outer or (is_right and child == outer and parent in "-/")
    return f"({text})" if needs_parentheses else text


def random_tree(rng: random.Random, nums: Sequence[int]) -> Node:
    """A random expression using each of ``nums`` once, in a random order and shape."""
    order = list(nums)
    rng.shuffle(order)
    return _random_subtree(rng, order)


def _random_subtree(rng: random.Random, numbers: list[int]) -> Node:
    if len(numbers) == 1:
        return numbers[0]
    cut = rng.randint(1, len(numbers) - 1)
    operator = rng.choice("+-*/")
    return (operator, _random_subtree(rng, numbers[:cut]), _random_subtree(rng, numbers[cut:]))


def generate_countdown_problems(num_rows: int, seed: int, split: str) -> list[dict]:
    """``num_rows`` distinct solvable problems of ``split``: rows ``{"nums", "target", "solution"}``.

    >>> rows = generate_countdown_problems(2, seed=0, split="train")
    >>> sorted(rows[0])
    ['nums', 'solution', 'target']
    """
    if split not in SPLITS:
        raise UserError(f"synthetic: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    rng = random.Random(f"countdown-{split}-{seed}")
    rows: list[dict] = []
    seen: set[tuple[tuple[int, ...], int]] = set()
    for _ in range(ATTEMPTS_PER_ROW * num_rows):
        if len(rows) == num_rows:
            return rows
        nums = [rng.randint(*NUMBER_RANGE) for _ in range(rng.choice(NUMBER_COUNTS))]
        tree = random_tree(rng, nums)
        value = node_value(tree)
        if value is None or value.denominator != 1 or not TARGET_RANGE[0] <= value <= TARGET_RANGE[1]:
            continue
        target = int(value)
        key = (tuple(sorted(nums)), target)
        if key in seen or split_of(nums, target) != split:
            continue
        seen.add(key)
        rows.append({"nums": nums, "target": target, "solution": render(tree)})
    if len(rows) < num_rows:
        raise UserError(f"synthetic: found only {len(rows)} distinct {split} problems; ask for fewer rows")
    return rows


def most_problems() -> int:
    """An upper bound of the distinct problems of both splits: every multiset of NUMBER_COUNTS numbers from
    NUMBER_RANGE, times every target."""
    values = NUMBER_RANGE[1] - NUMBER_RANGE[0] + 1
    multisets = sum(comb(values + count - 1, count) for count in NUMBER_COUNTS)
    return multisets * (TARGET_RANGE[1] - TARGET_RANGE[0] + 1)


def solve(nums: Sequence[int], target: float) -> str | None:
    """An expression using each of ``nums`` once that equals ``target`` exactly, or ``None`` when none exists.

    >>> solve([2, 5, 6], 20), solve([1, 1], 7)
    ('5 * (6 - 2)', None)
    """
    if not nums or len(nums) > MAX_SOLVER_NUMBERS:
        return None
    found = _search([(Fraction(number), int(number)) for number in nums], Fraction(target))
    return None if found is None else render(found)


def _search(items: list[tuple[Fraction, Node]], goal: Fraction) -> Node | None:
    """Combine two of the remaining values in every way, until one value is left."""
    if len(items) == 1:
        value, node = items[0]
        return node if value == goal else None
    for first, second in combinations(range(len(items)), 2):
        rest = [item for index, item in enumerate(items) if index not in (first, second)]
        for combined in _pair_results(items[first], items[second]):
            found = _search([*rest, combined], goal)
            if found is not None:
                return found
    return None


def _pair_results(a: tuple[Fraction, Node], b: tuple[Fraction, Node]) -> Iterator[tuple[Fraction, Node]]:
    (x, left), (y, right) = a, b
    yield x + y, ("+", left, right)
    yield x * y, ("*", left, right)
    yield x - y, ("-", left, right)
    yield y - x, ("-", right, left)
    if y != 0:
        yield x / y, ("/", left, right)
    if x != 0:
        yield y / x, ("/", right, left)
