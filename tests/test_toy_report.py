"""The toy experiment's judgement: the mechanism gate, the learning-rate choice, the intervals and the verdicts.

Runs are fabricated with known numbers, so each test states what the report must conclude from them.
"""

from __future__ import annotations

import numpy as np
import pytest
from toy_summaries import EFFECTS, N, base, fabricated, run, verdicts

from experiments.common.stats import difference_interval, sign_of
from experiments.two_procedure.claims import VERDICTS, paper_claims
from experiments.two_procedure.gate import choose_learning_rate, mechanism_gate
from experiments.two_procedure.report import markdown_report


def test_a_base_with_the_designed_mechanism_passes_the_gate():
    gate = fabricated()["gate"]
    assert gate["passed"], gate["failed"]


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"follows": 0.80}, "b_follows"),  # answers do not follow their strategy
        ({"hard_correct": 200}, "c_shape"),  # problems that carry are easy: no rare-strategy regime
        ({"p_y_carries": 0.30}, "a_mix"),  # the strategy depends on the problem
    ],
)
def test_the_gate_fails_without_the_mechanism(changes, failed):
    p_y_carries = changes.pop("p_y_carries", None)
    bases = [base(0, **changes), base(1, **changes)]
    if p_y_carries is not None:
        for record in bases:
            record["points"][0]["p_y_carries"] = p_y_carries
    coupling = [run("coupling-psr", 0, 0, 0.08, 6)]
    gate = mechanism_gate(bases, coupling, N)
    assert not gate["passed"] and failed in gate["failed"]


def test_without_coupling_every_large_k_claim_is_not_testable():
    summary = fabricated(coupling_after=0.12)  # PSR on easy problems raised P(Y) on hard ones
    assert summary["gate"]["failed"] == ["d_coupling"]
    found = verdicts(summary)
    assert found["PSR lowers P(Y) on problems that carry"] == "not testable"
    assert found["PSR raises Pass@1 over the base"] != "not testable"  # a small-k claim does not need the gate


def test_verdicts_follow_the_intervals():
    found = verdicts(fabricated())
    assert found["PSR lowers P(Y) on problems that carry"] == "reproduced"
    assert found["NSR raises Pass@64 and P(Y) on problems that carry"] == "reproduced"
    assert found["W-REINFORCE is at least PSR at large k (Pass@64, problems that carry)"] == "reproduced"
    # PSR here lowers Pass@1, against the prediction
    assert found["PSR raises Pass@1 over the base"] == "contradicted"
    opposite = verdicts(fabricated({**EFFECTS, "psr": (0.35, 50)}))
    assert opposite["PSR lowers P(Y) on problems that carry"] == "contradicted"
    assert set(found.values()) | set(opposite.values()) <= set(VERDICTS)


def test_the_learning_rate_is_the_largest_at_which_every_control_stays_at_the_base():
    bases = [base(0)]
    calm, drifting = run("psr+shuffled", 0, 0, 0.1, 6), run("psr+shuffled", 0, 0, 0.01, 0)
    sweep = {"1e-3": [drifting], "3e-4": [calm], "1e-4": [calm]}
    assert choose_learning_rate(bases[0], sweep, ["1e-3", "3e-4", "1e-4"])["chosen"] == "3e-4"
    assert choose_learning_rate(bases[0], {"1e-3": [drifting]}, ["1e-3"])["chosen"] is None


def test_when_no_rate_keeps_the_controls_every_claim_is_not_testable():
    summary = fabricated(controls_drift=0.0)
    summary["learning_rate"] = {**summary["learning_rate"], "chosen": None}
    assert set(verdicts({**summary, "claims": paper_claims(summary)}).values()) == {"not testable"}


def test_the_interval_against_the_base_holds_the_spread_between_bases():
    # Each run is 0.5; its bases are 0.3 and 0.5: the gain depends on which base was drawn, so it is not sure.
    ours = {(sft, rl): np.array([0.5]) for sft in (0, 1) for rl in (0, 1, 2)}
    theirs = {(sft, rl): np.array([0.3 if sft == 0 else 0.5]) for sft in (0, 1) for rl in (0, 1, 2)}
    assert sign_of(difference_interval(ours, theirs, 500)) == 0
    steady = {pair: value - 0.1 for pair, value in ours.items()}
    assert sign_of(difference_interval(ours, steady, 500)) == 1


def test_the_report_shows_the_gate_the_rate_and_only_the_four_verdicts():
    report = markdown_report(fabricated())
    assert "## The mechanism gate" in report and "**Learning rate: chosen 1e-4.**" in report
    verdict_words = [line.split("**: ")[1].split(" (")[0] for line in report.splitlines() if "**: " in line]
    assert verdict_words and set(verdict_words) <= set(VERDICTS)
