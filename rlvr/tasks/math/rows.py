"""The math task's rows from a dataset's columns: ``problem``, ``answer`` (LaTeX, without ``\\boxed``), ``solution``
(or None), ``question_type`` and ``dataset``.

Every cell read is text or a number; a list or an object (a JSON file can hold one anywhere) is refused in one line
naming the row and the column, since no answer checker can compare a completion with it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import datasets

from rlvr.data.user_columns import ColumnMap
from rlvr.errors import UserError
from rlvr.tasks.math.answers import last_boxed

logger = logging.getLogger(__name__)

ROW_FEATURES = datasets.Features(
    {
        "problem": datasets.Value("string"),
        "answer": datasets.Value("string"),
        "solution": datasets.Value("string"),
        "question_type": datasets.Value("string"),
        "dataset": datasets.Value("string"),
    }
)
PROBLEM_COLUMNS = ("problem", "question")
ANSWER_COLUMNS = ("answer",)
SOLUTION_COLUMNS = ("solution",)
SUBJECT_COLUMNS = ("subject", "type")
LEVEL_COLUMNS = ("level",)


def math_rows(raw: datasets.Dataset, name: str, source: str) -> datasets.Dataset:
    """The rows of a copy of one of the task's datasets, its columns found by name (see ``_column``)."""
    names = raw.column_names
    problem_column = _column(names, PROBLEM_COLUMNS)
    answer_column, solution_column = _column(names, ANSWER_COLUMNS), _column(names, SOLUTION_COLUMNS)
    if problem_column is None or (answer_column is None and solution_column is None):
        raise UserError(f"{source}: expected a problem (or question) column and an answer or solution column")
    subject_column, level_column = _column(names, SUBJECT_COLUMNS), _column(names, LEVEL_COLUMNS)

    def cells(column: str | None) -> list[str | None]:
        if column is None:
            return [None] * len(raw)
        return [_text(value, source, index, column) for index, value in enumerate(raw[column])]

    rows, dropped = [], 0
    columns = (problem_column, answer_column, solution_column, subject_column, level_column)
    for problem, answer, solution, subject, level in zip(*(cells(column) for column in columns), strict=True):
        # MATH keeps its answer only inside the solution: the last box is the one graders use.
        answer = answer or (last_boxed(solution) if solution else None)
        if problem is None or answer is None:
            dropped += 1
            continue
        question_type = _question_type(subject, level)
        rows.append(
            {
                "problem": problem,
                "answer": answer,
                "solution": solution,
                "question_type": question_type,
                "dataset": name,
            }
        )
    if dropped:
        logger.warning("%s: dropped %d of %d rows without a problem or an answer", source, dropped, len(raw))
    if not rows:
        raise UserError(f"{source}: no row has both a problem and an answer")
    return datasets.Dataset.from_list(rows, features=ROW_FEATURES)


def user_math_rows(raw: datasets.Dataset, columns: ColumnMap, source: str) -> datasets.Dataset:
    """The rows of a dataset of the user's: its question and answer columns, named as the MATH files name them."""
    picked = raw.select_columns(list(dict.fromkeys([columns.question, columns.answer])))
    if columns.question == columns.answer:
        picked = picked.rename_column(columns.question, "problem").add_column("answer", picked[columns.answer])
    else:
        picked = picked.rename_columns({columns.question: "problem", columns.answer: "answer"})
    return math_rows(picked, "user", source)


def _column(column_names: Sequence[str], candidates: Sequence[str]) -> str | None:
    by_lower_name = {column.lower(): column for column in column_names}
    return next((by_lower_name[name] for name in candidates if name in by_lower_name), None)


def _text(value: object, source: str, row: int, column: str) -> str | None:
    if isinstance(value, (list, dict)):
        kind = "a list" if isinstance(value, list) else "an object"
        raise UserError(
            f"{source}: row {row}: column {column!r} holds {kind} ({value!r:.60}); expected text or a number"
        )
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # AMC answers stored as 27.0 are the integer 27
    text = str(value).strip()
    return text or None


def _question_type(subject: str | None, level: str | None) -> str | None:
    if level is not None and level.isdigit():
        level = f"Level {level}"
    parts = [part for part in (subject, level) if part]
    return ", ".join(parts) or None
