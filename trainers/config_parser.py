"""Parsing main.py's options: argparse for the command line, and a ``--config FILE`` YAML turned into the same
flags (trainers/config_file.py), so its values meet the same type, choice and range checks (the command line wins
where both set an option). Our options also answer to TRL's names for them (``--model_name_or_path``,
``--num_train_epochs``, ...); every other GRPOConfig / TrainingArguments field is TRL's own
(trainers/trl_fields.py). The result is a resolved ``RunConfig`` (trainers/config.py).
"""

from __future__ import annotations

import argparse
import sys

from rlvr.cli import finish_parser
from rlvr.errors import UserError
from rlvr.methods import SPLIT_ON_CHOICES
from trainers.config import (
    CHOSEN_FROM_CHOICES,
    DEFAULT_LOGGING_STEPS,
    DEFAULTS,
    DTYPE_CHOICES,
    MODES,
    REPORT_TO_CHOICES,
    TASKS,
    VLLM_MODES,
    RunConfig,
    resolve,
)
from trainers.config_file import yaml_as_flags
from trainers.trl_spelling import add_trl_aliases, booleans_as_flags, set_on_command_line, trl_fields

TRL_FIELDS_EPILOG = (
    "Every other field of TRL's GRPOConfig (DPOConfig, SFTConfig for those modes) and of transformers' "
    "TrainingArguments is taken under TRL's name, with underscores or dashes (--epsilon_high 0.28, "
    "--mask-truncated-completions true, --generation_kwargs '{\"top_k\": 20}'), on the command line or as a YAML "
    "key, and passed to TRL unchanged with TRL's default when not given; docs/coming-from-trl.md lists our options' "
    "TRL names."
)


def build_parser(source: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE, DPO or SFT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=TRL_FIELDS_EPILOG,
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
    run.add_argument("--dataset-name", default=d.dataset_name, help="dataset name (default: the task's embedded one)")
    run.add_argument(
        "--dataset-path", default=d.dataset_path, help="local data: save_to_disk, parquet, json(l), csv, imagefolder"
    )
    run.add_argument(
        "--question-column", default=d.question_column, help="your dataset's question column (default: the task's)"
    )
    run.add_argument(
        "--answer-column", default=d.answer_column, help="your dataset's answer column (default: the task's)"
    )
    run.add_argument("--image-column", default=d.image_column, help="your dataset's picture column (default: image)")
    run.add_argument("--split", default=d.split, help="dataset split (default: train; test for --mode eval)")
    run.add_argument(
        "--prompt-style",
        default=d.prompt_style,
        help="prompt template, e.g. chart: structured, think, direct (default: the task's first)",
    )
    run.add_argument(
        "--system-prompt", default=d.system_prompt, help="replaces the task's system turn (default: the task's own)"
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
    objective.add_argument(
        "--reward-funcs",
        nargs="+",
        default=d.reward_funcs,
        help="the task's rewards by name, or your own: package.module.function or path/to/file.py:function "
        "(default: all of the task's)",
    )
    objective.add_argument(
        "--correctness-reward",
        default=d.correctness_reward,
        help="the reward that decides whether a sample is correct: a name, or your own as in --reward-funcs "
        "(default: the task's accuracy reward)",
    )
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
    objective.add_argument(
        "--random-rewards",
        action="store_true",
        default=d.random_rewards,
        help="control run: coin-flip rewards at the rollout's rate of correct ones",
    )

    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--num-generations", type=int, default=d.num_generations, help="samples per prompt")
    sampling.add_argument("--max-completion-length", type=int, default=d.max_completion_length)
    sampling.add_argument("--temperature", type=float, default=d.temperature)
    sampling.add_argument("--num-iterations", type=int, default=d.num_iterations, help="passes over each rollout")
    sampling.add_argument("--use-vllm", action=argparse.BooleanOptionalAction, default=d.use_vllm)
    sampling.add_argument("--vllm-mode", choices=VLLM_MODES, default=d.vllm_mode, help="where vLLM runs")
    sampling.add_argument(
        "--vllm-gpu-memory-utilization",
        type=float,
        default=d.vllm_gpu_memory_utilization,
        help="colocate: share of each GPU's memory for vLLM",
    )
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
    sampling.add_argument(
        "--static-cache",
        action=argparse.BooleanOptionalAction,
        default=d.static_cache,
        help="transformers generation: preallocated KV cache for prompt + completion",
    )
    sampling.add_argument(
        "--compile-generation",
        action=argparse.BooleanOptionalAction,
        default=d.compile_generation,
        help="transformers generation: torch.compile the decode step (implies --static-cache)",
    )
    sampling.add_argument(
        "--static-cache-tokens",
        type=int,
        default=d.static_cache_tokens,
        help="tokens per sequence the static KV cache holds, prompt + completion, the same in every rollout so a "
        "compiled step never recompiles for a longer prompt; a longer call grows it once "
        "(default: --max-completion-length + 1024)",
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
    geometry.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="completions per device per micro-step (default: from GPU memory with --update-prompts, else 2)",
    )
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
    optim.add_argument(
        "--lora-target-modules",
        nargs="+",
        default=d.lora_target_modules,
        help="module names to adapt, or all-linear (default: the language model's q/k/v/o/gate/up/down_proj, "
        "not the vision tower's)",
    )
    optim.add_argument(
        "--lora-modules-to-save", nargs="+", default=d.lora_modules_to_save, help="modules trained in full with LoRA"
    )
    optim.add_argument(
        "--freeze-vision-tower",
        action="store_true",
        default=d.freeze_vision_tower,
        help="train no vision-tower weight: frozen in full fine-tuning, no LoRA module in it",
    )
    optim.add_argument(
        "--dtype",
        "--torch-dtype",
        dest="dtype",
        choices=DTYPE_CHOICES,
        default=d.dtype,
        help="dtype of the loaded weights (default: bfloat16 on GPUs that have it, else float16; float32 on CPU)",
    )
    optim.add_argument(
        "--attn-implementation", default=d.attn_implementation, help="e.g. sdpa, eager, flash_attention_2"
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        "--output-dir",
        dest="output_dir",
        default=d.output_dir,
        help="(default: runs/{model}-{task}-{dataset}-{mode}-{seed})",
    )
    output.add_argument(
        "--report-to", nargs="+", choices=REPORT_TO_CHOICES, default=d.report_to, help="one or several"
    )
    output.add_argument("--run-name", default=d.run_name, help="(default: {mode}-{model}-{dataset}-{size}-{seed})")
    output.add_argument(
        "--log-completions",
        action=argparse.BooleanOptionalAction,
        default=d.log_completions,
        help="TRL's table of prompts, completions and rewards at each log (console, wandb), and a sample of every "
        "rollout with kept/dropped marks and advantages in {output-dir}/completions.jsonl (RL modes)",
    )
    output.add_argument(
        "--resume-from-checkpoint",
        default=d.resume_from_checkpoint,
        help="resume this checkpoint-N folder, checked to be a run with these settings (default: the newest "
        "complete checkpoint in --output-dir)",
    )
    output.add_argument("--save-steps", type=int, default=d.save_steps)
    output.add_argument("--save-total-limit", type=int, default=d.save_total_limit)
    output.add_argument(
        "--logging-steps",
        type=int,
        default=d.logging_steps,
        help=f"log every this many steps (default: {DEFAULT_LOGGING_STEPS}, or max-steps / 5 for shorter runs)",
    )
    output.add_argument("--no-resume", action="store_true", default=d.no_resume, help="start over instead of resuming")
    output.add_argument(
        "--overwrite",
        action="store_true",
        default=d.overwrite,
        help="with --no-resume: discard the run in --output-dir; also: write into a folder main.py did not make",
    )
    output.add_argument(
        "--max-eval-samples",
        type=int,
        default=d.max_eval_samples,
        help="--mode eval: a subset of this many problems, drawn as generate_samples.py --max-problems draws it",
    )
    output.add_argument(
        "--eval-temperature",
        type=float,
        default=d.eval_temperature,
        help="--mode eval: sampling temperature (the paper's evaluation); 0 decodes greedily",
    )
    output.add_argument("--eval-top-p", type=float, default=d.eval_top_p, help="--mode eval: nucleus sampling")
    _add_evaluation_during_training(parser)
    add_trl_aliases(parser)
    return finish_parser(parser, error_prefix=source)


def _add_evaluation_during_training(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    during = parser.add_argument_group(
        "evaluation during training", "RL modes: Pass@k on held-out problems and the KL to the start model, logged"
    )
    during.add_argument(
        "--eval-steps",
        type=int,
        default=d.eval_steps,
        help="Pass@k on held-out problems every N steps (off when omitted)",
    )
    during.add_argument("--eval-num-samples", type=int, default=d.eval_num_samples, help="n samples per problem")
    during.add_argument("--eval-subset-size", type=int, default=d.eval_subset_size, help="m held-out problems")
    during.add_argument(
        "--eval-dataset", default=d.eval_dataset, help="dataset name or local copy (default: the training dataset)"
    )
    during.add_argument("--eval-split", default=d.eval_split, help="split of the held-out problems")
    during.add_argument(
        "--log-kl",
        action="store_true",
        default=d.log_kl,
        help="log the KL of the policy to the start model at beta 0 (full fine-tuning: a second copy of the weights)",
    )


def parse_run_config(argv: list[str] | None = None) -> RunConfig:
    """The run's configuration from ``argv`` (and the YAML file it names), checked and resolved.

    Words and YAML keys that are none of our options are TRL fields (trainers/trl_fields.py), parsed only then."""
    parser = build_parser()
    argv = booleans_as_flags(parser, list(sys.argv[1:] if argv is None else argv))
    config_path = parser.parse_known_args(argv)[0].config
    yaml_flags, yaml_trl = yaml_as_flags(parser, config_path) if config_path else ([], {})
    if yaml_flags:
        # The file's values alone first, so an error in them names the file.
        build_parser(source=f"config file {config_path}: ").parse_args(yaml_flags)
    namespace, leftover = parser.parse_known_args(yaml_flags + argv)
    values = vars(namespace)
    values.pop("config")
    for name in ("reward_funcs", "reward_weights", "lora_target_modules", "lora_modules_to_save", "report_to"):
        if values[name] is not None:
            values[name] = tuple(values[name])
    # A TRL field of the file that translates to one of our options yields to that option on the command line.
    on_command_line = set_on_command_line(parser, argv)
    from_trl = trl_fields(values["mode"], config_path, yaml_trl, leftover)
    values.update({name: value for name, value in from_trl.items() if name not in on_command_line})
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
