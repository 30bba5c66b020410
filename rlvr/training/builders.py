"""Build the TRL trainer for a mode: the decomposed GRPO trainer for RL modes, SFTTrainer for the warm start."""

from __future__ import annotations

import argparse

from datasets import Dataset

from rlvr.errors import UserError
from rlvr.tasks.base import RewardSelection, Task, add_prompts
from rlvr.training.setup import build_grpo_config, build_lora_config, check_batch_geometry, common_trainer_kwargs
from trainers.decomposed_trainer import DecomposedGRPOTrainer, ObjectiveConfig


def build_rl_trainer(
    args: argparse.Namespace,
    task: Task,
    model,
    processor,
    dataset: Dataset,
    rewards: RewardSelection,
    output_dir: str,
    run_name: str,
    report_to: list[str],
) -> DecomposedGRPOTrainer:
    check_batch_geometry(args)
    config = build_grpo_config(args, output_dir, run_name, report_to)
    config.reward_weights = rewards.weights
    objective = ObjectiveConfig(
        mode=args.mode,
        lambda_psr=args.lambda_psr,
        reward_threshold=args.reward_threshold,
        split_on=args.split_on,
        correctness_reward=task.correctness_reward,
    )
    try:
        return DecomposedGRPOTrainer(
            model=model,
            reward_funcs=rewards.functions,
            args=config,
            train_dataset=add_prompts(task, dataset, args.prompt_style),
            processing_class=processor,
            peft_config=build_lora_config(args),
            objective=objective,
        )
    except ValueError as error:  # TRL's and our own configuration checks: show them as one line
        raise UserError(str(error).splitlines()[0]) from error


def _sft_rows(task: Task, dataset: Dataset, style: str) -> Dataset:
    """Prompt-completion rows in TRL's conversational format; the loss covers the completion only."""

    def to_example(row: dict) -> dict:
        completion = [{"role": "assistant", "content": [{"type": "text", "text": task.sft_completion(row, style)}]}]
        return {"prompt": task.build_prompt(row, style), "completion": completion}

    keep = ["image"] if task.is_multimodal else []
    drop = [column for column in dataset.column_names if column not in keep]
    return dataset.map(to_example, remove_columns=drop, desc="sft examples")


def build_sft_trainer(
    args: argparse.Namespace,
    task: Task,
    model,
    processor,
    dataset: Dataset,
    output_dir: str,
    run_name: str,
    report_to: list[str],
):
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(
        **common_trainer_kwargs(args, output_dir, run_name, report_to),
        max_length=None if task.is_multimodal else 2048,
    )
    try:
        return SFTTrainer(
            model=model,
            args=config,
            train_dataset=_sft_rows(task, dataset, args.prompt_style),
            processing_class=processor,
            peft_config=build_lora_config(args),
        )
    except ValueError as error:
        raise UserError(str(error).splitlines()[0]) from error
