"""The command line of main.py. ``--config FILE`` reads a YAML of the same options; the command line wins."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from rlvr.errors import UserError
from rlvr.tasks import TASK_MODULES
from trainers.objectives import RL_MODES, SPLIT_ON_CHOICES

MODES = (*RL_MODES, "sft", "eval")
TASKS = tuple(TASK_MODULES)
REPORT_TO_CHOICES = ("wandb", "tensorboard", "none")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE or SFT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", help="YAML file of these options (dashes or underscores); the command line wins")
    run = parser.add_argument_group("what to run")
    run.add_argument("--mode", choices=MODES, default="grpo")
    run.add_argument("--task", choices=TASKS, default="chart")
    run.add_argument(
        "--vlm-name",
        "--model",
        dest="model",
        default="tiny",
        help="short name, tiny, tiny-text, a hub id or a local folder",
    )
    run.add_argument(
        "--dataset-name", default=None, help="dataset name; the task's embedded dataset (synthetic) when omitted"
    )
    run.add_argument("--dataset-path", default=None, help="local copy: save_to_disk folder, parquet, json or jsonl")
    run.add_argument("--split", default=None, help="dataset split; train, or test for --mode eval, when omitted")
    run.add_argument("--prompt-style", default=None, help="task prompt template (chart: structured, think, direct)")
    run.add_argument("--seed", type=int, default=2025)
    run.add_argument("--subset-size", type=int, default=None, help="seeded random subset of this many rows")

    objective = parser.add_argument_group("objective")
    objective.add_argument("--lambda-psr", type=float, default=0.1, help="weight of correct samples in W-REINFORCE")
    objective.add_argument(
        "--reward-threshold",
        type=float,
        default=0.5,
        help="a sample is correct when its verifiable reward is at least this",
    )
    objective.add_argument(
        "--split-on",
        choices=SPLIT_ON_CHOICES,
        default="accuracy",
        help="correctness from the verifiable reward, or from the weighted total reward",
    )
    objective.add_argument("--reward-funcs", nargs="+", default=None, help="subset of the task's rewards")
    objective.add_argument("--reward-weights", nargs="+", type=float, default=None)
    objective.add_argument("--beta", type=float, default=0.0, help="KL coefficient (paper: 0 for PSR/NSR/W-REINFORCE)")
    objective.add_argument("--entropy-coef", type=float, default=0.0, help="entropy bonus (paper: 0.001)")
    objective.add_argument("--loss-type", default="dapo", help="TRL loss type; decomposed modes need dapo or bnpo")
    objective.add_argument("--epsilon", type=float, default=0.2, help="clip range of the surrogate")

    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--num-generations", type=int, default=4)
    sampling.add_argument("--max-completion-length", type=int, default=768)
    sampling.add_argument("--temperature", type=float, default=1.0)
    sampling.add_argument("--steps-per-generation", type=int, default=None)
    sampling.add_argument("--num-iterations", type=int, default=1)
    sampling.add_argument("--use-vllm", action=argparse.BooleanOptionalAction, default=False)

    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--batch-size", type=int, default=2, help="completions per device per step")
    optim.add_argument("--gradient-accumulation-steps", type=int, default=2)
    optim.add_argument("--learning-rate", type=float, default=1e-5)
    optim.add_argument("--lr-scheduler-type", default="linear")
    optim.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="learning-rate warm-up: a number of steps, or a fraction of all steps when below 1",
    )
    optim.add_argument("--num-epochs", type=float, default=4)
    optim.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (-1: use epochs)")
    optim.add_argument("--disable-gradient-checkpointing", action="store_true")
    optim.add_argument("--lora", action=argparse.BooleanOptionalAction, default=True)
    optim.add_argument("--lora-rank", type=int, default=8)
    optim.add_argument("--lora-alpha", type=int, default=16)
    optim.add_argument("--lora-dropout", type=float, default=0.05)

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-dir", default=None, help="grpo-start-ckpts/{vlm}-prm-large-train-v2[-{mode}]-{seed} when omitted"
    )
    output.add_argument("--report-to", choices=REPORT_TO_CHOICES, default="wandb")
    output.add_argument("--save-steps", type=int, default=50)
    output.add_argument("--save-total-limit", type=int, default=3)
    output.add_argument("--logging-steps", type=int, default=10)
    output.add_argument("--no-resume", action="store_true", help="start over instead of resuming")
    output.add_argument("--max-eval-samples", type=int, default=None, help="--mode eval: at most this many rows")
    return parser


def _config_defaults(parser: argparse.ArgumentParser, path: str) -> dict:
    config_path = Path(path)
    if not config_path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UserError(f"config file {path} is not valid YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(values, dict):
        raise UserError(f"config file {path} must hold a mapping of option names to values")
    known = {action.dest for action in parser._actions}
    defaults = {}
    for key, value in values.items():
        dest = str(key).lstrip("-").replace("-", "_")
        dest = "model" if dest == "vlm_name" else dest
        if dest not in known or dest == "config":
            raise UserError(f"config file {path}: unknown option {key!r}")
        defaults[dest] = value
    return defaults


def parse_training_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    first_pass, _ = parser.parse_known_args(argv)
    if first_pass.config:
        parser.set_defaults(**_config_defaults(parser, first_pass.config))
    args = parser.parse_args(argv)
    _validate(args)
    return args


def _validate(args: argparse.Namespace) -> None:
    positive = {
        "--num-generations": args.num_generations,
        "--batch-size": args.batch_size,
        "--gradient-accumulation-steps": args.gradient_accumulation_steps,
        "--max-completion-length": args.max_completion_length,
        "--save-steps": args.save_steps,
        "--logging-steps": args.logging_steps,
    }
    for flag, value in positive.items():
        if value is None or value < 1:
            raise UserError(f"{flag} must be a positive integer, got {value}")
    if args.subset_size is not None and args.subset_size < 1:
        raise UserError(f"--subset-size must be a positive integer, got {args.subset_size}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be positive, got {args.temperature}")
    if args.learning_rate <= 0:
        raise UserError(f"--learning-rate must be positive, got {args.learning_rate}")
    if args.mode in RL_MODES and args.num_generations < 2:
        raise UserError("--num-generations must be at least 2 for RL modes (GRPO needs a group)")
