"""Tasks by name. Each module is imported only when its task is asked for, so a chart run never loads math-verify."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from rlvr.errors import UserError

if TYPE_CHECKING:  # base imports datasets; the command-line parsers (and --help) need only the names below
    from datasets import Dataset

    from rlvr.tasks.base import Task

# The held-out problems must not move when a run's --seed changes (the seed of the synthetic charts and of a subset):
# runs compared at different seeds are then scored on the same problems.
HELD_OUT_DATASET_SEED = 2025

TASK_MODULES = {
    "arithmetic": "rlvr.tasks.arithmetic.task",
    "carry": "rlvr.tasks.carry.task",
    "chart": "rlvr.tasks.chart.task",
    "countdown": "rlvr.tasks.countdown.task",
    "math": "rlvr.tasks.math.task",
    "strategies": "rlvr.tasks.strategies.task",
}


def load_held_out(task: Task, name: str | None, split: str, path: str | None, num_problems: int | None) -> Dataset:
    """The problems an evaluation scores: all of ``split``, or a subset of ``num_problems`` drawn with
    ``HELD_OUT_DATASET_SEED`` (for a generated dataset: that many problems generated with it). The one rule of
    generate_samples.py ``--max-problems``, main.py ``--mode eval --max-eval-samples`` and ``--eval-subset-size``
    during training, so each scores the same problems whatever the run's ``--seed``."""
    return task.load_dataset(name, split=split, path=path, subset_size=num_problems, seed=HELD_OUT_DATASET_SEED)


def get_task(name: str) -> Task:
    if name not in TASK_MODULES:
        raise UserError(f"unknown task {name!r}; valid: {', '.join(TASK_MODULES)}")
    return importlib.import_module(TASK_MODULES[name]).TASK
