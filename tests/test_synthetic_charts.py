"""rlvr.tasks.chart.synthetic: exact answers (recomputed here from each row's own table), determinism, splits."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import datasets
import pytest
from PIL import Image as PILImage

from rlvr.errors import UserError
from rlvr.tasks.chart.drawing import IMAGE_PIXELS
from rlvr.tasks.chart.schema import CHART_ROW_FEATURES
from rlvr.tasks.chart.synthetic import CHART_TYPES, QUESTION_TYPES, generate_synthetic_charts

SERIES = r"(?: in the (?P<series>.+) series)?\?$"
# The question wordings, parsed independently of the generator's code.
QUESTION_PATTERNS = {
    "value": rf"^What is the \w+ of (?P<a>.+?){SERIES}",
    "max": rf"^Which \w+ has the highest \w+{SERIES}",
    "min": rf"^Which \w+ has the lowest \w+{SERIES}",
    "difference": rf"^What is the difference in \w+ between (?P<a>.+?) and (?P<b>.+?){SERIES}",
    "sum": rf"^What is the total \w+ of all \w+{SERIES}",
    "count": rf"^How many \w+ have \w+ greater than (?P<threshold>[\d.]+){SERIES}",
    "yes_no": rf"^Is the \w+ of (?P<a>.+?) greater than that of (?P<b>.+?){SERIES}",
    "multiple_choice": rf"^Which of (?P<a>.+?), (?P<b>.+?) or (?P<c>.+?) has the (?P<word>highest|lowest) \w+{SERIES}",
}
NUMBER = re.compile(r"^\d+(\.\d)?$")


def solve(question_type: str, query: str, table: dict) -> str:
    """The answer, from the question text and the table alone."""
    match = re.match(QUESTION_PATTERNS[question_type], query)
    assert match, f"{question_type}: unexpected wording {query!r}"
    column = table["columns"].index(match["series"]) if match["series"] else 1
    values = {row[0]: Decimal(row[column]) for row in table["rows"]}

    def value(name: str) -> Decimal:
        return values[name]

    if question_type == "value":
        return str(value(match["a"]))
    if question_type in ("max", "min"):
        pick = max if question_type == "max" else min
        best = pick(values, key=values.get)
        assert sorted(values.values()).count(values[best]) == 1, "the extreme must be unique"
        return best
    if question_type == "difference":
        return str(abs(value(match["a"]) - value(match["b"])))
    if question_type == "sum":
        return str(sum(values.values()))
    if question_type == "count":
        return str(sum(1 for v in values.values() if v > Decimal(match["threshold"])))
    if question_type == "yes_no":
        return "Yes" if value(match["a"]) > value(match["b"]) else "No"
    options = [match["a"], match["b"], match["c"]]
    pick = max if match["word"] == "highest" else min
    return pick(options, key=value)


@pytest.fixture(scope="module")
def charts() -> datasets.Dataset:
    started = time.perf_counter()
    dataset = generate_synthetic_charts(80, seed=11, split="train")
    elapsed = time.perf_counter() - started
    print(f"\nsynthetic charts: 80 rows in {elapsed:.1f} s ({80 / elapsed:.0f} rows/s)")
    return dataset


def test_every_answer_matches_its_own_table(charts):
    seen = set()
    for row in charts:
        table = row["table"]
        assert all(isinstance(cell, str) for line in table["rows"] for cell in line)
        expected = solve(row["question_type"], row["query"], table)
        if NUMBER.match(row["label"]):
            assert Decimal(row["label"]) == Decimal(expected), row["query"]
        else:
            assert row["label"] == expected, row["query"]
        seen.add((row["question_type"], row["chart_type"]))
    assert seen == {(question_type, chart_type) for question_type in QUESTION_TYPES for chart_type in CHART_TYPES}


def test_rows_follow_the_schema(charts):
    assert set(charts["chart_type"]) == set(CHART_TYPES)
    for row in charts:
        assert list(row) == list(CHART_ROW_FEATURES)
        image = row["image"]
        assert isinstance(image, PILImage.Image) and image.mode == "RGB" and image.size == (IMAGE_PIXELS, IMAGE_PIXELS)
        assert row["dataset"] == "synthetic"
        assert (
            NUMBER.match(row["label"])
            or row["label"] in ("Yes", "No")
            or any(row["label"] == line[0] for line in row["table"]["rows"])
        )
        steps = row["reasoning"].split("\n")
        assert len(steps) >= 3 and steps[-1] == f"So the answer is {row['label']}."
        assert row["chart_type"] in steps[0]
        series_count = len(row["table"]["columns"]) - 1
        assert (series_count > 1) == (row["chart_type"] == "grouped bar")


def stored(dataset: datasets.Dataset) -> list[dict]:
    """Rows with the encoded picture bytes instead of decoded pictures."""
    return dataset.cast_column("image", datasets.Image(decode=False)).to_list()


def test_same_seed_gives_identical_rows_and_picture_bytes():
    first, second = generate_synthetic_charts(8, seed=5), generate_synthetic_charts(8, seed=5)
    assert stored(first) == stored(second)
    assert stored(generate_synthetic_charts(8, seed=6)) != stored(first)


def test_a_smaller_dataset_is_a_prefix_of_a_larger_one():
    assert (
        stored(generate_synthetic_charts(5, seed=2, split="test"))
        == stored(generate_synthetic_charts(9, seed=2, split="test"))[:5]
    )


def test_train_and_test_splits_share_nothing():
    train, test = (
        stored(generate_synthetic_charts(24, seed=1)),
        stored(generate_synthetic_charts(24, seed=1, split="test")),
    )
    assert not {row["image"]["bytes"] for row in train} & {row["image"]["bytes"] for row in test}
    assert not {(row["query"], str(row["table"])) for row in train} & {
        (row["query"], str(row["table"])) for row in test
    }


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"num_rows": 0, "seed": 1}, r"synthetic: the number of rows must be positive, got 0"),
        ({"num_rows": 2, "seed": -3}, r"synthetic: the seed must be a non-negative integer, got -3"),
        (
            {"num_rows": 2, "seed": 1, "split": "dev"},
            r"synthetic: unknown split 'dev'; choose one of train, validation",
        ),
        ({"num_rows": 2, "seed": 1, "workers": 0}, r"synthetic: workers must be at least 1, got 0"),
        ({"num_rows": 2, "seed": 1, "family": "hard"}, r"synthetic: unknown question family 'hard'; choose one of"),
    ],
)
def test_bad_arguments(arguments, message):
    with pytest.raises(UserError, match=message):
        generate_synthetic_charts(**arguments)


def test_rows_do_not_depend_on_the_number_of_worker_processes():
    one = generate_synthetic_charts(10, seed=4, split="validation", workers=1)
    two = generate_synthetic_charts(10, seed=4, split="validation", workers=2)
    assert stored(one) == stored(two)


def test_the_kind_family_asks_what_kind_of_chart_it_is():
    """The "synthetic-kind" family (make demo's): five answers, each the row's chart type, balanced over 5 rows."""
    kinds = stored(generate_synthetic_charts(10, seed=3, split="test", family="synthetic-kind"))
    assert kinds == stored(generate_synthetic_charts(10, seed=3, split="test", family="synthetic-kind"))
    for index, row in enumerate(kinds):
        assert row["query"] == "What kind of chart is this?" and row["dataset"] == "synthetic-kind"
        assert row["label"] == row["chart_type"] == CHART_TYPES[index % len(CHART_TYPES)]
