"""The toy experiment's judgement: the mechanism gate, the learning-rate choice, the intervals and the verdicts.

Runs are fabricated with known numbers, so each test states what the report must conclude from them.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.toy_arms import ARMS, CONTROLS, OBJECTIVES, Settings
from experiments.toy_claims import VERDICTS, paper_claims
from experiments.toy_gate import choose_learning_rate, mechanism_gate
from experiments.toy_report import markdown_report
from experiments.toy_stats import difference_interval, sign_of

N = 256
CARRIES = [True] * 45 + [False] * 55


def point(p_y: float, hard_correct: int = 6, easy_correct: int = 250, follows: float = 0.99, **extra) -> dict:
    """One evaluated model: ``hard_correct`` of 256 right on each problem that carries, ``easy_correct`` elsewhere."""
    tagged = {"-": 10_000, "+": 1_000}
    return {
        "step": -1, "num_samples": N, "carries": CARRIES,
        "num_correct": [hard_correct if carry else easy_correct for carry in CARRIES],
        "p_y_carries": p_y, "p_y_no_carry": p_y, "p_y_spread": 0.0, "sampled_y_share_on_carries": p_y / 4,
        "tagged": tagged, "followed": {tag: int(count * follows) for tag, count in tagged.items()},
        "entropy": extra.pop("entropy", 0.1), "kl_to_base": extra.pop("kl", 0.0), "distinct_answers": 2.0, **extra,
    }  # fmt: skip


def base(sft_seed: int, **changes) -> dict:
    return {"name": f"base-sft{sft_seed}", "arm": "base", "sft_seed": sft_seed, "rl_seed": None,
            "points": [point(0.10, **changes)]}  # fmt: skip


def run(arm: str, sft_seed: int, rl_seed: int, p_y: float, hard_correct: int, **extra) -> dict:
    middle = point(0.10, kl=0.0)
    middle["step"] = 24
    return {"name": f"{arm}-sft{sft_seed}-rl{rl_seed}", "arm": arm, "sft_seed": sft_seed, "rl_seed": rl_seed,
            "lr": "1e-4", "updates": 48, "points": [middle, point(p_y, hard_correct, kl=0.5, **extra)]}  # fmt: skip


# What the paper predicts: PSR drops the rare strategy, NSR and GRPO raise it. P(Y) and right answers on problems
# that carry move together; a little seed noise on top.
EFFECTS = {"psr": (0.03, 2), "nsr": (0.30, 40), "grpo": (0.35, 50), "w-reinforce": (0.25, 35), "psr-fixed": (0.02, 1),
           "nsr-fixed": (0.3, 40)}  # fmt: skip


def fabricated(effects=EFFECTS, controls_drift: float = 0.0, coupling_after: float = 0.08) -> dict:
    settings = Settings()
    runs = []
    for sft in settings.sft_seeds:
        for rl in settings.rl_seeds:
            noise = 0.002 * (rl - 1)
            for arm, (p_y, hard) in effects.items():
                runs.append(run(arm, sft, rl, p_y + noise, hard + rl, entropy=0.3 - p_y))
            for control in CONTROLS:
                runs.append(run(control.label, sft, rl, 0.10 + controls_drift, 6))
    bases = [base(seed) for seed in settings.sft_seeds]
    coupling = [run("coupling-psr", seed, 0, coupling_after, 6) for seed in settings.sft_seeds]
    sweep = {"1e-4": [r for r in runs if r["arm"] in ARMS and ARMS[r["arm"]].control_of and r["sft_seed"] == 0
                      and r["rl_seed"] == 0]}  # fmt: skip
    choice = choose_learning_rate(bases[0], sweep, ["1e-4"])
    summary = {
        "settings": {**settings.__dict__, "bootstrap_resamples": 40},
        "arms": {label: {"mode": a.mode, "flags": list(a.flags), "control_of": a.control_of}
                 for label, a in ARMS.items()},
        "objectives": [arm.label for arm in OBJECTIVES], "bases": bases, "runs": runs, "sweep": sweep,
        "coupling": coupling, "learning_rate": {**choice, "used": "1e-4"},
    }  # fmt: skip
    summary["gate"] = mechanism_gate(bases, coupling, N)
    summary["claims"] = paper_claims(summary)
    return summary


def verdicts(summary: dict) -> dict[str, str]:
    return {claim["claim"]: claim["verdict"] for claim in summary["claims"]}


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
