"""The three-strategy addition task (problems.py): the prompt ``72+4=``, a completion such as ``*76`` or ``+77``.

Made for tiny-carry (rlvr/models/tiny.py), whose character tokenizer already holds ``-``, ``*`` and ``+``. The
reward is 1 when the completion is a strategy tag followed by exactly the sum, whichever tag: the task rewards the
answer, never the strategy. Rows: ``expression``, ``answer``, ``carries`` and ``strategy`` (the tag the supervised
warm start is shown).
"""

from __future__ import annotations

from pathlib import Path

import datasets

from rlvr.errors import UserError
from rlvr.tasks.base import MAX_GENERATED_ROWS, Task
from rlvr.tasks.strategies.problems import (
    DATASETS,
    SPLITS,
    TAGS,
    answer_by,
    held_out_rows,
    problems_of,
    training_rows,
)
from rlvr.tasks.tagged_addition import ROW_FEATURES, build_addition_prompt, split_tagged, tagged_sum_scores

DEFAULT_TRAIN_ROWS = 20_000


def split_completion(completion: str) -> tuple[str | None, str]:
    """(tag, answer text) of a completion; the tag is None when the completion does not start with one.

    >>> split_completion(" *76 "), split_completion("76")
    (('*', '76'), (None, '76'))
    """
    return split_tagged(completion, TAGS)


def strategies_accuracy_reward(completions: list, answer: list | None = None, **kwargs) -> list[float | None]:
    """1.0 for a strategy tag and then exactly the sum's digits, else 0.0. Range {0, 1}.

    >>> strategies_accuracy_reward(["+76", "*76", "-76", "76", "+86", "*"], answer=[76] * 6)
    [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    return tagged_sum_scores(completions, answer, TAGS)


def strategies_sft_completion(row: dict, style: str) -> str:
    """The row's tag and the answer that strategy gives."""
    a, b = (int(part) for part in row["expression"].split("+"))
    return f"{row['strategy']}{answer_by(row['strategy'], a, b)}"


def load_strategies_dataset(
    name: str, split: str | None = None, path: str | Path | None = None, subset_size: int | None = None, seed: int = 0
) -> datasets.Dataset:
    """Train: ``subset_size`` (default 20,000) rows of ``name`` drawn with ``seed``. Test: every held-out problem (the
    same whatever ``name``), or the first ``subset_size`` of them in an order drawn with ``seed``."""
    split = split or "train"
    if path is not None:
        raise UserError("strategies: the problems are generated; --dataset-path does not apply")
    if split not in SPLITS:
        raise UserError(f"strategies: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if name not in DATASETS:
        raise UserError(f"unknown strategies dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if split == "train":
        rows = training_rows(name, subset_size or DEFAULT_TRAIN_ROWS, seed)
    else:
        rows = held_out_rows(subset_size, seed)
    return datasets.Dataset.from_list(rows, features=ROW_FEATURES)


def _generated_rows(dataset: str, split: str) -> int | None:
    """Train rows are drawn with replacement; the test split is each held-out problem once."""
    if dataset not in DATASETS or split not in SPLITS:
        return None
    return MAX_GENERATED_ROWS if split == "train" else len(problems_of("test"))


TASK = Task(
    name="strategies",
    is_multimodal=False,
    reward_functions={"strategies_accuracy_reward": strategies_accuracy_reward},
    default_reward_names=("strategies_accuracy_reward",),
    correctness_reward="strategies_accuracy_reward",
    dataset_names=DATASETS,
    default_dataset="training-mix",
    load_dataset=load_strategies_dataset,
    prompt_styles=("plain",),
    build_prompt=build_addition_prompt,
    sft_completion=strategies_sft_completion,
    question_column="expression",
    answer_column="answer",
    generated_rows=_generated_rows,
)
