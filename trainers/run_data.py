"""The rows a run trains or evaluates on: one of the task's own datasets, or a dataset of the user's (a hub id or a
local path, with --question-column / --answer-column / --image-column naming its columns)."""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from rlvr.data.user_columns import ColumnMap, load_with_columns, subset_rows
from rlvr.errors import UserError
from rlvr.tasks.base import Task
from trainers.config import RunConfig


def load_run_dataset(config: RunConfig, task: Task) -> Dataset:
    if not uses_users_columns(config, task):
        return task.load_dataset(
            config.dataset_name,
            split=config.split,
            path=config.dataset_path,
            subset_size=config.subset_size,
            seed=config.seed,
        )
    if task.from_columns is None:
        raise UserError(
            f"--task {task.name} takes only its own datasets ({', '.join(task.dataset_names)}); a dataset of yours "
            "with --question-column and --answer-column works with the chart and math tasks"
        )
    columns = ColumnMap(
        question=config.question_column or task.question_column,
        answer=config.answer_column or task.answer_column,
        image=(config.image_column or "image") if task.is_multimodal else None,
    )
    raw, where = load_with_columns(config.dataset_path or config.dataset_name, config.split, columns)
    return subset_rows(task.from_columns(raw, columns, where), config.subset_size, config.seed)


def uses_users_columns(config: RunConfig, task: Task) -> bool:
    """A column flag was given, or --dataset-name is a local path or a hub id rather than one of the task's names."""
    if config.question_column or config.answer_column or config.image_column:
        return True
    name = config.dataset_name or ""
    return name not in task.dataset_names and config.dataset_path is None and ("/" in name or Path(name).exists())
