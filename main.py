"""Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE, DPO or SFT.

    accelerate launch --config_file deepspeed_zero3.yaml main.py --mode nsr --vlm-name qwen2-5-3b ...

Reads top to bottom: parse, load data, build rewards, build model, build trainer, train, save. --mode dpo turns the
data into preference pairs: at once from --preference-data (a generate_samples.py file), or after drawing samples
with the loaded model; this script joins the evaluation stage (sampling, the samples file) and the trainers stage.
"""

from __future__ import annotations

from pathlib import Path

from rlvr.cli import filter_known_warnings
from rlvr.errors import exit_on_user_error
from trainers.config import parse_run_config


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    # Parse (before the heavy imports below, so --help and a bad flag answer at once)
    config = parse_run_config(argv)
    filter_known_warnings()

    from transformers import set_seed

    from evaluation.greedy import GreedySettings, evaluate_greedy
    from evaluation.preference_samples import draw_preference_samples, load_preference_file
    from rlvr.data.local import allow_outside_images
    from rlvr.files import check_output_folder
    from rlvr.models.registry import load_model, load_processor, resolve_model
    from rlvr.tasks import get_task
    from rlvr.tasks.base import select_rewards
    from trainers.builders import build_trainer
    from trainers.geometry import batch_geometry, num_processes
    from trainers.micro_batch import with_micro_batch
    from trainers.preference_pairs import preference_dataset
    from trainers.resume import (
        check_resume,
        clear_finished,
        find_resume_checkpoint,
        mark_finished,
        nothing_left_to_train,
    )
    from trainers.setup import run_name_for, setup_reporting, use_short_console_log, write_run_config

    task = get_task(config.task)
    config = with_micro_batch(config, num_processes(), task.is_multimodal)
    geometry = batch_geometry(config, num_processes()) if config.is_rl else None
    set_seed(config.seed)
    check_output_folder(Path(config.output_dir), "--output-dir")
    if config.mode != "eval":
        # The output folder must hold this run or none, and a finished run is not trained again by accident.
        check_resume(config)
        finished = nothing_left_to_train(config)
        if finished is not None:
            print(
                f"{config.output_dir} holds this run, finished at step {finished}; nothing to train "
                "(raise --max-steps to train on, or --no-resume to start over)"
            )
            return

    # Load data (dpo with --preference-data: its pairs now, so a file without a usable pair stops in seconds)
    allow_outside_images(config.allow_outside_images)
    if config.preference_data:
        problems, rows = load_preference_file(config, task)
        dataset = preference_dataset(config, task, rows, problems)
    else:
        dataset = task.load_dataset(
            config.dataset_name,
            split=config.split,
            path=config.dataset_path,
            subset_size=config.subset_size,
            seed=config.seed,
        )

    # Build rewards (before the model, so a reward that cannot run stops the job in seconds)
    rewards = select_rewards(task, config.reward_funcs, config.reward_weights, needs_correctness=config.mode != "sft")
    if config.is_rl or (config.mode == "dpo" and not config.preference_data):
        task.startup_check(rewards.names)

    # Build model
    model_source = resolve_model(config.model)
    processor = load_processor(model_source)
    model = load_model(model_source)

    if config.mode == "eval":
        settings = GreedySettings(
            model=config.model,
            dataset_name=config.dataset_name,
            split=config.split,
            prompt_style=config.prompt_style,
            max_new_tokens=config.max_completion_length,
            reward_threshold=config.reward_threshold,
            max_examples=config.max_eval_samples,
            output_dir=config.output_dir,
        )
        evaluate_greedy(task, model, processor, dataset, settings)
        return

    # DPO without --preference-data: draw samples with the model about to be trained, then pair them
    if config.mode == "dpo" and not config.preference_data:
        problems = draw_preference_samples(config, task, model, processor, dataset)
        dataset = preference_dataset(config, task, dataset, problems)

    # Build trainer
    run_name, report_to = run_name_for(config), setup_reporting(config.report_to)
    trainer = build_trainer(config, task, model, processor, dataset, rewards, geometry, run_name, report_to)
    use_short_console_log(trainer)
    if trainer.accelerator.is_main_process:
        write_run_config(config)
        if geometry is not None:
            print(f"Batch geometry: {geometry.describe()}", flush=True)
            print(geometry.generation_line(), flush=True)

    # Train (resuming from the newest complete checkpoint unless --no-resume)
    checkpoint = find_resume_checkpoint(config.output_dir, config.no_resume)
    if trainer.accelerator.is_main_process:
        clear_finished(config.output_dir)
        if checkpoint:
            print(f"Resuming from {checkpoint} (use --no-resume to start over)", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)

    # Save the model (or LoRA adapter) and the processor where generate_samples.py and transformers load them;
    # the finished marker comes last, so a run killed while saving is not taken for a finished one.
    trainer.save_model(config.output_dir)
    if trainer.accelerator.is_main_process:
        processor.save_pretrained(config.output_dir)
        mark_finished(config.output_dir, trainer.state.global_step)


if __name__ == "__main__":
    main()
