"""Build the TRL trainer for a mode: the decomposed GRPO trainer for RL modes, SFTTrainer for the warm start,
DPOTrainer for DPO on verifiable pairs."""

from __future__ import annotations

from datasets import Dataset

from rlvr.errors import UserError
from rlvr.tasks.base import RewardSelection, Task, add_prompts
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer, ObjectiveConfig
from trainers.generation_speed import enable_compiled_generation
from trainers.geometry import BatchGeometry
from trainers.input_grad_hooks import register_input_grad_hooks_once
from trainers.lora import build_lora_config, freeze_vision_tower
from trainers.setup import build_dpo_config, build_grpo_config, common_trainer_kwargs
from trainers.training_eval import attach_training_evaluation


def objective_config(config: RunConfig, correctness_reward: str) -> ObjectiveConfig:
    """The objective part of the run's configuration, as the trainer takes it."""
    return ObjectiveConfig(
        mode=config.mode,
        lambda_psr=config.lambda_psr,
        reward_threshold=config.reward_threshold,
        split_on=config.split_on,
        correctness_reward=correctness_reward,
        fixed_updates_per_rollout=config.fixed_updates_per_rollout,
        shuffle_rewards=config.shuffle_rewards,
        random_rewards=config.random_rewards,
    )


def build_trainer(
    config: RunConfig,
    task: Task,
    model,
    processor,
    dataset: Dataset,
    rewards: RewardSelection,
    geometry: BatchGeometry | None,
    run_name: str,
    report_to: list[str],
):
    """SFTTrainer for ``--mode sft``, DPOTrainer for ``--mode dpo``, DecomposedGRPOTrainer for the RL modes; TRL's
    own checks as one line. For dpo, ``dataset`` holds the preference rows (trainers/preference_pairs.py)."""
    peft_config = build_lora_config(config)
    register_input_grad_hooks_once(model)  # TRL's checkpointing switch would add a hook every rollout
    if config.freeze_vision_tower and not freeze_vision_tower(model):
        raise UserError(f"--freeze-vision-tower: {config.model} has no vision tower (no model.visual weights)")
    try:
        if config.mode == "dpo":
            from trl import DPOTrainer

            return DPOTrainer(
                model=model,
                args=build_dpo_config(config, run_name, report_to),
                train_dataset=dataset,
                processing_class=processor,
                peft_config=peft_config,
            )
        if config.mode == "sft":
            from trl import SFTConfig, SFTTrainer

            fields = {
                **common_trainer_kwargs(config, run_name, report_to),
                "max_length": None if task.is_multimodal else 2048,
            }
            sft_config = SFTConfig(**{**fields, **config.trl_args})
            return SFTTrainer(
                model=model,
                args=sft_config,
                train_dataset=_sft_rows(task, dataset, config.prompt_style),
                processing_class=processor,
                peft_config=peft_config,
            )
        grpo_config = build_grpo_config(config, geometry, run_name, report_to)
        grpo_config.reward_weights = rewards.weights
        trainer = DecomposedGRPOTrainer(
            model=model,
            reward_funcs=rewards.functions,
            args=grpo_config,
            train_dataset=add_prompts(task, dataset, config.prompt_style),
            processing_class=processor,
            peft_config=peft_config,
            objective=objective_config(config, rewards.correctness_reward),
        )
        if config.compile_generation and not config.use_vllm:
            enable_compiled_generation(trainer)
        attach_training_evaluation(trainer, config, task)
        return trainer
    except ValueError as error:  # TRL's and our own configuration checks
        raise UserError(str(error).splitlines()[0]) from error


def _sft_rows(task: Task, dataset: Dataset, style: str) -> Dataset:
    """Prompt-completion rows in TRL's conversational format; the loss covers the completion only."""

    def to_example(row: dict) -> dict:
        completion = [{"role": "assistant", "content": [{"type": "text", "text": task.sft_completion(row, style)}]}]
        return {"prompt": task.build_prompt(row, style), "completion": completion}

    keep = ["image"] if task.is_multimodal else []
    drop = [column for column in dataset.column_names if column not in keep]
    return dataset.map(to_example, remove_columns=drop, desc="sft examples")
