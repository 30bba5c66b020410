"""Run setup for main.py: output folder, run name, resume point, logging backend, TRL and LoRA configs."""

from __future__ import annotations

import argparse
import json
import netrc
import os
from pathlib import Path

import torch

from rlvr.errors import UserError

WANDB_PROJECT = "chartrl-nsr"


def output_dir_for(args: argparse.Namespace) -> str:
    """The original layout: grpo-start-ckpts/{vlm}-prm-large-train-v2[-{mode}]-{seed}, no suffix for grpo."""
    if args.output_dir:
        return args.output_dir
    model_tag = Path(args.model).name if Path(args.model).is_dir() else args.model.replace("/", "-")
    mode_suffix = "" if args.mode == "grpo" else f"-{args.mode}"
    return f"grpo-start-ckpts/{model_tag}-prm-large-train-v2{mode_suffix}-{args.seed}"


def run_name_for(args: argparse.Namespace, dataset_name: str) -> str:
    """{mode}-{vlm}-{dataset}-{size}-{seed}, size being the subset size or 'full'."""
    model_tag = Path(args.model).name if Path(args.model).is_dir() else args.model.replace("/", "-")
    size = str(args.subset_size) if args.subset_size else "full"
    return f"{args.mode}-{model_tag}-{dataset_name}-{size}-{args.seed}"


def find_resume_checkpoint(output_dir: str, no_resume: bool) -> str | None:
    """The newest checkpoint-N of the run, unless the user asked to start over."""
    from transformers.trainer_utils import get_last_checkpoint

    if no_resume or not Path(output_dir).is_dir():
        return None
    return get_last_checkpoint(output_dir)


def write_run_config(args: argparse.Namespace, output_dir: str) -> None:
    """Record the options of the run beside its checkpoints; monitor_training.py reads the mode from it."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / "run_config.json").write_text(json.dumps(vars(args), indent=2, default=str))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0


def _has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def setup_reporting(report_to: str) -> list[str]:
    """The Trainer's report_to list. wandb without credentials runs offline, saying so once, never prompting."""
    if report_to == "none":
        return []
    if report_to == "tensorboard":
        return ["tensorboard"]
    os.environ.setdefault("WANDB_PROJECT", WANDB_PROJECT)
    if os.environ.get("WANDB_MODE") not in ("offline", "disabled") and not _has_wandb_credentials():
        os.environ["WANDB_MODE"] = "offline"
        if is_main_process():
            print("wandb: no credentials found (WANDB_API_KEY or ~/.netrc); logging offline to ./wandb", flush=True)
    return ["wandb"]


def precision_flags() -> dict[str, bool]:
    """bf16 where the GPU has it, fp16 where it does not (T4), fp32 on CPU."""
    if not torch.cuda.is_available():
        return {"bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": not bf16}


def common_trainer_kwargs(args: argparse.Namespace, output_dir: str, run_name: str, report_to: list[str]) -> dict:
    """The TrainingArguments fields shared by the GRPO and SFT configs."""
    return {
        "output_dir": output_dir,
        "run_name": run_name,
        "report_to": report_to,
        "seed": args.seed,
        "data_seed": args.seed,
        "learning_rate": args.learning_rate,
        "lr_scheduler_type": args.lr_scheduler_type,
        "warmup_steps": args.warmup,
        "num_train_epochs": args.num_epochs,
        "max_steps": args.max_steps,
        "per_device_train_batch_size": args.batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "activation_checkpointing": not args.disable_gradient_checkpointing,
        "logging_steps": args.logging_steps,
        "save_strategy": "steps",
        "save_steps": args.save_steps,
        "save_total_limit": args.save_total_limit,
        "remove_unused_columns": False,
        "dataloader_num_workers": 0,
        **precision_flags(),
    }


def build_grpo_config(args: argparse.Namespace, output_dir: str, run_name: str, report_to: list[str]):
    from trl import GRPOConfig

    return GRPOConfig(
        **common_trainer_kwargs(args, output_dir, run_name, report_to),
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        temperature=args.temperature,
        steps_per_generation=args.steps_per_generation,
        num_iterations=args.num_iterations,
        beta=args.beta,
        entropy_coef=args.entropy_coef,
        loss_type=args.loss_type,
        epsilon=args.epsilon,
        use_vllm=args.use_vllm,
        log_completions=False,
    )


def build_lora_config(args: argparse.Namespace):
    """LoRA of the original script: r 8, alpha 16, dropout 0.05 on the attention and MLP projections."""
    if not args.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=args.lora_rank,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        task_type="CAUSAL_LM",
    )


def check_batch_geometry(args: argparse.Namespace) -> None:
    """TRL needs the generation batch (in completions) to hold whole groups; say so before loading anything."""
    steps = args.steps_per_generation or args.gradient_accumulation_steps
    world = int(os.environ.get("WORLD_SIZE", "1"))
    generation_batch = args.batch_size * steps * world
    if generation_batch % args.num_generations:
        raise UserError(
            f"--batch-size ({args.batch_size}) x steps per generation ({steps}) x processes ({world}) = "
            f"{generation_batch} completions per generation batch, not a multiple of --num-generations "
            f"({args.num_generations})"
        )
