"""Synthetic chart questions with exact answers, drawn with matplotlib from seeded random data.

Each row is one chart (bar, grouped bar, horizontal bar, line or pie) with its values printed on it, one
question whose answer is computed from the data, the data table and a step-by-step reasoning (one step per
line). Values are kept as integers (tenths when the chart uses one decimal), so every sum and difference is
exact. Row ``i`` of a split depends only on (seed, split, i): a larger dataset extends a smaller one, and the
splits draw from disjoint seed streams.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import datasets
import numpy as np

from rlvr.errors import UserError
from rlvr.tasks.chart.chart_data import ChartData
from rlvr.tasks.chart.drawing import ChartRenderer
from rlvr.tasks.chart.schema import CHART_ROW_FEATURES

logger = logging.getLogger(__name__)

DATASET_NAME = "synthetic"
CHART_TYPES = ("bar", "grouped bar", "horizontal bar", "line", "pie")
QUESTION_TYPES = ("value", "max", "min", "difference", "sum", "count", "yes_no", "multiple_choice")
# The "synthetic-kind" family: charts drawn the same way, each asked what kind of chart it is. Five answers, so the
# tiny random model of `make demo`, after a short SFT warm start, is right on some samples (docs/data.md).
FAMILIES = {DATASET_NAME: QUESTION_TYPES, "synthetic-kind": ("kind",)}
SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_SPLIT_SIZES = {"train": 512, "validation": 128, "test": 128}
PARALLEL_MIN_ROWS = 64
MAX_WORKERS = 8

# (singular, plural, labels). Years are drawn separately, as a consecutive run.
CATEGORY_POOLS = (
    ("country", "countries", ("Japan", "Brazil", "Canada", "India", "Kenya", "France", "Mexico", "Spain", "Chile")),
    ("fruit", "fruits", ("Apple", "Banana", "Cherry", "Grape", "Mango", "Orange", "Pear", "Plum", "Lemon")),
    ("product", "products", ("Laptop", "Phone", "Tablet", "Camera", "Monitor", "Printer", "Router", "Speaker")),
    ("city", "cities", ("Paris", "Lima", "Oslo", "Cairo", "Dublin", "Seoul", "Quito", "Perth", "Rome")),
    ("team", "teams", ("Lions", "Tigers", "Eagles", "Sharks", "Wolves", "Bears", "Hawks", "Foxes")),
)
MEASURES = ("revenue", "score", "production", "profit", "price", "rainfall", "output", "income", "budget")
SERIES_POOLS = (("2020", "2021", "2022"), ("Online", "In store"), ("Q1", "Q2", "Q3"), ("Men", "Women"))
CATEGORY_COUNTS = {"bar": (3, 7), "grouped bar": (3, 5), "horizontal bar": (3, 7), "line": (4, 8), "pie": (3, 6)}


@dataclass(frozen=True)
class Question:
    question_type: str
    text: str
    answer: str
    steps: tuple[str, ...]


def generate_synthetic_charts(
    num_rows: int,
    seed: int,
    split: str = "train",
    workers: int | None = None,
    family: str = DATASET_NAME,
) -> datasets.Dataset:
    """``num_rows`` chart questions of ``family`` (a key of FAMILIES) in the chart row schema, identical for
    identical (seed, split, family).

    ``workers`` processes draw the charts (default: one per available CPU core, up to 8, for 64 rows or more
    where processes can be forked); the rows do not depend on it.
    """
    if num_rows <= 0:
        raise UserError(f"synthetic: the number of rows must be positive, got {num_rows}")
    if seed < 0:
        raise UserError(f"synthetic: the seed must be a non-negative integer, got {seed}")
    if split not in SPLIT_STREAMS:
        raise UserError(f"synthetic: unknown split {split!r}; choose one of {', '.join(SPLIT_STREAMS)}")
    if family not in FAMILIES:
        raise UserError(f"synthetic: unknown question family {family!r}; choose one of {', '.join(FAMILIES)}")
    if workers is not None and workers < 1:
        raise UserError(f"synthetic: workers must be at least 1, got {workers}")
    workers = workers or _default_workers(num_rows)
    if workers == 1:
        columns = _generate_rows(seed, split, 0, num_rows, family)
    else:
        columns = _generate_rows_in_processes(seed, split, num_rows, workers, family)
    return datasets.Dataset.from_dict(columns, features=CHART_ROW_FEATURES)


def _generate_rows(seed: int, split: str, start: int, stop: int, family: str = DATASET_NAME) -> dict[str, list]:
    """Columns of rows ``start`` to ``stop - 1``; each row has its own seed stream (seed, split, row)."""
    columns: dict[str, list] = {name: [] for name in CHART_ROW_FEATURES}
    renderer = ChartRenderer()
    for row_index in range(start, stop):
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], row_index])
        question_type, chart_type = row_design(row_index, FAMILIES[family])
        chart = random_chart(chart_type, rng)
        question = ask(question_type, chart, rng)
        steps = (*describe(chart), *question.steps, f"So the answer is {question.answer}.")
        columns["image"].append({"bytes": renderer.png(chart), "path": None})
        columns["query"].append(question.text)
        columns["label"].append(question.answer)
        columns["chart_type"].append(chart.chart_type)
        columns["table"].append(chart.table())
        columns["reasoning"].append("\n".join(steps))
        columns["question_type"].append(question.question_type)
        columns["dataset"].append(family)
    return columns


def _default_workers(num_rows: int) -> int:
    # Forked workers start at once; spawned ones would re-import the caller's whole program (torch included).
    # A daemonic process (a DataLoader worker) may not have children at all.
    can_fork = "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon
    if num_rows < PARALLEL_MIN_ROWS or not can_fork:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _generate_rows_in_processes(seed: int, split: str, num_rows: int, workers: int, family: str) -> dict[str, list]:
    bounds = np.linspace(0, num_rows, num=min(num_rows, workers * 4) + 1).astype(int).tolist()
    chunks = [(seed, split, start, stop, family) for start, stop in itertools.pairwise(bounds)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            parts = list(pool.map(_generate_rows, *zip(*chunks, strict=True)))
    except BrokenProcessPool:
        logger.warning("synthetic: worker processes failed to start; drawing the charts in this process")
        return _generate_rows(seed, split, 0, num_rows, family)
    return {name: [value for part in parts for value in part[name]] for name in CHART_ROW_FEATURES}


# --- Data -----------------------------------------------------------------------------------------------------


def row_design(row_index: int, question_types: tuple[str, ...] = QUESTION_TYPES) -> tuple[str, str]:
    """Question and chart type of a row: every ``5 * len(question_types)`` consecutive rows (40 for the default
    family) hold each pairing once, so any prefix of a split is balanced across both."""
    question_type = question_types[row_index % len(question_types)]
    return question_type, CHART_TYPES[row_index // len(question_types) % len(CHART_TYPES)]


def random_chart(chart_type: str, rng: np.random.Generator) -> ChartData:
    low, high = CATEGORY_COUNTS[chart_type]
    count = int(rng.integers(low, high + 1))
    if chart_type == "line" or (chart_type in ("bar", "horizontal bar") and rng.random() < 0.3):
        first_year = int(rng.integers(1990, 2016))
        singular, plural, categories = "year", "years", tuple(str(first_year + i) for i in range(count))
    else:
        singular, plural, pool = CATEGORY_POOLS[rng.integers(len(CATEGORY_POOLS))]
        categories = tuple(pool[i] for i in sorted(rng.choice(len(pool), size=count, replace=False)))
    series = SERIES_POOLS[rng.integers(len(SERIES_POOLS))] if chart_type == "grouped bar" else ("",)
    decimals = int(rng.random() < 0.3)
    top = int(rng.choice((20, 50, 100, 500) if decimals == 0 else (10, 20, 50)))
    # Distinct values within a series, so "highest" and "lowest" have one answer.
    bottom, top_units = max(1, top // 10) * 10**decimals, top * 10**decimals
    values = tuple(
        tuple(int(v) for v in rng.choice(np.arange(bottom, top_units + 1), size=count, replace=False)) for _ in series
    )
    measure = MEASURES[rng.integers(len(MEASURES))]
    title = f"{measure.capitalize()} by {singular}"
    return ChartData(chart_type, title, measure, singular, plural, categories, series, values, decimals)


# --- Questions ------------------------------------------------------------------------------------------------


def describe(chart: ChartData) -> tuple[str, ...]:
    return (f"The chart is a {chart.chart_type} chart titled '{chart.title}'.",)


def ask(question_type: str, chart: ChartData, rng: np.random.Generator) -> Question:
    series_index = int(rng.integers(len(chart.series)))
    values = chart.values[series_index]
    series_name = chart.series[series_index]
    scope = f" in the {series_name} series" if series_name else ""
    reading = ", ".join(f"{c} = {chart.show(v)}" for c, v in zip(chart.categories, values, strict=True))
    read_step = f"Reading the {chart.measure}{scope}: {reading}."
    text, answer, steps = QUESTION_WRITERS[question_type](chart, values, scope, rng)
    return Question(question_type, text, answer, (read_step, *steps))


Values = tuple[int, ...]
Written = tuple[str, str, tuple[str, ...]]  # question text, answer, computation steps
Writer = Callable[[ChartData, Values, str, np.random.Generator], Written]


def _two_categories(count: int, rng: np.random.Generator) -> tuple[int, int]:
    first, second = rng.choice(count, size=2, replace=False)
    return int(first), int(second)


def _pair_reading(chart: ChartData, values: Values, i: int, j: int) -> str:
    return f"{chart.categories[i]} is {chart.show(values[i])} and {chart.categories[j]} is {chart.show(values[j])}"


def _value_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    i = int(rng.integers(len(values)))
    answer = chart.show(values[i])
    text = f"What is the {chart.measure} of {chart.categories[i]}{scope}?"
    return text, answer, (f"The value for {chart.categories[i]} is {answer}.",)


def _extreme_question(highest: bool) -> Writer:
    def write(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
        i = int(np.argmax(values) if highest else np.argmin(values))
        word = "highest" if highest else "lowest"
        text = f"Which {chart.category_singular} has the {word} {chart.measure}{scope}?"
        return text, chart.categories[i], (f"The {word} value is {chart.show(values[i])}, for {chart.categories[i]}.",)

    return write


def _difference_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    i, j = _two_categories(len(values), rng)
    larger, smaller = max(values[i], values[j]), min(values[i], values[j])
    answer = chart.show(larger - smaller)
    text = f"What is the difference in {chart.measure} between {chart.categories[i]} and {chart.categories[j]}{scope}?"
    step = f"{_pair_reading(chart, values, i, j)}; {chart.show(larger)} - {chart.show(smaller)} = {answer}."
    return text, answer, (step,)


def _sum_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    answer = chart.show(sum(values))
    text = f"What is the total {chart.measure} of all {chart.category_plural}{scope}?"
    return text, answer, (" + ".join(chart.show(v) for v in values) + f" = {answer}.",)


def _count_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    # The threshold is one of the values below the top, so at least one category is counted.
    threshold = int(rng.choice(sorted(values)[:-1]))
    above = [(c, v) for c, v in zip(chart.categories, values, strict=True) if v > threshold]
    text = f"How many {chart.category_plural} have {chart.measure} greater than {chart.show(threshold)}{scope}?"
    listed = ", ".join(f"{c} ({chart.show(v)})" for c, v in above)
    return text, str(len(above)), (f"Greater than {chart.show(threshold)}: {listed}; that is {len(above)}.",)


def _yes_no_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    i, j = _two_categories(len(values), rng)
    answer = "Yes" if values[i] > values[j] else "No"
    relation = ">" if values[i] > values[j] else "<"
    text = f"Is the {chart.measure} of {chart.categories[i]} greater than that of {chart.categories[j]}{scope}?"
    step = f"{_pair_reading(chart, values, i, j)}; {chart.show(values[i])} {relation} {chart.show(values[j])}."
    return text, answer, (step,)


def _multiple_choice_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    options = sorted(int(i) for i in rng.choice(len(values), size=3, replace=False))
    highest = bool(rng.random() < 0.5)
    pick = max(options, key=lambda i: values[i]) if highest else min(options, key=lambda i: values[i])
    word = "highest" if highest else "lowest"
    names = [chart.categories[i] for i in options]
    text = f"Which of {names[0]}, {names[1]} or {names[2]} has the {word} {chart.measure}{scope}?"
    step = f"Among these, the {word} is {chart.categories[pick]} with {chart.show(values[pick])}."
    return text, chart.categories[pick], (step,)


def _kind_question(chart: ChartData, values: Values, scope: str, rng: np.random.Generator) -> Written:
    return "What kind of chart is this?", chart.chart_type, (f"It is a {chart.chart_type} chart.",)


QUESTION_WRITERS: dict[str, Writer] = {
    "value": _value_question,
    "max": _extreme_question(highest=True),
    "min": _extreme_question(highest=False),
    "difference": _difference_question,
    "sum": _sum_question,
    "count": _count_question,
    "yes_no": _yes_no_question,
    "multiple_choice": _multiple_choice_question,
    "kind": _kind_question,
}
