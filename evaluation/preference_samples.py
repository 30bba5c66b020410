"""Samples for --mode dpo: read from a generate_samples.py file, or drawn with the model about to be trained, and
joined to the dataset rows they were drawn on.

The join is on ``problem_id``, the row's index in the dataset generate_samples.py loaded (questions repeat: the
synthetic charts ask one question of many charts); every problem's question and answer are checked against its row,
so samples drawn on other rows stop with one line instead of training on mismatched prompts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset

from evaluation.run_identity import model_change, rows_change, without_identity
from evaluation.samples_file import read_samples_file, write_samples_file
from evaluation.sampling import problem_record
from rlvr.errors import UserError
from rlvr.run_identity import model_step, rows_hash, weights_fingerprint
from rlvr.tasks import HELD_OUT_DATASET_SEED
from rlvr.tasks.base import Task, answer_for_json

# The samples main.py draws itself for --mode dpo, kept beside the checkpoints so a resumed run trains on the same
# pairs (and a user can read what the model got right and wrong).
DRAWN_SAMPLES_FILE = "preference_samples.json"


def load_preference_file(config, task: Task) -> tuple[list[dict[str, Any]], Dataset]:
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
    check_same_rows(metadata, rows_hash(dataset), source, "sample them again from these rows")
    where = f"{metadata['dataset']} ({metadata['split']})" if "dataset" in metadata else "this run's dataset options"
    print(f"Preference data: {len(problems)} problems of {source}, drawn on {where}", flush=True)
    return problems, dataset


def draw_preference_samples(config, task: Task, model, processor, dataset: Dataset) -> list[dict]:
    """--num-generations samples per problem from the model about to be trained, each marked correct or not.

    Written to the output folder as a samples file; a resumed run reads it back instead of drawing again. Every
    process draws the same samples (same seeds), so no process waits on another.
    """
    import torch  # here, so that main.py reads --preference-data before torch is imported

    from evaluation.progress import SamplingSettings
    from evaluation.sampling import draw_samples

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
        model_step=model_step(config.model),
        model_fingerprint=weights_fingerprint(config.model),
        data_hash=rows_hash(dataset),
    )
    path = Path(config.output_dir) / DRAWN_SAMPLES_FILE
    if path.is_file() and not config.no_resume:
        problems, metadata = read_samples_file(path)
        check_same_rows(metadata, settings.data_hash, str(path), "--no-resume draws them again")
        model = model_change(metadata, settings.as_dict())
        if model is not None:
            raise UserError(
                f"{path} was drawn from another model ({model[0]} there; {model[1]} here); --no-resume draws them "
                "again"
            )
        changed = [name for name, value in without_identity(settings.as_dict()).items() if metadata.get(name) != value]
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
    if int(os.environ.get("RANK", "0")) == 0:  # every process drew the same samples; one writes them
        path.parent.mkdir(parents=True, exist_ok=True)
        write_samples_file(path, settings, problems)
    correct = sum(problem["num_correct"] for problem in problems) / sum(problem["num_total"] for problem in problems)
    print(
        f"Preference samples: drew {len(problems)} problems x {settings.num_samples}, {correct:.1%} correct",
        flush=True,
    )
    return problems


def check_same_rows(metadata: Mapping[str, Any], data_hash: str, source: str, fix: str) -> None:
    """Refuse samples whose file records another rows hash than ``data_hash`` (rows changed since they were drawn:
    the same question and answer may sit beside another picture); a file without one is not checked."""
    rows = rows_change(metadata, {"data_hash": data_hash})
    if rows is not None:
        raise UserError(
            f"{source} was drawn on other dataset rows (rows {rows[0]} there, {rows[1]} here): the dataset changed "
            f"since; {fix}"
        )


def check_rows_match(task: Task, problems: Sequence[Mapping[str, Any]], dataset: Dataset, source: str) -> None:
    """Every problem's id is a row of ``dataset`` with the same question and answer; UserError names the first not."""
    for problem in problems:
        problem_id = problem["problem_id"]
        if not isinstance(problem_id, int) or not 0 <= problem_id < len(dataset):
            raise UserError(
                f"{source}: problem_id {problem_id!r} is not a row of the dataset ({len(dataset)} rows); "
                "pass the --dataset-name, --split and --subset-size the samples were drawn with"
            )
        row = dataset[problem_id]
        question, answer = str(row[task.question_column]), answer_for_json(row[task.answer_column])
        if question != problem["question"] or answer != problem["answer"]:
            raise UserError(
                f"{source}: problem {problem_id} does not match dataset row {problem_id} (question or answer "
                "differs); the samples were drawn on other rows"
            )
