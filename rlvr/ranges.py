"""The range of every numeric option, checked in one place: each command keeps a table of its options' ranges
(``Range``), and ``check_ranges`` refuses a value outside one in a single line naming the option, before anything
slow runs. An integer option's range ends at the largest int64 unless it says otherwise: torch and numpy hold
counts, sizes and seeds as int64, so a larger one could only fail later with a traceback.

tests/test_option_ranges.py checks that every int or float option of every command has a range here.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass

from rlvr.errors import UserError

INT64_MAX = 2**63 - 1
# Sampling divides the logits by the temperature in float32: below this it is greedy decoding in effect, and far
# below it (1e-320) the division overflows to inf and sampling fails on NaN once the model is loaded.
MIN_SAMPLING_TEMPERATURE = 1e-4


@dataclass(frozen=True)
class Range:
    """The values an option takes: ``low`` to ``high`` (None: unbounded on that side, except that an integer stops
    at INT64_MAX), each end excluded where ``*_open``; ``also`` lists single values allowed outside it (-1 for
    "no limit", 0 for greedy decoding); ``why`` says what the range protects, shown with a refusal."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    also: tuple[float, ...] = ()
    why: str = ""

    def contains(self, value: float) -> bool:
        if isinstance(value, bool) or (self.integer and not isinstance(value, int)):
            return False
        if value in self.also:
            return True
        try:
            if not self.integer and not math.isfinite(value):
                return False
        except OverflowError:  # an integer too large for a float
            return False
        high = INT64_MAX if self.integer and self.high is None else self.high
        above_low = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below_high = high is None or (value < high if self.high_open else value <= high)
        return above_low and below_high

    def describe(self) -> str:
        if self.integer and self.low in (0, 1) and self.high is None and not self.low_open:
            text = "be a positive integer" if self.low == 1 else "be a non-negative integer"
        else:
            text = f"be {'an integer' if self.integer else 'a finite number'} {self._bounds()}".rstrip()
        if self.also:
            text += f", or {' or '.join(_number(value) for value in self.also)}"
        return text + (f" ({self.why})" if self.why else "")

    def _bounds(self) -> str:
        high = self.high
        if self.low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{_number(self.low)}, {_number(high)}{right}"
        if self.low is not None:
            return f"{'above' if self.low_open else 'of at least'} {_number(self.low)}"
        if high is not None:
            return f"{'below' if self.high_open else 'of at most'} {_number(high)}"
        return ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# The ranges most options share.
POSITIVE_INT = Range(low=1, integer=True)
NON_NEGATIVE = Range(low=0)
ABOVE_ZERO = Range(low=0, low_open=True)
FINITE = Range()
PROBABILITY_MASS = Range(low=0, high=1, low_open=True)  # top-p, a share of memory: (0, 1]
SEED = Range(low=0, high=2**32 - 1, integer=True, why="numpy's seed range")
SAMPLING_TEMPERATURE = Range(
    low=MIN_SAMPLING_TEMPERATURE, why="below it sampling is greedy in effect, and far below it fails on NaN"
)


def check_value(flag: str, value: float | None, allowed: Range) -> None:
    """Refuse ``value`` of ``flag`` outside ``allowed`` (None: the option was not given)."""
    if value is None:
        return
    if allowed.contains(value):
        return
    if allowed.integer and allowed.high is None and isinstance(value, int) and value > INT64_MAX:
        raise UserError(f"{flag} must be at most {INT64_MAX} (torch and numpy hold it as an int64), got {value}")
    raise UserError(f"{flag} must {allowed.describe()}, got {value}")


def check_ranges(values: Mapping[str, object], ranges: Mapping[str, Range]) -> None:
    """Check each of ``values`` (keyed by argparse dest, as ``vars(args)``) that ``ranges`` names; a list (an option
    of several values) is checked value by value."""
    for name, allowed in ranges.items():
        value = values.get(name)
        for item in value if isinstance(value, list | tuple) else [value]:
            check_value(flag_of(name), item, allowed)  # type: ignore[arg-type]


def flag_of(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def numeric_options(parser: argparse.ArgumentParser) -> list[str]:
    """The dest of every option whose values are ints or floats: each needs a range."""
    return [action.dest for action in parser._actions if action.type in (int, float) and action.option_strings]


def beyond_int64(value: object) -> int | None:
    """The first integer in ``value`` (a file's value: nested lists and objects searched) that int64 cannot hold,
    or None: Arrow and numpy hold integers as int64 and stop on a larger one with a traceback."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if not -(2**63) <= value <= INT64_MAX else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = beyond_int64(item)
        if found is not None:
            return found
    return None
