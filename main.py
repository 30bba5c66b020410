"""Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE, DPO or SFT.

    accelerate launch --config_file deepspeed_zero3.yaml main.py --mode nsr --vlm-name qwen2-5-3b ...

Reads top to bottom: parse, load data, build rewards, build model, build trainer, train, save. --mode dpo turns the
data into preference pairs: at once from --preference-data (a generate_samples.py file), or after drawing samples
with the loaded model; this script joins the evaluation stage (sampling, the samples file) and the trainers stage.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import TYPE_CHECKING

from rlvr.cli import filter_known_warnings, forget_unused_wandb_mode
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import check_output_folder
from rlvr.locks import OutputLock
from rlvr.models.names import check_model_for_task
from rlvr.tasks import get_task
from rlvr.tasks.system_prompt import with_system_prompt
from trainers.config import RunConfig
from trainers.config_parser import parse_run_config
from trainers.geometry import batch_geometry, num_processes
from trainers.micro_batch import with_micro_batch
from trainers.resume import (
    LOCK_FILE,
    check_named_checkpoint,
    check_output_dir,
    eval_report_path,
    nothing_left_to_train,
)

if TYPE_CHECKING:
    from rlvr.tasks.base import Task
    from trainers.geometry import BatchGeometry


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    # Parse and check all that needs no torch, so that a bad option, model name, output folder or dataset is
    # refused in seconds (torch and transformers take a minute to import on a loaded machine)
    config = parse_run_config(argv)
    filter_known_warnings()
    if "wandb" not in config.report_to and "all" not in config.report_to:
        forget_unused_wandb_mode()
    task = with_system_prompt(get_task(config.task), config.system_prompt)
    config = with_micro_batch(config, num_processes(), task.is_multimodal)
    geometry = batch_geometry(config, num_processes()) if config.is_rl else None
    check_model_for_task(config.model, task.name, task.is_multimodal, "--vlm-name")
    from trainers.run_limits import check_run_limits  # loads datasets: not before --help has answered

    check_run_limits(config, task)
    # One main.py per output folder: its first process holds the lock (the others are its helpers), from before the
    # folder is first checked until the run ends, so no other run can change it in between
    is_first_process = int(os.environ.get("RANK", "0")) == 0
    lock_path = check_output_folder(config.output_dir, "--output-dir") / LOCK_FILE
    with OutputLock(lock_path, f"--output-dir {config.output_dir}") if is_first_process else nullcontext():
        check_output_dir(config)
        named_checkpoint = check_named_checkpoint(config)
        if config.mode != "eval":
            # A finished run is not trained again by accident.
            finished = nothing_left_to_train(config)
            if finished is not None:
                print(
                    f"{config.output_dir} holds this run, finished at step {finished}; nothing to train "
                    "(raise --max-steps to train on, or --no-resume --overwrite to start over)"
                )
                return
        run(config, task, geometry, named_checkpoint)


def run(config: RunConfig, task: Task, geometry: BatchGeometry | None, named_checkpoint: str | None = None) -> None:
    # Load data (dpo with --preference-data: its pairs now, so a file without a usable pair stops in seconds)
    from rlvr.data.local import allow_outside_images
    from trainers.preference_pairs import preference_dataset
    from trainers.run_data import load_run_dataset

    allow_outside_images(config.allow_outside_images)
    if config.preference_data:
        from evaluation.preference_samples import load_preference_file

        problems, rows = load_preference_file(config, task)
        dataset = preference_dataset(config, task, rows, problems)
    elif config.mode == "eval":  # the held-out rule of generate_samples.py --max-problems
        from rlvr.tasks import load_held_out

        dataset = load_held_out(task, config.dataset_name, config.split, config.dataset_path, config.max_eval_samples)
    else:
        dataset = load_run_dataset(config, task)
    data_hash = None
    if config.mode != "eval":  # a run resumes only on the rows it was trained on (trainers/run_record.py)
        from rlvr.run_identity import rows_hash
        from trainers.resume import find_resume_checkpoint
        from trainers.run_record import check_same_rows

        data_hash = rows_hash(dataset)
        check_same_rows(named_checkpoint or find_resume_checkpoint(config.output_dir, config.no_resume), data_hash)

    # Build rewards (before the model, so a reward that cannot run stops the job in seconds)
    from rlvr.tasks.base import select_rewards

    rewards = select_rewards(
        task,
        config.reward_funcs,
        config.reward_weights,
        needs_correctness=config.mode != "sft",
        correctness=config.correctness_reward,
    )
    if config.is_rl or (config.mode == "dpo" and not config.preference_data):
        task.startup_check(rewards.names)

    # Only now the heavy imports
    from transformers import set_seed

    from evaluation.accuracy_eval import AccuracySettings, evaluate_accuracy
    from evaluation.preference_samples import draw_preference_samples
    from rlvr.models.registry import load_model, load_processor, resolve_model
    from trainers.builders import build_trainer
    from trainers.resume import clear_finished, discard_previous_run, find_resume_checkpoint
    from trainers.run_end import save_final_model, train_to_the_end
    from trainers.run_record import write_run_record
    from trainers.setup import run_name_for, setup_reporting, use_short_console_log

    set_seed(config.seed)

    # Build model
    model_source = resolve_model(config.model)
    if task.is_multimodal and not model_source.is_vision_language:  # a hub id is known only now
        raise UserError(f"--vlm-name {config.model} is a text-only model, but the {task.name} task shows images")
    processor = load_processor(model_source)
    model = load_model(model_source, config.dtype, config.attn_implementation)

    if config.mode == "eval":
        settings = AccuracySettings(
            model=config.model,
            dataset_name=config.dataset_name,
            split=config.split,
            prompt_style=config.prompt_style,
            max_new_tokens=config.max_completion_length,
            reward_threshold=config.reward_threshold,
            temperature=config.eval_temperature,
            top_p=config.eval_top_p,
            report_path=eval_report_path(config),
        )
        evaluate_accuracy(task, model, processor, dataset, settings)
        return

    # DPO without --preference-data: draw samples with the model about to be trained, then pair them
    if config.mode == "dpo" and not config.preference_data:
        problems = draw_preference_samples(config, task, model, processor, dataset)
        dataset = preference_dataset(config, task, dataset, problems)

    # Build trainer
    run_name, report_to = run_name_for(config), setup_reporting(config.report_to)
    trainer = build_trainer(config, task, model, processor, dataset, rewards, geometry, run_name, report_to)
    use_short_console_log(trainer)
    checkpoint = named_checkpoint or find_resume_checkpoint(config.output_dir, config.no_resume)
    if trainer.accelerator.is_main_process:
        if config.no_resume:
            discard_previous_run(config.output_dir)  # only with --overwrite (check_output_dir), and only now
        write_run_record(config, checkpoint, data_hash)
        if geometry is not None:
            print(f"Batch geometry: {geometry.describe()}", flush=True)
            print(geometry.generation_line(), flush=True)

    # Train (resuming from the newest complete checkpoint unless --no-resume)
    if trainer.accelerator.is_main_process:
        clear_finished(config.output_dir)
        if checkpoint:
            print(f"Resuming from {checkpoint} (use --no-resume to start over)", flush=True)
    if not train_to_the_end(trainer, checkpoint) and trainer.accelerator.is_main_process:
        print(
            f"{checkpoint} is at the run's last step, {trainer.state.global_step}: nothing to train; saving its model "
            "as the final model",
            flush=True,
        )
    # The final model, then finished.json (trainers/run_end.py)
    save_final_model(trainer, processor, config.output_dir)


if __name__ == "__main__":
    main()
