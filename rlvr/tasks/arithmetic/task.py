"""The arithmetic toy task: the prompt is ``12+34*5=``, the completion is the number, ``182``.

Made for the tiny-arith model (rlvr/models/tiny.py), whose character tokenizer knows digits and ``+-*=`` only.
Rows: ``expression`` (str) and ``answer`` (int). The datasets, ``synthetic`` (``a+b*c``) and ``addition``
(``a+b``), are generated here (problems.py): 20,000 train (or all there are) and 500 test problems by default;
``--subset-size`` draws another number.
"""

from __future__ import annotations

from pathlib import Path

import datasets

from rlvr.errors import UserError
from rlvr.tasks.arithmetic.problems import FAMILIES, SPLITS, generate_problems, problems_in_split
from rlvr.tasks.base import Task
from rlvr.tasks.completions import completion_text

DATASET_NAMES = tuple(FAMILIES)
DEFAULT_SPLIT_SIZES = {"train": 20_000, "test": 500}
PROMPT_STYLES = ("plain",)
ROW_FEATURES = datasets.Features({"expression": datasets.Value("string"), "answer": datasets.Value("int64")})


def arithmetic_accuracy_reward(completions: list, answer: list | None = None, **kwargs) -> list[float | None]:
    """1.0 when the completion is exactly the answer's digits (surrounding whitespace aside), else 0.0. Range {0, 1}.

    Strict on purpose: the answer is the whole completion, so "1820", "182182" or "0182" are wrong.

    >>> arithmetic_accuracy_reward(["182", " 182", "1820", "", "182+0"], answer=[182] * 5)
    [1.0, 1.0, 0.0, 0.0, 0.0]
    """
    if answer is None:
        return [None] * len(completions)
    return [
        None if expected is None else float(completion_text(completion).strip() == str(expected))
        for completion, expected in zip(completions, answer, strict=True)
    ]


def build_arithmetic_prompt(row: dict, style: str) -> list[dict]:
    """One user turn holding ``expression=``; tiny-arith's chat template writes it with no role markers."""
    return [{"role": "user", "content": f"{row['expression']}="}]


def arithmetic_sft_completion(row: dict, style: str) -> str:
    return str(row["answer"])


def load_arithmetic_dataset(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    subset_size: int | None = None,
    seed: int = 2025,
) -> datasets.Dataset:
    """``subset_size`` (default 20,000 train, 500 test) distinct problems of ``split``, drawn with ``seed``."""
    split = split or "train"
    if name not in DATASET_NAMES:
        raise UserError(f"unknown arithmetic dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if path is not None:
        raise UserError("arithmetic: the problems are generated; --dataset-path does not apply")
    if subset_size is not None and subset_size <= 0:
        raise UserError(f"arithmetic: subset size must be a positive number of rows, got {subset_size}")
    if split not in SPLITS:
        raise UserError(f"arithmetic: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    num_rows = subset_size or min(DEFAULT_SPLIT_SIZES[split], problems_in_split(name, split))
    return datasets.Dataset.from_list(generate_problems(num_rows, seed, split, family=name), features=ROW_FEATURES)


def _generated_rows(dataset: str, split: str) -> int | None:
    return problems_in_split(dataset, split) if dataset in FAMILIES and split in SPLITS else None


TASK = Task(
    name="arithmetic",
    is_multimodal=False,
    reward_functions={"arithmetic_accuracy_reward": arithmetic_accuracy_reward},
    default_reward_names=("arithmetic_accuracy_reward",),
    correctness_reward="arithmetic_accuracy_reward",
    dataset_names=DATASET_NAMES,
    default_dataset="synthetic",
    load_dataset=load_arithmetic_dataset,
    prompt_styles=PROMPT_STYLES,
    build_prompt=build_arithmetic_prompt,
    sft_completion=arithmetic_sft_completion,
    question_column="expression",
    answer_column="answer",
    generated_rows=_generated_rows,
)
