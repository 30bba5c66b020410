"""The Countdown task: reach a target number with the given numbers and + - * /, each number used once.

Rows: ``nums`` (list of int), ``target`` (int) and ``solution`` (a reference expression, or None when the
source has none). Datasets:

- ``synthetic`` (default): generated here with a known solution (see generator.py); no download.
- ``countdown-tasks-3to4``: the hub dataset ``Jiayi-Pan/Countdown-Tasks-3to4`` (columns ``target``, ``nums``;
  one "train" split of about 490k rows). Its last 1,024 rows are our test split and the rest our train split.
  With ``--dataset-path``, a local copy in the same columns (json, jsonl, parquet or a save_to_disk folder) is
  read as it is: the file is the split.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from pathlib import Path

import datasets
import numpy as np

from rlvr.data.local import load_local_dataset
from rlvr.errors import UserError
from rlvr.tasks.base import Task
from rlvr.tasks.completions import completion_text
from rlvr.tasks.countdown.expressions import evaluation_steps, is_correct_solution, last_answer
from rlvr.tasks.countdown.generator import DEFAULT_SPLIT_SIZES, generate_countdown_problems, most_problems, solve

logger = logging.getLogger(__name__)

HUB_ID = "Jiayi-Pan/Countdown-Tasks-3to4"
HUB_DATASET_NAME = "countdown-tasks-3to4"
DATASET_NAMES = ("synthetic", HUB_DATASET_NAME)
HUB_TEST_ROWS = 1024
ROW_FEATURES = datasets.Features(
    {
        "nums": datasets.List(datasets.Value("int64")),
        "target": datasets.Value("int64"),
        "solution": datasets.Value("string"),
    }
)

SYSTEM_PROMPTS = {
    "think": (
        "You solve arithmetic puzzles. First reason step by step inside <think> </think>, then give only the "
        "final expression inside <answer> </answer>."
    ),
    "direct": "You solve arithmetic puzzles. Reply with only the final expression inside <answer> </answer>.",
}
USER_PROMPT = (
    "Using the numbers {nums}, write an expression that equals {target}. Use every number exactly once, and only "
    "+, -, *, / and parentheses. {layout}"
)
LAYOUT_INSTRUCTIONS = {
    "think": (
        "Show your work in <think> </think> tags, then write the expression alone in <answer> </answer> tags, "
        "for example <answer>(1 + 2) / 3</answer>."
    ),
    "direct": "Write the expression alone in <answer> </answer> tags, for example <answer>(1 + 2) / 3</answer>.",
}

# Tag contents may not hold another think or answer tag, which also keeps the match linear on hostile text.
_TAG_FREE = r"(?:(?!</?(?:think|answer)>).)"
_THINK_ANSWER_LAYOUT = re.compile(
    rf"\s*<think>{_TAG_FREE}*</think>\s*<answer>{_TAG_FREE}*\S{_TAG_FREE}*</answer>\s*", re.DOTALL
)


# --- Rewards: TRL's signature, one value per completion, None where the row lacks the columns.


def countdown_accuracy_reward(
    completions: list, nums: list | None = None, target: list | None = None, **kwargs
) -> list[float | None]:
    """1.0 when the last ``<answer>`` is a correct expression, else 0.0. Range {0, 1}.

    Correct: it uses every number of ``nums`` exactly once, only + - * / and parentheses (no unary minus), and
    equals ``target`` within 1e-6. The expression is parsed, never executed; anything else is 0.0.

    >>> countdown_accuracy_reward(["<answer>(6 - 2) * 5</answer>", "<answer>6 * 5 - 2</answer>", "20"],
    ...                           nums=[[2, 5, 6]] * 3, target=[20] * 3)
    [1.0, 0.0, 0.0]
    """
    if nums is None or target is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    for completion, numbers, goal in zip(completions, nums, target, strict=False):
        if numbers is None or goal is None:
            rewards.append(None)
            continue
        answer = last_answer(completion_text(completion))
        rewards.append(float(answer is not None and is_correct_solution(answer, numbers, goal)))
    return rewards


def countdown_reward(
    completions: list, nums: list | None = None, target: list | None = None, **kwargs
) -> list[float | None]:
    """+1.0 for a correct answer, -1.0 for anything else (the original notes' scale). Range {-1, 1}.

    The same check as ``countdown_accuracy_reward``.

    >>> countdown_reward(["<answer>(6 - 2) * 5</answer>", "<answer>1/0</answer>"], nums=[[2, 5, 6]] * 2,
    ...                  target=[20] * 2)
    [1.0, -1.0]
    """
    accuracy = countdown_accuracy_reward(completions, nums=nums, target=target)
    return [None if value is None else 2.0 * value - 1.0 for value in accuracy]


def format_reward(completions: list, **kwargs) -> list[float]:
    """1.0 when the completion is ``<think>...</think>`` then a non-empty ``<answer>...</answer>``, else 0.0.

    Range {0, 1}. Whitespace around and between the two elements is allowed, nothing else; neither element may
    contain another think or answer tag.

    >>> format_reward(["<think>6 - 2 = 4</think>\\n<answer>(6 - 2) * 5</answer>", "<answer>20</answer>"])
    [1.0, 0.0]
    """
    layouts = (_THINK_ANSWER_LAYOUT.fullmatch(completion_text(completion)) for completion in completions)
    return [float(layout is not None) for layout in layouts]


# Keyed by function name: the name --reward-funcs takes is the one TRL logs as rewards/<name>/mean.
COUNTDOWN_REWARDS = {
    function.__name__: function for function in (countdown_reward, countdown_accuracy_reward, format_reward)
}


# --- Prompt and reference completion.


def build_countdown_prompt(row: dict, style: str) -> list[dict]:
    """A system turn and the puzzle, both plain strings (what text models' chat templates expect)."""
    nums = ", ".join(str(number) for number in row["nums"])
    question = USER_PROMPT.format(nums=f"[{nums}]", target=row["target"], layout=LAYOUT_INSTRUCTIONS[style])
    return [{"role": "system", "content": SYSTEM_PROMPTS[style]}, {"role": "user", "content": question}]


def countdown_sft_completion(row: dict, style: str) -> str:
    """The reference completion: the row's solution (or one found by search) with its arithmetic as reasoning."""
    solution = row.get("solution") or solve(row["nums"], row["target"])
    if solution is None:
        raise UserError(f"countdown: no expression over {list(row['nums'])} reaches {row['target']}")
    answer = f"<answer>{solution}</answer>"
    if style == "direct":
        return answer
    return "<think>\n" + "\n".join(evaluation_steps(solution)) + f"\n</think>\n{answer}"


# --- Datasets.


def load_countdown_dataset(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    subset_size: int | None = None,
    seed: int = 2025,
) -> datasets.Dataset:
    """Countdown rows ``{nums, target, solution}``.

    ``synthetic`` generates ``subset_size`` rows (default 2,000 train, 200 test) with ``seed``. Otherwise the
    rows come from ``path`` (a local copy; the file is the split) or the hub, and ``subset_size`` keeps a random
    subset of that many rows drawn with ``seed``.
    """
    split = split or "train"
    if name not in DATASET_NAMES:
        raise UserError(f"unknown countdown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if subset_size is not None and subset_size <= 0:
        raise UserError(f"countdown: subset size must be a positive number of rows, got {subset_size}")
    if name == "synthetic" and path is None:
        num_rows = subset_size or DEFAULT_SPLIT_SIZES.get(split, 0)
        return datasets.Dataset.from_list(generate_countdown_problems(num_rows, seed, split), features=ROW_FEATURES)
    if path is not None:
        raw, source = load_local_dataset(path, split, image_columns=()), str(path)
    else:
        raw, source = _load_hub_split(split), f"hub dataset {HUB_ID}"
    rows = _to_rows(raw, source)
    if subset_size is None or subset_size >= len(rows):
        if subset_size is not None:
            logger.info("countdown: %s has only %d rows; using all of them", source, len(rows))
        return rows
    chosen = np.random.default_rng(seed).choice(len(rows), subset_size, replace=False)
    return rows.select(sorted(chosen.tolist()))


def _load_hub_split(split: str) -> datasets.Dataset:
    if split not in ("train", "test"):
        raise UserError(f"{HUB_DATASET_NAME}: unknown split {split!r}; choose train or test")
    try:
        raw = datasets.load_dataset(HUB_ID, split="train")
    except (ConnectionError, FileNotFoundError, ValueError) as error:
        raise UserError(
            f"{HUB_DATASET_NAME}: cannot load {HUB_ID} ({type(error).__name__}: {error}); "
            "download it first or pass a local copy with --dataset-path"
        ) from None
    # The hub has one split; a fixed tail is held out so the test problems never move with the seed.
    boundary = len(raw) - HUB_TEST_ROWS
    return raw.select(range(boundary, len(raw)) if split == "test" else range(boundary))


def _to_rows(raw: datasets.Dataset, source: str) -> datasets.Dataset:
    missing = [column for column in ("nums", "target") if column not in raw.column_names]
    if missing:
        raise UserError(f"{source}: missing column(s) {', '.join(missing)}; expected nums and target")
    nums_column, target_column = raw["nums"], raw["target"]
    solutions = raw["solution"] if "solution" in raw.column_names else [None] * len(raw)
    rows = {"nums": [], "target": [], "solution": []}
    for index, (nums, target, solution) in enumerate(zip(nums_column, target_column, solutions, strict=True)):
        try:
            rows["nums"].append(_whole_numbers(nums))
            rows["target"].append(_whole_numbers([target])[0])
        except ValueError as error:
            raise UserError(f"{source}: row {index}: {error}") from None
        rows["solution"].append(solution if isinstance(solution, str) and solution.strip() else None)
    if not rows["nums"]:
        raise UserError(f"{source}: no rows")
    return datasets.Dataset.from_dict(rows, features=ROW_FEATURES)


def _whole_numbers(values: object) -> list[int]:
    if isinstance(values, str):
        # A big integer in a mixed column (load_local_dataset's datasets.Json) is read back as its JSON text.
        with contextlib.suppress(ValueError):
            values = json.loads(values)
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"expected a non-empty list of whole numbers, got {values!r:.80}")
    numbers = []
    for value in values:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # a CSV cell, or an integer beyond 64 bits that datasets.Json keeps as text
        # JSON writers turn 7 into 7.0; a true fraction or a word is an error, not something to round.
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise ValueError(f"expected whole numbers, got {value!r:.40}")
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"whole numbers must fit in 64 bits, got {value:.3g}")
        numbers.append(int(value))
    return numbers


TASK = Task(
    name="countdown",
    is_multimodal=False,
    reward_functions=COUNTDOWN_REWARDS,
    default_reward_names=("countdown_accuracy_reward",),
    correctness_reward="countdown_accuracy_reward",
    dataset_names=DATASET_NAMES,
    default_dataset="synthetic",
    load_dataset=load_countdown_dataset,
    prompt_styles=tuple(SYSTEM_PROMPTS),
    build_prompt=build_countdown_prompt,
    sft_completion=countdown_sft_completion,
    question_column="nums",
    answer_column="target",
    generated_rows=lambda dataset, split: most_problems() if dataset == "synthetic" else None,
)
