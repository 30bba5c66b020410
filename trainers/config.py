"""The options of a main.py run: one frozen dataclass, parsed once from the command line and an optional YAML file.

``RunConfig`` holds every option with its default, in this file only. argparse stays the parser users know; a
``--config FILE`` YAML is turned into the same flags and goes through the same type, choice and range checks (the
command line wins where both set an option). Options left to the task (dataset, prompt style, split) and the output
folder are resolved before the object is built, so nothing changes it after parsing; run_config.json is this object
written out.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlvr.cli import finish_parser
from rlvr.errors import UserError
from rlvr.methods import DECOMPOSED_MODES, RL_MODES, SPLIT_ON_CHOICES
from rlvr.tasks import TASK_MODULES, get_task

# ppo is accepted by the parser only to answer with PPO_MESSAGE: a choice error would not say what to use instead.
MODES = (*RL_MODES, "dpo", "sft", "eval", "ppo")
PPO_MESSAGE = (
    "--mode ppo is not available: TRL 1.16 has no PPO trainer and a critic-based PPO does not belong in this "
    "toolkit; use --mode grpo here (critic-free), or a PPO implementation such as verl (the official code's) for a "
    "critic"
)
TASKS = tuple(TASK_MODULES)
REPORT_TO_CHOICES = ("wandb", "tensorboard", "none")
VLLM_MODES = ("colocate", "server")
# --mode dpo: where a pair's chosen completion comes from (trainers/preference_pairs.py)
CHOSEN_FROM_CHOICES = ("samples", "reference", "both")


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run. Field names are the flags with dashes as underscores (``--vlm-name`` is ``model``)."""

    # What to run
    mode: str = "grpo"
    task: str = "chart"
    model: str = "tiny"
    dataset_name: str | None = None  # the task's embedded dataset when None
    dataset_path: str | None = None
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
    # Batch geometry in the paper's words (prompts per rollout and per optimizer update), or TRL's own knobs
    rollout_prompts: int | None = None
    update_prompts: int | None = None
    batch_size: int = 2
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
    # Output
    output_dir: str | None = None
    report_to: str = "wandb"
    save_steps: int = 50
    save_total_limit: int = 3
    logging_steps: int | None = None  # min(10, max_steps // 5, at least 1) when None: short runs log too
    no_resume: bool = False
    max_eval_samples: int | None = None
    # DPO on verifiable pairs (--mode dpo)
    preference_data: str | None = None  # a samples file; None: draw --num-generations samples per problem first
    pairs_per_problem: int = 1
    chosen_from: str = "samples"
    config_file: str | None = None  # the YAML file the options came from, if any

    def __post_init__(self) -> None:
        check_ranges(self)

    @property
    def is_rl(self) -> bool:
        return self.mode in RL_MODES

    @property
    def is_decomposed(self) -> bool:
        return self.mode in DECOMPOSED_MODES

    @property
    def model_tag(self) -> str:
        """The model as a folder-name part: a local folder's name, or the name with '/' as '-'."""
        return Path(self.model).name if Path(self.model).is_dir() else self.model.replace("/", "-")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_ranges(config: RunConfig) -> None:
    """Type-independent range checks, one line naming the flag; CLI and YAML values meet the same checks."""
    if config.mode == "ppo":
        raise UserError(PPO_MESSAGE)
    at_least_one = {
        "num_generations": config.num_generations,
        "batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "max_completion_length": config.max_completion_length,
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "logging_steps": config.logging_steps,
        "num_iterations": config.num_iterations,
        "lora_rank": config.lora_rank,
        "vllm_tensor_parallel_size": config.vllm_tensor_parallel_size,
        "subset_size": config.subset_size,
        "steps_per_generation": config.steps_per_generation,
        "rollout_prompts": config.rollout_prompts,
        "update_prompts": config.update_prompts,
        "max_eval_samples": config.max_eval_samples,
        "pairs_per_problem": config.pairs_per_problem,
    }
    for name, value in at_least_one.items():
        if value is not None and value < 1:
            raise UserError(f"{_flag(name)} must be a positive integer, got {value}")
    finite_at_least_zero = {
        "learning_rate": config.learning_rate,  # 0 is the control run of an experiment
        "weight_decay": config.weight_decay,
        "warmup": config.warmup,
        "lambda_psr": config.lambda_psr,
        "beta": config.beta,
        "entropy_coef": config.entropy_coef,
        "lora_dropout": config.lora_dropout,
    }
    for name, value in finite_at_least_zero.items():
        if not math.isfinite(value) or value < 0:
            raise UserError(f"{_flag(name)} must be a finite number of at least 0, got {value}")
    positive = {"temperature": config.temperature, "epsilon": config.epsilon, "num_epochs": config.num_epochs}
    for name, value in positive.items():
        if not math.isfinite(value) or value <= 0:
            raise UserError(f"{_flag(name)} must be a finite number above 0, got {value}")
    if not math.isfinite(config.reward_threshold):
        raise UserError(f"--reward-threshold must be a finite number, got {config.reward_threshold}")
    if not 0 < config.vllm_gpu_memory_utilization <= 1:
        raise UserError(f"--vllm-gpu-memory-utilization must be in (0, 1], got {config.vllm_gpu_memory_utilization}")
    if config.lora_dropout >= 1:
        raise UserError(f"--lora-dropout must be below 1, got {config.lora_dropout}")
    if config.max_steps == 0 or config.max_steps < -1:
        raise UserError(f"--max-steps must be a positive integer, or -1 to train --num-epochs, got {config.max_steps}")
    if config.is_rl and config.num_generations < 2:
        raise UserError("--num-generations must be at least 2 for RL modes (GRPO needs a group)")
    _check_dpo(config)
    if (config.rollout_prompts is None) != (config.update_prompts is None):
        raise UserError("--rollout-prompts and --update-prompts go together; give both or neither")
    if config.rollout_prompts is not None and config.rollout_prompts % config.update_prompts:
        raise UserError(
            f"--rollout-prompts ({config.rollout_prompts}) must be a multiple of --update-prompts "
            f"({config.update_prompts})"
        )


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


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


DEFAULTS = RunConfig()
# Logging interval of a run without --logging-steps, lowered for short --max-steps runs so they log a few times.
DEFAULT_LOGGING_STEPS = 10
LOGS_PER_SHORT_RUN = 5


# ---------------------------------------------------------------------------------------------------------------
# The parser


def build_parser(source: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE, DPO or SFT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d = DEFAULTS
    parser.add_argument("--config", help="YAML file of these options (dashes or underscores); the command line wins")
    run = parser.add_argument_group("what to run")
    run.add_argument("--mode", choices=MODES, default=d.mode)
    run.add_argument("--task", choices=TASKS, default=d.task)
    run.add_argument(
        "--vlm-name",
        "--model",
        dest="model",
        default=d.model,
        help="short name, tiny, tiny-text, a hub id or a folder",
    )
    run.add_argument("--dataset-name", default=d.dataset_name, help="dataset name; the task's embedded one if omitted")
    run.add_argument(
        "--dataset-path", default=d.dataset_path, help="local copy: save_to_disk folder, parquet, json(l)"
    )
    run.add_argument("--split", default=d.split, help="dataset split; train, or test for --mode eval, when omitted")
    run.add_argument(
        "--prompt-style", default=d.prompt_style, help="prompt template (chart: structured, think, direct)"
    )
    run.add_argument("--seed", type=int, default=d.seed)
    run.add_argument("--subset-size", type=int, default=d.subset_size, help="seeded random subset of this many rows")
    run.add_argument(
        "--allow-outside-images",
        action="store_true",
        default=d.allow_outside_images,
        help="let a local dataset's image paths point outside its folder",
    )

    objective = parser.add_argument_group("objective")
    objective.add_argument(
        "--lambda-psr", type=float, default=d.lambda_psr, help="weight of correct samples in W-REINFORCE"
    )
    objective.add_argument(
        "--reward-threshold",
        type=float,
        default=d.reward_threshold,
        help="a sample is correct when its verifiable reward is at least this",
    )
    objective.add_argument(
        "--split-on",
        choices=SPLIT_ON_CHOICES,
        default=d.split_on,
        help="correctness from the verifiable reward, or from the weighted total reward",
    )
    objective.add_argument("--reward-funcs", nargs="+", default=d.reward_funcs, help="subset of the task's rewards")
    objective.add_argument("--reward-weights", nargs="+", type=float, default=d.reward_weights)
    objective.add_argument(
        "--beta",
        type=float,
        default=d.beta,
        help="KL coefficient (paper: 0 for PSR/NSR/W-REINFORCE); for --mode dpo DPO's beta (e.g. 0.1)",
    )
    objective.add_argument("--entropy-coef", type=float, default=d.entropy_coef, help="entropy bonus (paper: 0.001)")
    objective.add_argument(
        "--loss-type", default=d.loss_type, help="TRL loss type; decomposed modes need dapo or bnpo"
    )
    objective.add_argument("--epsilon", type=float, default=d.epsilon, help="clip range of the surrogate")
    objective.add_argument(
        "--shuffle-rewards",
        action="store_true",
        default=d.shuffle_rewards,
        help="control run: permute the rewards within each rollout, so they no longer belong to their samples",
    )
    objective.add_argument("--random-rewards", action="store_true", default=d.random_rewards,
                           help="control run: coin-flip rewards at the rollout's rate of correct ones")  # fmt: skip

    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--num-generations", type=int, default=d.num_generations, help="samples per prompt")
    sampling.add_argument("--max-completion-length", type=int, default=d.max_completion_length)
    sampling.add_argument("--temperature", type=float, default=d.temperature)
    sampling.add_argument("--num-iterations", type=int, default=d.num_iterations, help="passes over each rollout")
    sampling.add_argument("--use-vllm", action=argparse.BooleanOptionalAction, default=d.use_vllm)
    sampling.add_argument("--vllm-mode", choices=VLLM_MODES, default=d.vllm_mode, help="where vLLM runs")
    sampling.add_argument("--vllm-gpu-memory-utilization", type=float, default=d.vllm_gpu_memory_utilization,
                          help="colocate: share of each GPU's memory for vLLM")  # fmt: skip
    sampling.add_argument(
        "--vllm-tensor-parallel-size", type=int, default=d.vllm_tensor_parallel_size, help="colocate: GPUs per engine"
    )
    sampling.add_argument(
        "--vllm-server-base-url", default=d.vllm_server_base_url, help="server: e.g. http://10.0.0.5:8000"
    )
    sampling.add_argument(
        "--vllm-importance-sampling-correction",
        action=argparse.BooleanOptionalAction,
        default=d.vllm_importance_sampling_correction,
        help="TRL's reweighting of the loss for vLLM/trainer mismatch (the official code has none)",
    )

    geometry = parser.add_argument_group(
        "batch geometry", "the paper's words (prompts per rollout and per update), or TRL's per-device knobs"
    )
    geometry.add_argument(
        "--rollout-prompts",
        type=int,
        default=d.rollout_prompts,
        help="prompts per rollout, all processes (paper 1024)",
    )
    geometry.add_argument(
        "--update-prompts", type=int, default=d.update_prompts, help="prompts per optimizer update (paper 256)"
    )
    geometry.add_argument("--batch-size", type=int, default=d.batch_size, help="completions per device per micro-step")
    geometry.add_argument("--gradient-accumulation-steps", type=int, default=d.gradient_accumulation_steps)
    geometry.add_argument("--steps-per-generation", type=int, default=d.steps_per_generation)
    geometry.add_argument(
        "--fixed-updates-per-rollout",
        action="store_true",
        default=d.fixed_updates_per_rollout,
        help="psr/nsr: every rollout takes all its update slots, as before (the paper takes ceil(kept / update))",
    )

    dpo = parser.add_argument_group("dpo", "DPO on verifiable pairs: chosen from correct samples, rejected from wrong")
    dpo.add_argument(
        "--preference-data",
        default=d.preference_data,
        help="samples file of generate_samples.py; without it main.py draws --num-generations samples per problem",
    )
    dpo.add_argument(
        "--pairs-per-problem", type=int, default=d.pairs_per_problem, help="distinct pairs per problem at most"
    )
    dpo.add_argument(
        "--chosen-from",
        choices=CHOSEN_FROM_CHOICES,
        default=d.chosen_from,
        help="chosen: correct samples, the task's reference answer, or both (reference when none is correct)",
    )

    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--learning-rate", type=float, default=d.learning_rate)
    optim.add_argument("--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay (paper 0.01)")
    optim.add_argument("--lr-scheduler-type", default=d.lr_scheduler_type)
    optim.add_argument(
        "--warmup", type=float, default=d.warmup, help="warm-up: a number of steps, or a fraction of all steps below 1"
    )
    optim.add_argument("--num-epochs", type=float, default=d.num_epochs)
    optim.add_argument(
        "--max-steps", type=int, default=d.max_steps, help="stop after this many steps (-1: use epochs)"
    )
    optim.add_argument(
        "--disable-gradient-checkpointing", action="store_true", default=d.disable_gradient_checkpointing
    )
    optim.add_argument("--lora", action=argparse.BooleanOptionalAction, default=d.lora)
    optim.add_argument("--lora-rank", type=int, default=d.lora_rank)
    optim.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    optim.add_argument("--lora-dropout", type=float, default=d.lora_dropout)

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        "--output-dir",
        dest="output_dir",
        default=d.output_dir,
        help="grpo-start-ckpts/{model}-{task}-{dataset}-{mode}-{seed} when omitted",
    )
    output.add_argument("--report-to", choices=REPORT_TO_CHOICES, default=d.report_to)
    output.add_argument("--save-steps", type=int, default=d.save_steps)
    output.add_argument("--save-total-limit", type=int, default=d.save_total_limit)
    output.add_argument(
        "--logging-steps",
        type=int,
        default=d.logging_steps,
        help=f"log every this many steps; {DEFAULT_LOGGING_STEPS}, or max-steps / 5 for shorter runs, when omitted",
    )
    output.add_argument("--no-resume", action="store_true", default=d.no_resume, help="start over instead of resuming")
    output.add_argument(
        "--max-eval-samples", type=int, default=d.max_eval_samples, help="--mode eval: at most this many"
    )
    return finish_parser(parser, error_prefix=source)


# ---------------------------------------------------------------------------------------------------------------
# Parsing


def parse_run_config(argv: list[str] | None = None) -> RunConfig:
    """The run's configuration from ``argv`` (and the YAML file it names), checked and resolved."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    config_path = parser.parse_known_args(argv)[0].config
    yaml_flags = _yaml_as_flags(parser, config_path) if config_path else []
    if yaml_flags:
        # The file's values alone first, so an error in them names the file.
        build_parser(source=f"config file {config_path}: ").parse_args(yaml_flags)
    values = vars(parser.parse_args(yaml_flags + argv))
    values.pop("config")
    for name in ("reward_funcs", "reward_weights"):
        if values[name] is not None:
            values[name] = tuple(values[name])
    try:
        config = RunConfig(**values, config_file=config_path)
    except UserError as error:
        message = f"config file {config_path}: {error}" if _from_file(error, yaml_flags, argv) else str(error)
        raise UserError(message) from None
    return resolve(config)


def _from_file(error: UserError, yaml_flags: list[str], argv: list[str]) -> bool:
    """Whether the flag an error names was set by the YAML file and not overridden on the command line."""
    flag = str(error).split(" ", 1)[0]

    def sets(flags: list[str]) -> bool:
        return any(item == flag or item.startswith(flag + "=") for item in flags)

    return sets(yaml_flags) and not sets(argv)


def resolve(config: RunConfig) -> RunConfig:
    """Fill the options left to the task (dataset, prompt style, split) and the output folder."""
    task = get_task(config.task)
    dataset_name = config.dataset_name or task.default_dataset
    resolved = dataclasses.replace(
        config,
        dataset_name=dataset_name,
        prompt_style=config.prompt_style or task.default_prompt_style,
        split=config.split or ("test" if config.mode == "eval" else "train"),
        logging_steps=config.logging_steps or default_logging_steps(config.max_steps),
    )
    if resolved.output_dir is None:
        name = f"{resolved.model_tag}-{resolved.task}-{dataset_name}-{resolved.mode}-{resolved.seed}"
        resolved = dataclasses.replace(resolved, output_dir=f"grpo-start-ckpts/{name}")
    return resolved


def default_logging_steps(max_steps: int) -> int:
    """Every 10 steps, but at least LOGS_PER_SHORT_RUN times in a shorter --max-steps run (a 3-step run logs each
    step): a run that logs nothing leaves an empty log_history and nothing to monitor."""
    if max_steps == -1:
        return DEFAULT_LOGGING_STEPS  # the number of steps is known only once the dataset is loaded
    return min(DEFAULT_LOGGING_STEPS, max(1, max_steps // LOGS_PER_SHORT_RUN))


def _yaml_as_flags(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """The YAML mapping as command-line flags, so its values meet the very checks typed flags meet."""
    config_path = Path(path)
    if config_path.is_dir():
        raise UserError(f"config file {path} is a folder, not a YAML file")
    if not config_path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"config file {path} is not valid YAML: {first_line}") from None
    if not isinstance(values, dict):
        raise UserError(f"config file {path} must hold a mapping of option names to values")
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    flags: list[str] = []
    for key, value in values.items():
        dest = str(key).lstrip("-").replace("-", "_")
        dest = "model" if dest == "vlm_name" else dest
        action = actions.get(dest)
        if action is None or dest in ("config", "help"):
            raise UserError(f"config file {path}: unknown option {key!r}")
        flags += _flags_for(action, value, f"config file {path}: {key}")
    return flags


def _flags_for(action: argparse.Action, value: Any, where: str) -> list[str]:
    flag = action.option_strings[0]
    if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {value!r}")
        if isinstance(action, argparse._StoreTrueAction):
            return [flag] if value else []
        return [flag if value else "--no-" + flag.removeprefix("--")]
    if value is None:
        return []
    if action.nargs == "+":
        items = value if isinstance(value, list) else [value]
        if not items or any(isinstance(item, list | dict) or item is None for item in items):
            raise UserError(f"{where} must be a value or a list of values, got {value!r}")
        return [flag, *map(str, items)]
    if isinstance(value, list | dict):
        raise UserError(f"{where} takes one value, got {type(value).__name__} {value!r}"[:200])
    return [f"{flag}={value}"]
