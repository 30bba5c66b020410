"""The predictions, as the report judges them: each written down in docs/objectives.md before the run.

Every test is a difference between two arms (or an arm and the base) with its bootstrap interval (bootstrap.py):

- ``greater`` / ``less``: reproduced when the interval lies on the predicted side of 0, contradicted when it lies on
  the other side, inconclusive when it holds 0;
- ``noninferior``: "not worse than by more than ``margin``": reproduced when the interval's low end is above
  -margin, contradicted when its high end is below -margin, inconclusive otherwise.

A prediction with several tests is reproduced when all are, contradicted when any is. Each learning rate is judged
on its own; the prediction's verdict is the rates' common verdict, "inconclusive" when they differ, and "not
testable" at a rate where the gate failed, the pipeline was not deterministic, or GRPO did not learn (its
reward-dependent change in Pass@1 on the training mix has an interval that holds 0).
"""

from __future__ import annotations

from dataclasses import dataclass

VERDICTS = ("reproduced", "contradicted", "inconclusive", "not testable")


@dataclass(frozen=True)
class Check:
    arm: str  # "base" for the base model
    reference: str
    metric: str
    kind: str  # "greater", "less" or "noninferior"
    at: str = "end"  # "end", "matched_pass1" or "matched_kl"
    margin: float = 0.0


@dataclass(frozen=True)
class Prediction:
    key: str
    claim: str
    contradicted_by: str
    checks: tuple[Check, ...]


PREDICTIONS = (
    Prediction(
        "P1", "PSR narrows: Pass@1 on the training mix rises and carry Pass@64 falls, against the base",
        "PSR's carry Pass@64 rises, or its Pass@1 falls",
        (Check("psr", "base", "pass1_mix", "greater"), Check("psr", "base", "carry_pass64", "less")),
    ),
    Prediction(
        "P2", "NSR keeps coverage: carry Pass@64 not below the base's by more than 0.05",
        "NSR's carry Pass@64 falls by more than 0.05",
        (Check("nsr", "base", "carry_pass64", "noninferior", margin=0.05),),
    ),
    Prediction(
        "P3", "NSR covers more than PSR at the end: carry Pass@64, NSR - PSR > 0",
        "PSR's carry Pass@64 is above NSR's",
        (Check("nsr", "psr", "carry_pass64", "greater"),),
    ),
    Prediction(
        "P4", "At matched Pass@1 (training mix), PSR's carry Pass@64 is below NSR's",
        "PSR's carry Pass@64 is above NSR's at the same Pass@1",
        (Check("psr", "nsr", "carry_pass64", "less", at="matched_pass1"),),
    ),
    Prediction(
        "P5", "At matched sqrt(KL to base), PSR's carry Pass@64 is below NSR's",
        "PSR's carry Pass@64 is above NSR's at the same distance from the base",
        (Check("psr", "nsr", "carry_pass64", "less", at="matched_kl"),),
    ),
    Prediction(
        "P6", "PSR is narrower: at matched Pass@1, its tag entropy is below NSR's",
        "PSR's tag entropy is above NSR's at the same Pass@1",
        (Check("psr", "nsr", "tag_entropy", "less", at="matched_pass1"),),
    ),
    Prediction(
        "P7", "GRPO narrows like PSR: carry Pass@64, NSR - GRPO > 0 at the end",
        "GRPO's carry Pass@64 is above NSR's",
        (Check("nsr", "grpo", "carry_pass64", "greater"),),
    ),
    Prediction(
        "P8", "W-REINFORCE keeps both: Pass@1 not below PSR's by more than 0.02, carry Pass@64 not below NSR's by "
        "more than 0.05",
        "W-REINFORCE falls below PSR's Pass@1 by more than 0.02 or below NSR's carry Pass@64 by more than 0.05",
        (
            Check("w-reinforce", "psr", "pass1_mix", "noninferior", margin=0.02),
            Check("w-reinforce", "nsr", "carry_pass64", "noninferior", margin=0.05),
        ),
    ),
    Prediction(
        "P9", "NSR in the paper's compacted geometry keeps coverage: carry Pass@64 not below the base's by more "
        "than 0.05",
        "its carry Pass@64 falls by more than 0.05",
        (Check("nsr-compacted", "base", "carry_pass64", "noninferior", margin=0.05),),
    ),
    Prediction(
        "P10", "(Not the paper's: the conjecture of docs/objectives.md) SR alone, zero-mean, lowers carry Pass@64",
        "SR alone raises carry Pass@64",
        (Check("sr", "base", "carry_pass64", "less"),),
    ),
)  # fmt: skip


def verdict_of(test: Check, interval: dict | None) -> str:
    if interval is None or interval["low"] != interval["low"]:  # missing or NaN: nothing could be matched
        return "not testable"
    low, high = interval["low"], interval["high"]
    if test.kind == "noninferior":
        return "reproduced" if low > -test.margin else "contradicted" if high < -test.margin else "inconclusive"
    above, below = low > 0, high < 0
    if test.kind == "less":
        above, below = below, above
    return "reproduced" if above else "contradicted" if below else "inconclusive"


def combine(verdicts: list[str]) -> str:
    """All tests (or rates) agree, or the weakest answer: any contradiction wins within one rate's tests."""
    if not verdicts or "not testable" in verdicts:
        return "not testable"
    if "contradicted" in verdicts:
        return "contradicted"
    return "reproduced" if all(verdict == "reproduced" for verdict in verdicts) else "inconclusive"


def across_rates(verdicts: dict[str, str]) -> str:
    testable = [verdict for verdict in verdicts.values() if verdict != "not testable"]
    if not testable:
        return "not testable"
    return testable[0] if len(set(testable)) == 1 else "inconclusive"
