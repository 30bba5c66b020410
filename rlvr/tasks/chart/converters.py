"""Converters for chart dataset adapters: one raw cell -> one schema value.

Each raises ValueError with the reason; the caller (rlvr.tasks.chart.datasets) names the dataset, file, row and
column.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise ValueError(f"expected text, got a {type(value).__name__}")
    return str(value).strip()


def first_text(value: Any) -> str | None:
    """Text of a cell that may be a list of alternatives (ChartQA labels, ChartQAPro answers): the first one."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("the list is empty")
        value = value[0]
    return to_text(value)


def answer_text(value: Any) -> str | None:
    # The accuracy rule strips one trailing "." from the model's answer, so a label keeping it could never match.
    text = first_text(value)
    return text[:-1].rstrip() if text and text.endswith(".") else text


def yes_no(value: Any) -> str:
    text = answer_text(int(value) if isinstance(value, bool) else value)
    normalised = (text or "").lower()
    if normalised in ("yes", "true", "1"):
        return "Yes"
    if normalised in ("no", "false", "0"):
        return "No"
    raise ValueError(f"expected yes or no, got {text!r}")


def human_or_machine(value: Any) -> str:
    names = {"0": "human", "1": "machine"}
    text = to_text(value)
    if text not in names:
        raise ValueError(f"expected 0 (human) or 1 (machine), got {value!r}")
    return names[text]


def yes_no_claim(value: Any) -> str | None:
    """ChartFC states a claim; the original tool asked for a verdict by appending ". Answer yes/no."."""
    text = to_text(value)
    return None if not text else text.rstrip(" .") + ". Answer yes/no."


def binary_hint_query(value: Any) -> str | None:
    """ChartBench mixes yes/no and numeric questions; the original tool told the model how to answer the former."""
    text = first_text(value)
    return None if not text else text + " For binary questions, answer in yes/no."


def chart_type_text(value: Any) -> str | None:
    # ChartBench keeps {"chart": "bar", "image": ..., "QA": ...} in its "type" column.
    if isinstance(value, dict):
        value = value.get("chart")
    return to_text(value)


def table_value(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"the table is not valid JSON ({error.msg})") from None
    if not isinstance(value, dict) or not {"columns", "rows"} <= value.keys():
        raise ValueError('expected a table {"columns": [...], "rows": [[...], ...]}')
    rows = value["rows"] or []
    if not all(isinstance(row, (list, tuple)) for row in rows):
        raise ValueError("table rows must be lists of cells")
    return {
        "columns": [_cell_text(cell) for cell in value["columns"] or []],
        "rows": [[_cell_text(cell) for cell in row] for row in rows],
    }


def _cell_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


DEFAULT_CONVERTERS: Mapping[str, Callable[[Any], Any]] = {
    "query": first_text,
    "label": answer_text,
    "chart_type": chart_type_text,
    "table": table_value,
    "reasoning": to_text,
    "question_type": to_text,
}
