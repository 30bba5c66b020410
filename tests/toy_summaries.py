"""Fabricated summaries of experiments/two_procedure/run.py with known numbers, for the tests of its judgement."""

from __future__ import annotations

from experiments.two_procedure.arms import ARMS, CONTROLS, LR0, OBJECTIVES, Settings
from experiments.two_procedure.claims import paper_claims
from experiments.two_procedure.gate import choose_learning_rate, mechanism_gate

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
            for control in (*CONTROLS, LR0):
                runs.append(run(control.label, sft, rl, 0.10 + controls_drift, 6))
    bases = [base(seed) for seed in settings.sft_seeds]
    coupling = [run("coupling-psr", seed, 0, coupling_after, 6) for seed in settings.sft_seeds]
    sweep = {"1e-4": [r for r in runs if r["arm"] in ARMS and ARMS[r["arm"]].control_of and r["sft_seed"] == 0
                      and r["rl_seed"] == 0]}  # fmt: skip
    choice = choose_learning_rate(bases[0], sweep, ["1e-4"])
    summary = {
        "settings": {**settings.__dict__, "bootstrap_resamples": 40},
        "arms": {label: {"mode": a.mode, "flags": list(a.flags), "control_of": a.control_of,
                         "control_kind": a.control_kind, "learning_rate": a.learning_rate}
                 for label, a in ARMS.items()},
        "objectives": [arm.label for arm in OBJECTIVES], "bases": bases, "runs": runs, "sweep": sweep,
        "coupling": coupling, "learning_rate": {**choice, "used": "1e-4"},
    }  # fmt: skip
    summary["gate"] = mechanism_gate(bases, coupling, N)
    summary["claims"] = paper_claims(summary)
    return summary


def verdicts(summary: dict) -> dict[str, str]:
    return {claim["claim"]: claim["verdict"] for claim in summary["claims"]}
