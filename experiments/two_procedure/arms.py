"""The arms of the two-procedure experiment and its settings, fixed before the run (docs/objectives.md, "Choices")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Arm:
    """One arm of the experiment: an objective, or a control of one."""

    label: str
    mode: str
    flags: tuple[str, ...] = ()
    control_of: str | None = None  # the objective this arm controls
    control_kind: str | None = None  # "shuffled", "bernoulli" or "lr0"
    learning_rate: str | None = None  # fixed whatever the sweep chose (the learning-rate-0 control)


OBJECTIVES = (
    Arm("grpo", "grpo"),
    Arm("psr", "psr"),
    Arm("nsr", "nsr"),
    Arm("w-reinforce", "w-reinforce", ("--lambda-psr", "0.1")),
    # The same objectives with every update slot stepping: equal numbers of optimizer updates across arms.
    Arm("psr-fixed", "psr", ("--fixed-updates-per-rollout",)),
    Arm("nsr-fixed", "nsr", ("--fixed-updates-per-rollout",)),
)
_SHUFFLED = tuple(
    Arm(f"{arm.label}+shuffled", arm.mode, (*arm.flags, "--shuffle-rewards"), arm.label, "shuffled")
    for arm in OBJECTIVES[:4]
)
# Coin flips at the rollout's own rate of correct samples, for the two objectives without a baseline.
_BERNOULLI = tuple(
    Arm(f"{arm.label}+bernoulli", arm.mode, (*arm.flags, "--random-rewards"), arm.label, "bernoulli")
    for arm in OBJECTIVES[1:3]
)
CONTROLS = (*_SHUFFLED, *_BERNOULLI)
# The same run at learning rate 0: the whole pipeline (rollouts, checkpoints, reloading, sampling) with weights that
# cannot move, so any difference from the base is the pipeline's. Every objective is the same run at rate 0.
LR0 = Arm("lr0", "grpo", control_kind="lr0", learning_rate="0")
ARMS = {arm.label: arm for arm in (*OBJECTIVES, *CONTROLS, LR0)}


@dataclass(frozen=True)
class Settings:
    """Every number the experiment runs with; ``smoke_settings`` shrinks them to test the pipeline."""

    objectives: tuple[str, ...] = tuple(arm.label for arm in OBJECTIVES)
    controls: tuple[str, ...] = tuple(arm.label for arm in CONTROLS)
    nulls: tuple[str, ...] = (LR0.label,)  # run with every seed, outside the sweep
    sft_seeds: tuple[int, ...] = (0, 1)
    rl_seeds: tuple[int, ...] = (0, 1, 2)
    # Largest first; the first at which the controls survive is taken. 1e-3, where every control collapsed in the
    # first published run, is cut to keep the experiment within the hour.
    learning_rates: tuple[str, ...] = ("3e-4", "1e-4", "3e-5", "1e-5")
    rollouts: int = 24
    coupling_rollouts: int = 12
    slots_per_rollout: int = 2
    num_samples: int = 256
    k_values: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    bootstrap_resamples: int = 1000
    # Supervised warm start: AdamW 3e-3, batch 128, 50 warm-up steps then a linear decay to 0 over 1,000 steps: at 600
    # steps at a constant rate one base followed its rare strategy in only 94% of its answers, below gate (b).
    sft_args: tuple[str, ...] = (
        "--learning-rate", "3e-3", "--batch-size", "128", "--gradient-accumulation-steps", "1", "--warmup", "50",
        "--lr-scheduler-type", "linear", "--max-steps", "1000", "--logging-steps", "100", "--save-steps", "10000",
    )  # fmt: skip
    # RL: rollouts of 64 prompts x 8 samples at temperature 1, updates of 32 prompts (2 per rollout), no KL, no
    # entropy bonus, the learning rate warmed up over 4 update slots and then constant (the paper's schedule).
    rl_args: tuple[str, ...] = (
        "--warmup", "4", "--lr-scheduler-type", "constant_with_warmup", "--num-generations", "8",
        "--rollout-prompts", "64", "--update-prompts", "32", "--batch-size", "64", "--max-completion-length", "6",
        "--temperature", "1.0", "--beta", "0", "--entropy-coef", "0", "--logging-steps", "2",
        "--save-total-limit", "4",
    )  # fmt: skip
    # Evaluation: the paper's temperature 0.6 without its top-p 0.95, which would cut a strategy drawn 2.5% of
    # the time out of the sampling altogether (docs/objectives.md, "Choices").
    sampling_args: tuple[str, ...] = field(
        default=("--num-samples", "256", "--temperature", "0.6", "--top-p", "1.0", "--max-new-tokens", "6",
                 "--batch-size", "256")
    )  # fmt: skip
    probe_args: tuple[str, ...] = ("--samples-per-prompt", "16")


def smoke_settings() -> Settings:
    """Every stage with tiny numbers: one SFT and RL seed, PSR and two controls, two rollouts, 16 samples."""
    settings = Settings()
    return replace(
        settings,
        objectives=("psr",),
        controls=("psr+shuffled",),
        sft_seeds=(0,),
        rl_seeds=(0,),
        learning_rates=("1e-3",),
        rollouts=2,
        coupling_rollouts=1,
        num_samples=16,
        k_values=(1, 2, 4, 8, 16),
        bootstrap_resamples=50,
        sft_args=tuple(value if value != "1000" else "40" for value in settings.sft_args),
        sampling_args=("--num-samples", "16", "--temperature", "0.6", "--top-p", "1.0", "--max-new-tokens", "6",
                       "--batch-size", "256", "--max-problems", "24"),
        probe_args=("--samples-per-prompt", "2"),
    )  # fmt: skip
