"""The arms and settings of the three-strategy experiment, fixed before the run (docs/objectives.md, "The second toy").

Every objective takes the same number of optimizer updates (``--fixed-updates-per-rollout`` for PSR and NSR, whose
dropped samples would otherwise shorten a rollout); NSR also runs in the paper's compacted geometry, where a rollout
makes only as many updates as its kept samples fill. The SR arm reinforces every sample whatever its reward.
Each objective has a control with its rewards shuffled within each rollout: arm - control is the reward-dependent
part of the arm's change, control - base the reward-independent part.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SR_REWARD = "experiments.three_strategy.rewards.every_sample_reward"


@dataclass(frozen=True)
class Arm:
    """One arm: an objective, or the shuffled control of one."""

    label: str
    mode: str
    flags: tuple[str, ...] = ()
    control_of: str | None = None


FIXED = ("--fixed-updates-per-rollout",)
OBJECTIVES = (
    Arm("grpo", "grpo"),
    Arm("psr", "psr", FIXED),
    Arm("nsr", "nsr", FIXED),
    Arm("w-reinforce", "w-reinforce", ("--lambda-psr", "0.1")),
)
EXTRA_ARMS = (
    Arm("nsr-compacted", "nsr"),
    Arm("sr", "psr", (*FIXED, "--reward-funcs", SR_REWARD, "--correctness-reward", "every_sample_reward")),
)
CONTROLS = tuple(
    Arm(f"{arm.label}+shuffled", arm.mode, (*arm.flags, "--shuffle-rewards"), control_of=arm.label)
    for arm in OBJECTIVES
)
ARMS = {arm.label: arm for arm in (*OBJECTIVES, *EXTRA_ARMS, *CONTROLS)}
# The determinism check: GRPO at learning rate 0 through the whole pipeline must measure exactly like its base.
DETERMINISM_ARM = Arm("lr0", "grpo")


@dataclass(frozen=True)
class Settings:
    """Every number the experiment runs with; ``smoke_settings`` shrinks them to test the pipeline."""

    arms: tuple[str, ...] = tuple(ARMS)
    sft_seeds: tuple[int, ...] = (0, 1, 2)
    rl_seed: int = 0
    learning_rates: tuple[str, ...] = ("3e-5", "1e-4", "3e-4")  # every one reported; none chosen
    rollouts: int = 100
    rollout_prompts: int = 32
    slots_per_rollout: int = 2
    save_every_slots: int = 50
    push_steps: int = 20  # gate (d): supervised steps toward W on problems without a carry
    num_samples: int = 256
    kl_samples: int = 16
    k_values: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)  # k <= n / 4
    bootstrap_resamples: int = 1000
    # Supervised warm start: AdamW 3e-3, batch 128, 50 warm-up steps then a linear decay to 0 over 5,000 steps (at
    # 2,500, answers after the rare tag followed its procedure in only 87% of carry problems: below gate (b)).
    sft_args: tuple[str, ...] = (
        "--dataset-name", "warm-start", "--subset-size", "80000", "--learning-rate", "3e-3", "--batch-size", "128",
        "--gradient-accumulation-steps", "1", "--warmup", "50", "--lr-scheduler-type", "linear", "--max-steps",
        "5000", "--logging-steps", "1000", "--save-steps", "100000",
    )  # fmt: skip
    # RL: rollouts of 32 prompts x 8 samples at temperature 1 from the training mix, updates of 16 prompts (2 per
    # rollout), no KL, no entropy bonus, the rate warmed up over 4 update slots and then constant (the paper's).
    rl_args: tuple[str, ...] = (
        "--dataset-name", "training-mix", "--warmup", "4", "--lr-scheduler-type", "constant_with_warmup",
        "--num-generations", "8", "--update-prompts", "16", "--batch-size", "128",
        "--max-completion-length", "6", "--temperature", "1.0", "--beta", "0", "--entropy-coef", "0",
        "--logging-steps", "10", "--save-total-limit", "4",
    )  # fmt: skip


def smoke_settings() -> Settings:
    """Every stage with tiny numbers: one SFT seed, PSR, NSR, PSR's control and SR, 4 rollouts, 16 samples."""
    settings = Settings()
    return replace(
        settings,
        arms=("psr", "nsr", "psr+shuffled", "sr"),
        sft_seeds=(0,),
        learning_rates=("1e-3",),
        rollouts=4,
        save_every_slots=4,
        push_steps=2,
        num_samples=16,
        kl_samples=2,
        k_values=(1, 2, 4),
        bootstrap_resamples=50,
        sft_args=tuple(value if value != "5000" else "40" for value in settings.sft_args),
    )
