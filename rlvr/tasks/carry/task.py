"""The two-procedure addition task (problems.py): the prompt ``47+5=``, a completion such as ``+52`` or ``-42``.

Made for tiny-arith (rlvr/models/tiny.py), whose character tokenizer already holds ``+`` and ``-``. The reward is
1 when the completion is a strategy tag followed by exactly the sum, whichever tag: the task rewards the answer,
never the strategy. Rows: ``expression``, ``answer``, ``carries`` and ``strategy`` (the tag the supervised warm start
is shown; in the test split always Y, the right one).
"""

from __future__ import annotations

from pathlib import Path

import datasets

from rlvr.errors import UserError
from rlvr.tasks.base import MAX_GENERATED_ROWS, Task
from rlvr.tasks.carry.problems import DATASETS, SPLITS, TAGS, answer_by, held_out_rows, problems_of, training_rows
from rlvr.tasks.tagged_addition import ROW_FEATURES, build_addition_prompt, split_tagged, tagged_sum_scores

# The share of supervised rows that show strategy Y (docs/objectives.md, "The toy"): 10%, the 85-90% X.
CARRY_SHARE = 0.10
DEFAULT_TRAIN_ROWS = 20_000


def split_completion(completion: str) -> tuple[str | None, str]:
    """(tag, answer text) of a completion; the tag is None when the completion does not start with one.

    >>> split_completion(" +52 "), split_completion("52")
    (('+', '52'), (None, '52'))
    """
    return split_tagged(completion, TAGS)


def carry_accuracy_reward(completions: list, answer: list | None = None, **kwargs) -> list[float | None]:
    """1.0 for a tag and then exactly the sum's digits, else 0.0. Range {0, 1}.

    >>> carry_accuracy_reward(["+52", "-52", "52", "-42", "+520", "+"], answer=[52] * 6)
    [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    return tagged_sum_scores(completions, answer, TAGS)


def carry_sft_completion(row: dict, style: str) -> str:
    """The row's tag and the answer that strategy gives (X forgets the carry)."""
    a, b = (int(part) for part in row["expression"].split("+"))
    return f"{row['strategy']}{answer_by(row['strategy'], a, b)}"


def load_carry_dataset(
    name: str, split: str | None = None, path: str | Path | None = None, subset_size: int | None = None, seed: int = 0
) -> datasets.Dataset:
    """Train: ``subset_size`` (default 20,000) rows drawn with replacement, tags drawn with ``seed``. Test: every
    held-out problem, or the first ``subset_size`` of them in an order drawn with ``seed``."""
    split = split or "train"
    if path is not None:
        raise UserError("carry: the problems are generated; --dataset-path does not apply")
    if split not in SPLITS:
        raise UserError(f"carry: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if split == "train":
        rows = training_rows(name, subset_size or DEFAULT_TRAIN_ROWS, seed, CARRY_SHARE)
    else:
        rows = held_out_rows(name, subset_size, seed)
    return datasets.Dataset.from_list(rows, features=ROW_FEATURES)


def _generated_rows(dataset: str, split: str) -> int | None:
    """Train rows are drawn with replacement; the test split is each held-out problem once."""
    if dataset not in DATASETS or split not in SPLITS:
        return None
    return MAX_GENERATED_ROWS if split == "train" else len(problems_of(dataset, split))


TASK = Task(
    name="carry",
    is_multimodal=False,
    reward_functions={"carry_accuracy_reward": carry_accuracy_reward},
    default_reward_names=("carry_accuracy_reward",),
    correctness_reward="carry_accuracy_reward",
    dataset_names=DATASETS,
    default_dataset="two-procedure",
    load_dataset=load_carry_dataset,
    prompt_styles=("plain",),
    build_prompt=build_addition_prompt,
    sft_completion=carry_sft_completion,
    question_column="expression",
    answer_column="answer",
    generated_rows=_generated_rows,
)
