"""A dataset's values are read row by row as the file holds them: a column that mixes kinds of value is not turned
into text as a whole, so a bad value is named by its own row; a list or object as a math cell is refused naming the
row; a chart label given as ``["5"]`` in one row and ``5`` in another is the label ``5`` in both; an integer beyond
64 bits is refused in one line."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from rlvr.errors import UserError
from rlvr.tasks.chart.datasets import load_chart_dataset
from rlvr.tasks.countdown.task import load_countdown_dataset
from rlvr.tasks.math.task import load_math_dataset


def jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_bad_value_in_row_2_is_named_as_row_2_not_row_0(tmp_path):
    rows = [{"nums": [1, 2, 3], "target": 6}, {"nums": [1, 2, 3], "target": 6}, {"nums": [1, 2, 3], "target": "six"}]
    with pytest.raises(UserError, match=r"rows\.jsonl: row 2: expected whole numbers, got 'six'"):
        load_countdown_dataset("countdown-tasks-3to4", path=jsonl(tmp_path / "rows.jsonl", rows))


@pytest.mark.parametrize(("answer", "kind"), [([6], "a list"), ({"value": 6}, "an object")])
def test_a_list_or_object_as_a_math_answer_is_refused_naming_the_row(answer, kind, tmp_path):
    rows = [{"problem": "1+1", "answer": 2}, {"problem": "2+2", "answer": 4}, {"problem": "3+3", "answer": answer}]
    with pytest.raises(UserError, match=rf"row 2: column 'answer' holds {kind} "):
        load_math_dataset("math", path=jsonl(tmp_path / "rows.jsonl", rows))


def test_a_chart_label_as_a_one_item_list_or_a_number_is_the_same_label(tmp_path):
    Image.new("RGB", (28, 28), "red").save(tmp_path / "c.png")
    labels = [["5"], 5, "five", [7.5]]
    rows = [{"image": "c.png", "query": "q", "label": label} for label in labels]
    assert list(load_chart_dataset("chartqa", path=jsonl(tmp_path / "rows.jsonl", rows))["label"]) == [
        "5", "5", "five", "7.5"
    ]  # fmt: skip


def test_an_integer_beyond_64_bits_is_refused_in_one_line(tmp_path):
    rows = [{"nums": [1, 2, 3], "target": 6}, {"nums": [1, 2, 3], "target": 2**70}]
    with pytest.raises(UserError, match=r"row 1: whole numbers must fit in 64 bits, got 1.18e\+21"):
        load_countdown_dataset("countdown-tasks-3to4", path=jsonl(tmp_path / "rows.jsonl", rows))
