"""Train or evaluate a (vision-)language model with GRPO, PSR, NSR, W-REINFORCE, DPO or SFT.

    accelerate launch --config_file deepspeed_zero3.yaml main.py --mode nsr --vlm-name qwen2-5-3b ...

Reads top to bottom: parse, load data, build rewards, build model, build trainer, train, save. --mode dpo turns the
data into preference pairs: at once from --preference-data (a generate_samples.py file), or after drawing samples
with the loaded model; this script joins the evaluation stage (sampling, the samples file) and the trainers stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import set_seed

from evaluation.greedy import GreedySettings, evaluate_greedy
from evaluation.samples_file import problem_record, read_samples_file, write_samples_file
from evaluation.sampling import SamplingSettings, draw_samples
from rlvr.errors import UserError, exit_on_user_error
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from rlvr.tasks.base import Task, select_rewards
from trainers.builders import build_trainer
from trainers.config import RunConfig, parse_run_config
from trainers.geometry import batch_geometry, num_processes
from trainers.preference_pairs import check_rows_match, dpo_dataset
from trainers.setup import (
    find_resume_checkpoint,
    is_main_process,
    run_name_for,
    setup_reporting,
    write_run_config,
)

# The samples main.py draws itself for --mode dpo, kept beside the checkpoints so a resumed run trains on the same
# pairs (and a user can read what the model got right and wrong).
DRAWN_SAMPLES_FILE = "preference_samples.json"


def load_preference_file(config: RunConfig, task: Task) -> tuple[list[dict[str, Any]], Dataset]:
    """The problems of --preference-data and the dataset rows they were drawn on.

    The file's metadata names the dataset, split and subset generate_samples.py used (loaded, as there, with the
    held-out seed); a bare list of problems is taken to come from this run's dataset options. Either way every
    problem is checked against its row (trainers/preference_pairs.py explains the join).
    """
    problems, metadata = read_samples_file(config.preference_data)
    source = config.preference_data
    if metadata.get("task", task.name) != task.name:
        raise UserError(f"{source} holds samples of task {metadata['task']!r}; pass --task {metadata['task']}")
    if metadata.get("prompt_style", config.prompt_style) != config.prompt_style:
        style = metadata["prompt_style"]
        raise UserError(f"{source} was drawn with prompt style {style!r}; pass --prompt-style {style}")
    if "dataset" in metadata and "split" in metadata:
        dataset = task.load_dataset(
            metadata["dataset"],
            metadata["split"],
            metadata.get("dataset_path"),
            metadata.get("max_problems"),
            HELD_OUT_DATASET_SEED,
        )
    else:
        dataset = task.load_dataset(
            config.dataset_name, config.split, config.dataset_path, config.subset_size, config.seed
        )
    check_rows_match(task, problems, dataset, source)
    where = f"{metadata['dataset']} ({metadata['split']})" if "dataset" in metadata else "this run's dataset options"
    print(f"Preference data: {len(problems)} problems of {source}, drawn on {where}", flush=True)
    return problems, dataset


def draw_preference_samples(config: RunConfig, task: Task, model, processor, dataset: Dataset) -> list[dict]:
    """--num-generations samples per problem from the model about to be trained, each marked correct or not.

    Written to the output folder as a samples file; a resumed run reads it back instead of drawing again. Every
    process draws the same samples (same seeds), so no process waits on another.
    """
    settings = SamplingSettings(
        checkpoint=config.model,
        task=task.name,
        dataset=config.dataset_name,
        dataset_path=config.dataset_path,
        split=config.split,
        max_problems=config.subset_size,
        prompt_style=config.prompt_style,
        num_samples=config.num_generations,
        temperature=config.temperature,
        top_p=1.0,
        max_new_tokens=config.max_completion_length,
        seed=config.seed,
        reward_threshold=config.reward_threshold,
    )
    path = Path(config.output_dir) / DRAWN_SAMPLES_FILE
    if path.is_file() and not config.no_resume:
        problems, metadata = read_samples_file(path)
        changed = [name for name, value in settings.as_dict().items() if metadata.get(name) != value]
        if changed:
            raise UserError(
                f"{path} was drawn with other {', '.join(changed)}; run the same command to resume, or --no-resume "
                "to draw again"
            )
        check_rows_match(task, problems, dataset, str(path))
        print(f"Preference samples: reusing {path}", flush=True)
        return problems
    if torch.cuda.is_available():
        model.to("cuda")
    problems = []
    for index in range(len(dataset)):
        row = dataset[index]
        samples = draw_samples(model, processor, task, row, settings, index, config.num_generations)
        problems.append(problem_record(task, row, index, samples, settings))
    if is_main_process():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_samples_file(path, settings, problems)
    correct = sum(problem["num_correct"] for problem in problems) / sum(problem["num_total"] for problem in problems)
    print(
        f"Preference samples: drew {len(problems)} problems x {settings.num_samples}, {correct:.1%} correct",
        flush=True,
    )
    return problems


def preference_dataset(config: RunConfig, task: Task, dataset: Dataset, problems: list[dict]) -> Dataset:
    """DPOTrainer's rows from the problems' samples, saying how many problems gave no pair."""
    rows, pair_set = dpo_dataset(
        task, dataset, problems, config.pairs_per_problem, config.chosen_from, config.seed, config.prompt_style
    )
    if is_main_process():
        print(f"Preference data: {pair_set.describe()}", flush=True)
    return rows


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    # Parse
    config = parse_run_config(argv)
    geometry = batch_geometry(config, num_processes()) if config.is_rl else None
    task = get_task(config.task)
    set_seed(config.seed)

    # Load data (dpo with --preference-data: its pairs now, so a file without a usable pair stops in seconds)
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
    if trainer.accelerator.is_main_process:
        write_run_config(config)
        if geometry is not None:
            print(f"Batch geometry: {geometry.describe()}", flush=True)

    # Train (resuming from the newest checkpoint unless --no-resume)
    checkpoint = find_resume_checkpoint(config.output_dir, config.no_resume)
    if checkpoint and trainer.accelerator.is_main_process:
        print(f"Resuming from {checkpoint} (use --no-resume to start over)", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)

    # Save the model (or LoRA adapter) and the processor where generate_samples.py and transformers load them
    trainer.save_model(config.output_dir)
    if trainer.accelerator.is_main_process:
        processor.save_pretrained(config.output_dir)


if __name__ == "__main__":
    main()
