"""What a task brings: datasets, a prompt, reward functions and the correctness check.

main.py, generate_samples.py and the trainer only talk to a ``Task``; adding a task is writing one of these
(see docs/tasks.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datasets import Dataset

from rlvr.data.user_columns import ColumnMap
from rlvr.errors import UserError
from rlvr.tasks.user_rewards import is_user_reward, load_user_reward

RewardFunction = Callable[..., list[float | None]]


def _no_startup_check(reward_names: Sequence[str]) -> None:
    return None


def _reads_rows(dataset: str, split: str) -> int | None:
    return None


# Rows a generator that repeats problems (or never runs out of them) gives at most: each row is made and held in
# memory before the run starts.
MAX_GENERATED_ROWS = 1_000_000


@dataclass(frozen=True)
class Task:
    """A task: rows in a fixed schema, a prompt per row, rewards over completions, and what counts as correct.

    Attributes:
        name: what ``--task`` takes.
        is_multimodal: rows carry an ``image`` column that the prompt refers to.
        reward_functions: registry name -> reward with TRL's signature ``(completions, **columns)``.
        default_reward_names: the rewards trained on when ``--reward-funcs`` is not given.
        correctness_reward: the verifiable reward; a sample is correct when it is at least the threshold.
        dataset_names: the names ``--dataset-name`` takes.
        default_dataset: the embedded dataset that needs no download.
        load_dataset: ``(name, split, path, subset_size, seed) -> Dataset`` in the task's row schema.
        prompt_styles: the names ``--prompt-style`` takes; the first is the default.
        build_prompt: ``(row, style) -> messages`` in TRL's conversational format.
        sft_completion: ``(row, style) -> str``, the reference completion a supervised warm start trains on.
        question_column / answer_column: the row fields shown as question and answer in sample files.
        startup_check: fails with one clear line before training if a selected reward cannot run.
        exact_match: ``(completion, row) -> bool``, the strict metric --mode eval reports beside the relaxed one.
        from_columns: ``(raw, columns, source) -> Dataset``, the user's rows (rlvr/data/user_columns.py) in the
            task's schema; None for a task that takes only its own datasets.
        generated_rows: ``(dataset, split) -> int | None``, the most rows a generated dataset's split can give
            (its distinct problems, or MAX_GENERATED_ROWS); None for a dataset read from files or the hub, where a
            larger subset is all of its rows.
    """

    name: str
    is_multimodal: bool
    reward_functions: Mapping[str, RewardFunction]
    default_reward_names: tuple[str, ...]
    correctness_reward: str
    dataset_names: tuple[str, ...]
    default_dataset: str
    load_dataset: Callable[[str, str, str | None, int | None, int], Dataset]
    prompt_styles: tuple[str, ...]
    build_prompt: Callable[[dict, str], list[dict]]
    sft_completion: Callable[[dict, str], str]
    question_column: str = "query"
    answer_column: str = "label"
    startup_check: Callable[[Sequence[str]], None] = field(default=_no_startup_check)
    exact_match: Callable[[str, dict], bool] | None = None
    from_columns: Callable[[Dataset, ColumnMap, str], Dataset] | None = None
    generated_rows: Callable[[str, str], int | None] = field(default=_reads_rows)

    @property
    def default_prompt_style(self) -> str:
        return self.prompt_styles[0]


@dataclass(frozen=True)
class RewardSelection:
    """The reward functions a run trains on, their names and weights, in the same order, and the name of the one
    that decides whether a sample is correct (None when nothing needs correctness)."""

    names: list[str]
    functions: list[RewardFunction]
    weights: list[float]
    correctness_reward: str | None = None


def select_rewards(
    task: Task,
    names: Sequence[str] | None,
    weights: Sequence[float] | None,
    needs_correctness: bool,
    correctness: str | None = None,
) -> RewardSelection:
    """Resolve ``--reward-funcs`` / ``--reward-weights`` / ``--correctness-reward``.

    A name is one of the task's rewards or the user's function (rlvr/tasks/user_rewards.py), named then by the
    function's name. The correctness reward (the task's accuracy reward unless ``correctness`` names another) is
    always computed when ``needs_correctness``: if the user left it out, it joins with weight 0, so it decides
    correctness without entering the total reward.
    """
    specs = list(names) if names else list(task.default_reward_names)
    unknown = [name for name in specs if name not in task.reward_functions and not is_user_reward(name)]
    if unknown:
        valid = ", ".join(task.reward_functions)
        raise UserError(
            f"unknown reward function(s) {', '.join(unknown)} for task {task.name}; valid: {valid}, or your own as "
            "package.module.function or path/to/file.py:function"
        )
    loaded = [_reward_for(task, spec) for spec in specs]
    chosen, functions = [name for name, _ in loaded], dict(loaded)
    if len(set(chosen)) != len(chosen):
        raise UserError(f"--reward-funcs names a reward twice: {' '.join(chosen)}")
    if weights is None:
        chosen_weights = [1.0] * len(chosen)
    elif len(weights) != len(chosen):
        raise UserError(f"--reward-weights has {len(weights)} values for {len(chosen)} reward functions")
    else:
        chosen_weights = [float(weight) for weight in weights]
    if not all(math.isfinite(weight) for weight in chosen_weights):
        raise UserError("--reward-weights must be finite numbers")
    if not needs_correctness:
        return RewardSelection(chosen, [functions[name] for name in chosen], chosen_weights)
    judge = correctness or task.correctness_reward
    if judge not in functions:
        if judge not in task.reward_functions and not is_user_reward(judge):
            raise UserError(
                f"--correctness-reward {judge} is neither among --reward-funcs ({', '.join(chosen)}) nor a reward of "
                f"task {task.name}"
            )
        judge, functions[judge] = _reward_for(task, judge)
    if judge not in chosen:
        chosen.append(judge)
        chosen_weights.append(0.0)
    return RewardSelection(chosen, [functions[name] for name in chosen], chosen_weights, judge)


def _reward_for(task: Task, spec: str) -> tuple[str, RewardFunction]:
    if spec in task.reward_functions:
        return spec, task.reward_functions[spec]
    return load_user_reward(spec)


def check_problem_count(task: Task, dataset: str, split: str, path: str | None, count: int | None, flag: str) -> None:
    """Refuse ``flag`` asking a generated dataset for more problems than it holds, before any is generated (the
    generator would otherwise search for ever, or fill the memory)."""
    if count is None or path is not None:
        return
    most = task.generated_rows(dataset, split)
    if most is not None and count > most:
        raise UserError(
            f"{flag} {count} is more than the {task.name} task's {dataset} {split} split can generate: "
            f"{most:,} problems at most"
        )


def add_prompts(task: Task, dataset: Dataset, style: str) -> Dataset:
    """Add TRL's ``prompt`` column (conversational messages) to every row."""
    if style not in task.prompt_styles:
        raise UserError(f"unknown prompt style {style!r} for task {task.name}; valid: {', '.join(task.prompt_styles)}")
    return dataset.map(lambda row: {"prompt": task.build_prompt(row, style)}, desc="prompts")


def score_completions(task: Task, completions: Sequence[str], row: Mapping, threshold: float) -> list[bool]:
    """Whether each completion of one problem is correct, by the same reward that decides it in training."""
    columns = {key: [value] * len(completions) for key, value in row.items()}
    rewards = task.reward_functions[task.correctness_reward](completions=list(completions), **columns)
    return [reward is not None and reward >= threshold for reward in rewards]


def answer_for_json(value: Any) -> str | int | float:
    """The label as the task gives it (a countdown target stays an int); anything else a samples file cannot
    hold as an answer (lists, None, true/false, NaN) as its text."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)
