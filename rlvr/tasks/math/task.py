"""The math task: competition problems whose answer goes in ``\\boxed{}``, checked symbolically with math-verify.

Rows: ``problem``, ``answer`` (LaTeX, without ``\\boxed``), ``solution`` (or None), ``question_type`` (subject and
level where the source has them) and ``dataset``. Datasets, from the hub or a local copy in the same columns
(``--dataset-path``: json, jsonl, parquet or a save_to_disk folder; the file is the split):

========== ======================================= ======================================================
name       hub id (splits)                         columns read
========== ======================================= ======================================================
synthetic  none: generated here (train, test)      seeded arithmetic, fraction, equation and word problems
math       DigitalLearningGmbH/MATH-lighteval      problem, solution, type, level; the answer is the last
           (train 7,500, test 5,000)               ``\\boxed{}`` of the solution
math500    HuggingFaceH4/MATH-500 (test)           problem, answer, solution, subject, level
aime25     math-ai/aime25 (test) [assumed]         problem, answer
amc23      math-ai/amc23 (test) [assumed]          question, answer (numbers become text: 27.0 -> "27")
========== ======================================= ======================================================

Column names are looked up loosely (problem or question, subject or type, any capitalisation), so other copies
of these benchmarks load too. A row without a problem or an answer cannot be scored: it is dropped with a
warning.
"""

from __future__ import annotations

import logging
import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import datasets
import numpy as np

from rlvr.data.local import load_local_dataset
from rlvr.errors import UserError
from rlvr.tasks.base import Task
from rlvr.tasks.completions import completion_text
from rlvr.tasks.math.answers import answers_match, last_boxed
from rlvr.tasks.math.rows import ROW_FEATURES, math_rows, user_math_rows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubSource:
    hub_id: str
    split_names: dict[str, str]  # our split -> the hub's
    config: str | None = None


HUB_SOURCES = {
    "math": HubSource("DigitalLearningGmbH/MATH-lighteval", {"train": "train", "test": "test"}, "default"),
    "math500": HubSource("HuggingFaceH4/MATH-500", {"test": "test"}),
    "aime25": HubSource("math-ai/aime25", {"test": "test"}),
    "amc23": HubSource("math-ai/amc23", {"test": "test"}),
}
DATASET_NAMES = ("synthetic", *HUB_SOURCES)

# The paper's layout (the official code's rl_dataset.py): Qwen's default system turn, then the problem and the
# Qwen2.5-Math chain-of-thought instruction in the user turn.
BOXED_SYSTEM_PROMPT = "You are a helpful assistant."
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
THINK_SYSTEM_PROMPT = (
    "Solve the math problem. First reason step by step inside <think> </think>, then give the final answer "
    "inside <answer> </answer> as \\boxed{ANSWER}, for example <answer>\\boxed{\\frac{1}{2}}</answer>."
)
SYSTEM_PROMPTS = {"boxed": BOXED_SYSTEM_PROMPT, "think": THINK_SYSTEM_PROMPT}

_TAG_FREE = r"(?:(?!</?(?:think|answer)>).)"
_THINK_BOXED_LAYOUT = re.compile(
    rf"\s*<think>{_TAG_FREE}*</think>\s*<answer>{_TAG_FREE}*\\boxed\{{{_TAG_FREE}*</answer>\s*", re.DOTALL
)


# --- Rewards: TRL's signature, one value per completion, None where the row has no answer.


def math_accuracy_reward(completions: list, answer: list | None = None, **kwargs) -> list[float | None]:
    """1.0 when the last ``\\boxed{}`` of the completion equals ``answer`` by math-verify, else 0.0. Range {0, 1}.

    No box, an unclosed box, an answer over 1,000 characters or one math-verify cannot settle within its time
    limit all give 0.0.

    >>> math_accuracy_reward([r"so $\\boxed{0.5}$", r"$\\boxed{\\frac{1}{3}}$", "1/2"], answer=[r"\\frac{1}{2}"] * 3)
    [1.0, 0.0, 0.0]
    """
    if answer is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    for completion, expected in zip(completions, answer, strict=False):
        if expected is None or not str(expected).strip():
            rewards.append(None)
            continue
        predicted = last_boxed(completion_text(completion))
        rewards.append(float(predicted is not None and answers_match(str(expected), predicted)))
    return rewards


def format_reward(completions: list, **kwargs) -> list[float]:
    """1.0 when the completion is ``<think>...</think>`` then ``<answer>`` holding a ``\\boxed{``, else 0.0.

    Range {0, 1}. The layout the "think" prompt style asks for; whitespace around and between the two elements is
    allowed, nothing else.

    >>> format_reward([r"<think>1 + 1 = 2</think> <answer>\\boxed{2}</answer>", r"<answer>\\boxed{2}</answer>"])
    [1.0, 0.0]
    """
    layouts = (_THINK_BOXED_LAYOUT.fullmatch(completion_text(completion)) for completion in completions)
    return [float(layout is not None) for layout in layouts]


MATH_REWARDS = {function.__name__: function for function in (math_accuracy_reward, format_reward)}


def _check_math_verify(reward_names: Sequence[str]) -> None:
    if "math_accuracy_reward" in reward_names:
        try:
            import math_verify  # noqa: F401
        except ImportError:
            raise UserError("math_accuracy_reward needs the math-verify package (pip install math-verify)") from None


# --- Prompt and reference completion.


def build_math_prompt(row: dict, style: str) -> list[dict]:
    """A system turn, then the problem (followed, in the paper's boxed style, by the instruction); plain strings."""
    problem = f"{row['problem']}\n{BOXED_INSTRUCTION}" if style == "boxed" else row["problem"]
    return [{"role": "system", "content": SYSTEM_PROMPTS[style]}, {"role": "user", "content": problem}]


def math_sft_completion(row: dict, style: str) -> str:
    """The dataset's solution (it ends in a boxed answer), or a one-line boxed answer where there is none."""
    solution = row.get("solution") or ""
    boxed_answer = f"\\boxed{{{row['answer']}}}"
    if style == "think":
        reasoning = solution.strip() or f"The answer is {row['answer']}."
        return f"<think>\n{reasoning}\n</think>\n<answer>{boxed_answer}</answer>"
    if last_boxed(solution) is not None:
        return solution
    return f"The answer is ${boxed_answer}$."


# --- Datasets.


def load_math_dataset(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    subset_size: int | None = None,
    seed: int = 2025,
) -> datasets.Dataset:
    """Rows ``{problem, answer, solution, question_type, dataset}`` of dataset ``name``.

    ``synthetic`` generates ``subset_size`` rows (default 1,000 train, 200 test) with ``seed``; for the others
    ``subset_size`` keeps a random subset of that many rows drawn with ``seed``.
    """
    split = split or "train"
    if name not in DATASET_NAMES:
        raise UserError(f"unknown math dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if subset_size is not None and subset_size <= 0:
        raise UserError(f"{name}: subset size must be a positive number of rows, got {subset_size}")
    if name == "synthetic" and path is None:
        num_rows = subset_size or SYNTHETIC_SPLIT_SIZES.get(split, 0)
        return datasets.Dataset.from_list(generate_math_problems(num_rows, seed, split), features=ROW_FEATURES)
    if path is not None:
        raw, source = load_local_dataset(path, split, image_columns=()), str(path)
    else:
        raw, source = _load_from_hub(name, split)
    rows = math_rows(raw, name, source)
    if subset_size is None or subset_size >= len(rows):
        return rows
    chosen = np.random.default_rng(seed).choice(len(rows), subset_size, replace=False)
    return rows.select(sorted(chosen.tolist()))


def _load_from_hub(name: str, split: str) -> tuple[datasets.Dataset, str]:
    hub = HUB_SOURCES[name]
    if split not in hub.split_names:
        raise UserError(f"{name}: no split {split!r}; it has {', '.join(hub.split_names)} (try --split test)")
    hub_split = hub.split_names[split]
    try:
        raw = datasets.load_dataset(hub.hub_id, hub.config, split=hub_split)
    except (ConnectionError, FileNotFoundError, ValueError) as error:
        raise UserError(
            f"{name}: cannot load {hub.hub_id} ({type(error).__name__}: {error}); "
            "download it first or pass a local copy with --dataset-path"
        ) from None
    return raw, f"hub dataset {hub.hub_id} (split {hub_split})"


# --- The synthetic set: seeded problems with exact answers, so `--task math` runs with no download.

SYNTHETIC_SPLIT_SIZES = {"train": 1000, "test": 200}
SYNTHETIC_TEST_SHARE = 5  # one problem in five belongs to the test split
# Asking for more than a split holds must end, not loop forever.
SYNTHETIC_ATTEMPTS_PER_ROW = 100
# At most this many distinct problems, both splits: the makers' choices below counted (order of operations: 19**3
# numbers x 3 forms; fraction sums: 36**2; linear equations: 21 x 8 x 40; word problems: 5 items x (total - 1)).
_WORD_TOTALS = sum(boxes * per_box - 1 for boxes in range(2, 13) for per_box in range(2, 13))
SYNTHETIC_MOST_PROBLEMS = 19**3 * 3 + 36**2 + 21 * 8 * 40 + 5 * _WORD_TOTALS
SyntheticProblem = tuple[str, str, str, str]  # problem, answer, solution, question type


def _latex_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _order_of_operations(rng: random.Random) -> SyntheticProblem:
    a, b, c = (rng.randint(2, 20) for _ in range(3))
    expression, value = rng.choice(
        [
            (f"{a} + {b} \\times {c}", a + b * c),
            (f"({a} + {b}) \\times {c}", (a + b) * c),
            (f"{a} \\times {b} - {c}", a * b - c),
        ]
    )
    solution = f"By the order of operations, ${expression} = \\boxed{{{value}}}$."
    return f"Compute ${expression}$.", str(value), solution, "arithmetic"


def _fraction_sum(rng: random.Random) -> SyntheticProblem:
    b, d = rng.randint(2, 9), rng.randint(2, 9)
    first, second = Fraction(rng.randint(1, b - 1), b), Fraction(rng.randint(1, d - 1), d)
    total = _latex_number(first + second)
    shown = f"{_latex_number(first)} + {_latex_number(second)}"
    problem = f"What is ${shown}$? Express your answer in simplest form."
    return problem, total, f"Over a common denominator, ${shown} = \\boxed{{{total}}}$.", "fractions"


def _linear_equation(rng: random.Random) -> SyntheticProblem:
    x, a, b = rng.randint(-10, 10), rng.randint(2, 9), rng.choice([n for n in range(-20, 21) if n != 0])
    c = a * x + b
    left = f"{a}x {'+' if b > 0 else '-'} {abs(b)}"
    moved = f"{c} {'-' if b > 0 else '+'} {abs(b)}"
    solution = f"Then ${a}x = {moved} = {c - b}$, so $x = \\boxed{{{x}}}$."
    return f"Solve for $x$: ${left} = {c}$.", str(x), solution, "linear equation"


def _word_problem(rng: random.Random) -> SyntheticProblem:
    item = rng.choice(["muffins", "pencils", "stickers", "apples", "marbles"])
    boxes, per_box = rng.randint(2, 12), rng.randint(2, 12)
    total = boxes * per_box
    given_away = rng.randint(1, total - 1)
    problem = (
        f"Sam has {boxes} boxes with {per_box} {item} in each and gives away {given_away} {item}. "
        f"How many {item} does Sam have left?"
    )
    solution = (
        f"Sam starts with ${boxes} \\times {per_box} = {total}$ {item}, "
        f"so ${total} - {given_away} = \\boxed{{{total - given_away}}}$."
    )
    return problem, str(total - given_away), solution, "word problem"


SYNTHETIC_MAKERS: tuple[Callable[[random.Random], SyntheticProblem], ...] = (
    _order_of_operations,
    _fraction_sum,
    _linear_equation,
    _word_problem,
)


def synthetic_split_of(problem: str) -> str:
    """The split a problem belongs to: fixed by its text, so train and test never share one, whatever the seed."""
    return "test" if zlib.crc32(problem.encode()) % SYNTHETIC_TEST_SHARE == 0 else "train"


def generate_math_problems(num_rows: int, seed: int, split: str) -> list[dict]:
    """``num_rows`` distinct problems of ``split`` in the row schema, each with its exact boxed answer."""
    if split not in SYNTHETIC_SPLIT_SIZES:
        raise UserError(f"synthetic: unknown split {split!r}; choose one of {', '.join(SYNTHETIC_SPLIT_SIZES)}")
    rng = random.Random(f"math-{split}-{seed}")
    rows: list[dict] = []
    seen: set[str] = set()
    for _ in range(SYNTHETIC_ATTEMPTS_PER_ROW * num_rows):
        if len(rows) == num_rows:
            return rows
        problem, answer, solution, kind = rng.choice(SYNTHETIC_MAKERS)(rng)
        if problem in seen or synthetic_split_of(problem) != split:
            continue
        seen.add(problem)
        rows.append(
            {"problem": problem, "answer": answer, "solution": solution, "question_type": kind, "dataset": "synthetic"}
        )
    if len(rows) < num_rows:
        raise UserError(f"synthetic: found only {len(rows)} distinct {split} problems; ask for fewer rows")
    return rows


TASK = Task(
    name="math",
    is_multimodal=False,
    reward_functions=MATH_REWARDS,
    default_reward_names=("math_accuracy_reward",),
    correctness_reward="math_accuracy_reward",
    dataset_names=DATASET_NAMES,
    default_dataset="synthetic",
    load_dataset=load_math_dataset,
    from_columns=user_math_rows,
    prompt_styles=tuple(SYSTEM_PROMPTS),
    build_prompt=build_math_prompt,
    sft_completion=math_sft_completion,
    question_column="problem",
    answer_column="answer",
    startup_check=_check_math_verify,
    generated_rows=lambda dataset, split: SYNTHETIC_MOST_PROBLEMS if dataset == "synthetic" else None,
)
