"""The chart datasets we know: for each, where it lives and how its raw columns become schema fields.

Loading and conversion are in rlvr.tasks.chart.datasets; adding a dataset means adding one spec here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import datasets

from rlvr.errors import UserError
from rlvr.tasks.chart.converters import binary_hint_query, human_or_machine, yes_no, yes_no_claim
from rlvr.tasks.chart.synthetic import DEFAULT_SPLIT_SIZES, generate_synthetic_charts

# Schema fields filled from raw columns; "dataset" is the adapter name and "image" is handled apart.
CONVERTED_FIELDS = ("query", "label", "chart_type", "table", "reasoning", "question_type")
# Fields a row cannot be scored without: an empty one is an error, not a silent None.
NON_EMPTY_FIELDS = ("query", "label")


@dataclass(frozen=True)
class FieldSource:
    """Where one schema field comes from: the first of ``columns`` that the data has, through ``convert``."""

    columns: tuple[str, ...]
    required: bool = True
    convert: Callable[[Any], Any] | None = None  # None: the field's entry in DEFAULT_CONVERTERS


@dataclass(frozen=True)
class ChartDatasetSpec:
    """One named dataset: where it lives and how its raw columns become schema fields."""

    name: str
    hub_id: str | None
    default_split: str
    fields: Mapping[str, FieldSource]
    description: str
    image_columns: tuple[str, ...] = ("image",)
    # Sub-folders of the data file's folder where relative image paths are also looked up.
    image_search_dirs: tuple[str, ...] = ()
    # A column holding several questions about one picture; each item (a dict) becomes one row.
    question_list_column: str | None = None
    hub_config: str | None = None
    hub_split_names: Mapping[str, str] = field(default_factory=dict)
    # Hub datasets with a single split: our splits are fixed slices of a fixed permutation of its pictures.
    carved_splits: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    carved_from: str = "train"
    aliases: tuple[str, ...] = ()
    # Generated data (the synthetic charts): (num_rows or None for the default size, seed, split) -> rows.
    generate: Callable[[int | None, int, str], datasets.Dataset] | None = None


def _generate_synthetic(num_rows: int | None, seed: int, split: str, family: str = "synthetic") -> datasets.Dataset:

    if split not in DEFAULT_SPLIT_SIZES:
        raise UserError(f"synthetic: unknown split {split!r}; choose one of {', '.join(DEFAULT_SPLIT_SIZES)}")
    return generate_synthetic_charts(num_rows or DEFAULT_SPLIT_SIZES[split], seed=seed, split=split, family=family)


QUERY = FieldSource(("query",))
LABEL = FieldSource(("label",))
SYNTHETIC_FIELDS = {
    "query": QUERY,
    "label": LABEL,
    **{name: FieldSource((name,), required=False) for name in CONVERTED_FIELDS[2:]},
}
FIGQA_CARVE = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}

CHART_DATASETS: dict[str, ChartDatasetSpec] = {
    spec.name: spec
    for spec in (
        ChartDatasetSpec(
            name="chart-rvr",
            aliases=("train",),
            hub_id="sanchit97/chart-rvr-grpo-train",
            default_split="train",
            description="training set with chart type, data table and reasoning for the shaping rewards",
            fields={
                "query": QUERY,
                "label": LABEL,
                "chart_type": FieldSource(("chart_type",)),
                "table": FieldSource(("table",)),
                "reasoning": FieldSource(("reasoning",)),
            },
        ),
        ChartDatasetSpec(
            name="chartqa",
            hub_id="HuggingFaceM4/ChartQA",
            default_split="test",
            description="ChartQA; label lists give their first item; human_or_machine becomes question_type",
            fields={
                "query": QUERY,
                "label": LABEL,
                "question_type": FieldSource(("human_or_machine",), required=False, convert=human_or_machine),
            },
        ),
        ChartDatasetSpec(
            name="evochart",
            hub_id="MuyeHuang/EvoChart-QA-Benchmark",
            default_split="test",
            description="EvoChart-QA; the released EvoChart-QA.json names pictures by imgname under png/",
            fields={"query": QUERY, "label": LABEL},
            image_columns=("image", "imgname"),
            image_search_dirs=("png",),
        ),
        ChartDatasetSpec(
            name="chartqapro",
            hub_id="ahmed-masry/ChartQAPro",
            default_split="test",
            description="ChartQAPro; pictures as bytes, Answer is a list (first item), Question Type kept",
            fields={
                "query": FieldSource(("Question",)),
                "label": FieldSource(("Answer",)),
                "question_type": FieldSource(("Question Type",), required=False),
            },
        ),
        ChartDatasetSpec(
            name="chartbench",
            hub_id="SincereX/ChartBench",
            hub_config="chart_bench",
            hub_split_names={"train": "train_data", "test": "test_data"},
            default_split="test",
            description="ChartBench test.jsonl; each conversation turn is a row, type.chart is the chart type",
            question_list_column="conversation",
            fields={
                "query": FieldSource(("query", "question"), convert=binary_hint_query),
                "label": FieldSource(("label", "answer")),
                "chart_type": FieldSource(("type",), required=False),
            },
        ),
        ChartDatasetSpec(
            name="plotqa",
            hub_id=None,
            default_split="test",
            description="PlotQA question files with an image path per question",
            fields={
                "query": FieldSource(("question_string",)),
                "label": FieldSource(("answer",)),
                "question_type": FieldSource(("type",), required=False),
            },
        ),
        ChartDatasetSpec(
            name="chartfc",
            hub_id=None,
            default_split="test",
            description="ChartFC claims; the query asks for yes/no, the label is Yes or No",
            fields={
                "query": FieldSource(("question",), convert=yes_no_claim),
                "label": FieldSource(("label", "answer"), convert=yes_no),
            },
            image_columns=("image", "image_filename"),
        ),
        ChartDatasetSpec(
            name="figqa",
            hub_id="vikhyatk/figureqa",
            default_split="test",
            description="FigureQA; one picture holds a qa list of yes/no questions, each becomes a row",
            question_list_column="qa",
            fields={"query": FieldSource(("question",)), "label": FieldSource(("answer",), convert=yes_no)},
            carved_splits=FIGQA_CARVE,
        ),
        ChartDatasetSpec(
            name="synthetic",
            hub_id=None,
            default_split="train",
            description="charts drawn here from seeded random data, with exact answers (see synthetic.py)",
            fields=SYNTHETIC_FIELDS,
            generate=_generate_synthetic,
        ),
        ChartDatasetSpec(
            name="synthetic-kind",
            hub_id=None,
            default_split="train",
            description="the synthetic charts, each asked what kind of chart it is (five answers; make demo)",
            fields=SYNTHETIC_FIELDS,
            generate=functools.partial(_generate_synthetic, family="synthetic-kind"),
        ),
    )
}
