"""The options of a main.py run: one frozen dataclass with every option and its default, its range checks, and
the options left to the task (dataset, prompt style, split) and the output folder filled in.

trainers/config_parser.py parses it from the command line and an optional YAML file; nothing changes it after
that. run_config.json is this object written out (trainers/resume.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.methods import DECOMPOSED_MODES, RL_MODES
from rlvr.ranges import check_ranges as check_option_ranges
from rlvr.tasks import TASK_MODULES, get_task
from trainers.option_ranges import OPTION_RANGES
from trainers.trl_names import refuse_for_mode

# ppo is accepted by the parser only to answer with PPO_MESSAGE: a choice error would not say what to use instead.
MODES = (*RL_MODES, "dpo", "sft", "eval", "ppo")
PPO_MESSAGE = (
    "--mode ppo is not available: TRL 1.16 has no PPO trainer and a critic-based PPO does not belong in this "
    "toolkit; use --mode grpo here (critic-free), or a PPO implementation such as verl (the official code's) for a "
    "critic"
)
TASKS = tuple(TASK_MODULES)
# transformers' logging integrations a run may report to, several at once; none: only the console and trainer_state
REPORT_TO_CHOICES = ("wandb", "tensorboard", "trackio", "mlflow", "comet_ml", "clearml", "swanlab", "all", "none")
VLLM_MODES = ("colocate", "server")
# --mode dpo: where a pair's chosen completion comes from (trainers/preference_pairs.py)
CHOSEN_FROM_CHOICES = ("samples", "reference", "both")
DTYPE_CHOICES = ("bfloat16", "float16", "float32", "auto")


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run. Field names are the flags with dashes as underscores (``--vlm-name`` is ``model``)."""

    # What to run
    mode: str = "grpo"
    task: str = "chart"
    model: str = "tiny"
    dataset_name: str | None = None  # the task's embedded dataset when None
    dataset_path: str | None = None
    # A dataset of the user's (a hub id or local path in --dataset-name, or --dataset-path): its columns
    question_column: str | None = None  # the task's own column names when None
    answer_column: str | None = None
    image_column: str | None = None
    split: str | None = None  # train, or test for --mode eval, when None
    prompt_style: str | None = None  # the task's first style when None
    seed: int = 2025
    subset_size: int | None = None
    allow_outside_images: bool = False  # dataset image paths may leave the dataset's folder
    # Objective
    lambda_psr: float = 0.1
    reward_threshold: float = 0.5
    split_on: str = "accuracy"
    reward_funcs: tuple[str, ...] | None = None
    reward_weights: tuple[float, ...] | None = None
    correctness_reward: str | None = None  # the task's accuracy reward when None
    beta: float = 0.0  # the KL coefficient of RL modes; DPO's beta for --mode dpo (must then be above 0)
    entropy_coef: float = 0.0
    shuffle_rewards: bool = False  # control runs: rewards permuted within each rollout
    random_rewards: bool = False  # control runs: Bernoulli rewards at each rollout's own rate of correct samples
    loss_type: str = "dapo"
    epsilon: float = 0.2
    # Sampling
    num_generations: int = 4
    max_completion_length: int = 768
    temperature: float = 1.0
    num_iterations: int = 1
    use_vllm: bool = False
    vllm_mode: str = "colocate"  # colocate: vLLM shares the training GPUs; server: a `trl vllm-serve` process
    vllm_gpu_memory_utilization: float = 0.3
    vllm_tensor_parallel_size: int = 1
    vllm_server_base_url: str | None = None
    vllm_importance_sampling_correction: bool = False
    static_cache: bool = False  # transformers generation: a preallocated KV cache (trainers/generation_speed.py)
    compile_generation: bool = False  # torch.compile the decode step; implies static_cache
    static_cache_tokens: int | None = None  # None: max_completion_length + STATIC_CACHE_PROMPT_TOKENS
    # Batch geometry in the paper's words (prompts per rollout and per optimizer update), or TRL's own knobs
    rollout_prompts: int | None = None
    update_prompts: int | None = None
    batch_size: int | None = None  # from GPU memory (trainers/micro_batch.py), else 2, when None
    gradient_accumulation_steps: int = 2
    steps_per_generation: int | None = None
    fixed_updates_per_rollout: bool = False
    # Optimisation
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    lr_scheduler_type: str = "linear"
    warmup: float = 0.0
    num_epochs: float = 4
    max_steps: int = -1
    disable_gradient_checkpointing: bool = False
    lora: bool = True
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] | None = None  # the language model's projections when None (trainers/lora.py)
    lora_modules_to_save: tuple[str, ...] | None = None  # trained in full beside the adapter, e.g. lm_head
    freeze_vision_tower: bool = False
    # Output
    output_dir: str | None = None
    report_to: tuple[str, ...] = ("wandb",)
    run_name: str | None = None  # {mode}-{model}-{dataset}-{size}-{seed} when None (trainers/setup.py)
    log_completions: bool = False  # TRL's table at each log, and a sample of each rollout in completions.jsonl
    resume_from_checkpoint: str | None = None  # a named checkpoint-N; else the newest complete one of --output-dir
    save_steps: int = 50
    save_total_limit: int = 3
    logging_steps: int | None = None  # min(10, max_steps // 5, at least 1) when None: short runs log too
    no_resume: bool = False
    overwrite: bool = False  # --no-resume may discard another run's checkpoints; a foreign folder may be written
    # --mode eval: problems (the held-out rule of generate_samples.py --max-problems) and sampling (the paper's Pass@1)
    max_eval_samples: int | None = None
    eval_temperature: float = 0.6  # 0: greedy decoding
    eval_top_p: float = 0.95
    # DPO on verifiable pairs (--mode dpo)
    preference_data: str | None = None  # a samples file; None: draw --num-generations samples per problem first
    pairs_per_problem: int = 1
    chosen_from: str = "samples"
    # Evaluation during training (RL modes; trainers/training_eval.py, trainers/policy_kl.py)
    eval_steps: int | None = None  # Pass@k on held-out problems every this many steps; None: off
    eval_num_samples: int = 8  # n completions per held-out problem
    eval_subset_size: int = 64  # m held-out problems, a seeded subset
    eval_dataset: str | None = None  # a dataset name or local copy; the training dataset's --eval-split when None
    eval_split: str = "test"
    log_kl: bool = False  # log the policy's KL to the start model at beta 0 (TRL logs its own above 0)
    config_file: str | None = None  # the YAML file the options came from, if any
    system_prompt: str | None = None  # replaces the task's system turn (or adds one) in every prompt
    # Model loading (TRL's ModelConfig names): the weights' dtype (bf16 on GPUs that have it when None) and attention
    dtype: str | None = None
    attn_implementation: str | None = None
    # Every other field of the mode's TRL config the user set, under TRL's name, forwarded unchanged
    # (trainers/trl_fields.py); e.g. {"epsilon_high": 0.28}
    trl_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.report_to, str):  # one tracker named as a string, as before several were taken
            object.__setattr__(self, "report_to", (self.report_to,))
        check_ranges(self)

    @property
    def is_rl(self) -> bool:
        return self.mode in RL_MODES

    @property
    def is_decomposed(self) -> bool:
        return self.mode in DECOMPOSED_MODES

    @property
    def dataset_tag(self) -> str:
        """The dataset as a folder-name part: a local file's or folder's name, or the name with '/' as '-'."""
        name = self.dataset_name or ""
        return Path(name).stem if Path(name).exists() else name.replace("/", "-")

    @property
    def model_tag(self) -> str:
        """The model as a folder-name part: a local folder's name, or the name with '/' as '-'."""
        return Path(self.model).name if Path(self.model).is_dir() else self.model.replace("/", "-")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_ranges(config: RunConfig) -> None:
    """Range checks, one line naming the flag; CLI and YAML values meet the same checks."""
    if config.mode == "ppo":
        raise UserError(PPO_MESSAGE)
    check_option_ranges(dataclasses.asdict(config), OPTION_RANGES)
    if config.is_rl and config.num_generations < 2:
        raise UserError("--num-generations must be at least 2 for RL modes (GRPO needs a group)")
    _check_dpo(config)
    _check_evaluation_during_training(config)
    _check_choices(config)
    if (config.rollout_prompts is None) != (config.update_prompts is None):
        raise UserError("--rollout-prompts and --update-prompts go together; give both or neither")
    if config.rollout_prompts is not None and config.rollout_prompts % config.update_prompts:
        raise UserError(
            f"--rollout-prompts ({config.rollout_prompts}) must be a multiple of --update-prompts "
            f"({config.update_prompts})"
        )


def _check_choices(config: RunConfig) -> None:
    """Options that only some modes take, or that exclude each other."""
    targets = config.lora_target_modules or ()
    if "all-linear" in targets and len(targets) > 1:
        raise UserError("--lora-target-modules takes module names or all-linear alone, not both")
    if "none" in config.report_to and len(config.report_to) > 1:
        raise UserError(f"--report-to none goes alone, got {' '.join(config.report_to)}")
    if config.resume_from_checkpoint is not None and config.no_resume:
        raise UserError("--resume-from-checkpoint and --no-resume contradict each other; give one")
    if config.correctness_reward is not None and not config.is_rl:
        raise UserError(f"--correctness-reward is for the RL modes, not --mode {config.mode}")
    refusal = refuse_for_mode(config.mode, config.loss_type, config.trl_args)
    if refusal:
        raise UserError(refusal)
    if config.static_cache or config.compile_generation:
        for field in ("cache_implementation", "pad_to_multiple_of"):
            if field in config.trl_args:
                raise UserError(f"--{field} is set by --static-cache / --compile-generation; give one or the other")


def _check_dpo(config: RunConfig) -> None:
    """DPO's options belong to --mode dpo, and DPO's beta of 0 would leave its loss flat (log 2, no gradient)."""
    if config.chosen_from not in CHOSEN_FROM_CHOICES:
        raise UserError(f"--chosen-from must be one of {', '.join(CHOSEN_FROM_CHOICES)}, got {config.chosen_from!r}")
    if config.mode != "dpo":
        if config.preference_data is not None:
            raise UserError(f"--preference-data is for --mode dpo, not --mode {config.mode}")
        return
    if config.beta <= 0:
        raise UserError("--mode dpo needs --beta above 0: it is DPO's beta (0.1 is the usual value)")


def _check_evaluation_during_training(config: RunConfig) -> None:
    """Pass@k and KL during training are measured on the RL trainer's own rollouts and engine."""
    if not config.is_rl:
        during = {"eval_steps": config.eval_steps, "log_kl": config.log_kl, "log_completions": config.log_completions}
        for name, value in during.items():
            if value:
                raise UserError(f"{_flag(name)} is for the RL modes ({', '.join(RL_MODES)}), not --mode {config.mode}")
    if config.eval_dataset is not None and config.eval_steps is None:
        raise UserError("--eval-dataset goes with --eval-steps N (how often to evaluate on it)")
    if config.eval_steps is not None and config.dataset_path is not None and config.eval_dataset is None:
        raise UserError(
            "--eval-steps with --dataset-path needs --eval-dataset (a held-out local copy or dataset name): a local "
            "copy is one split, so evaluating on it would evaluate on the training problems"
        )


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


DEFAULTS = RunConfig()
# Logging interval of a run without --logging-steps, lowered for short --max-steps runs so they log a few times.
DEFAULT_LOGGING_STEPS = 10
LOGS_PER_SHORT_RUN = 5


def resolve(config: RunConfig) -> RunConfig:
    """Fill the options left to the task (dataset, prompt style, split) and the output folder."""
    task = get_task(config.task)
    if config.prompt_style is not None and config.prompt_style not in task.prompt_styles:
        raise UserError(
            f"--prompt-style {config.prompt_style!r} is not a prompt style of the {task.name} task; choose one of: "
            f"{', '.join(task.prompt_styles)}"
        )
    dataset_name = config.dataset_name or task.default_dataset
    resolved = dataclasses.replace(
        config,
        dataset_name=dataset_name,
        prompt_style=config.prompt_style or task.default_prompt_style,
        split=config.split or ("test" if config.mode == "eval" else "train"),
        logging_steps=config.logging_steps or default_logging_steps(config.max_steps),
    )
    if resolved.output_dir is None:
        name = f"{resolved.model_tag}-{resolved.task}-{resolved.dataset_tag}-{resolved.mode}-{resolved.seed}"
        resolved = dataclasses.replace(resolved, output_dir=f"runs/{name}")
    return resolved


def default_logging_steps(max_steps: int) -> int:
    """Every 10 steps, but at least LOGS_PER_SHORT_RUN times in a shorter --max-steps run (a 3-step run logs each
    step): a run that logs nothing leaves an empty log_history and nothing to monitor."""
    if max_steps == -1:
        return DEFAULT_LOGGING_STEPS  # the number of steps is known only once the dataset is loaded
    return min(DEFAULT_LOGGING_STEPS, max(1, max_steps // LOGS_PER_SHORT_RUN))
