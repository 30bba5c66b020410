"""The seven chart rewards, as plain functions with TRL's reward signature.

TRL's ``GRPOTrainer`` calls each one as ``f(prompts=..., completions=..., completion_ids=..., trainer_state=...,
**columns)`` where every dataset column arrives as a list with one value per completion. A function returns
one float per completion, or ``None`` where the row lacks the column it needs (TRL then skips that value); when
the column is absent altogether, every value is ``None``.

Completions may be plain strings or conversational (``[{"role": "assistant", "content": ...}]``).
Every reward is total: any text gives a value inside the range in ``REWARD_RANGES``. See docs/rewards.md.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

from rlvr.tasks.chart.answers import extract_answer, parse_number, relaxed_match
from rlvr.tasks.chart.similarity import cosine_similarities
from rlvr.tasks.completions import completion_text

STRUCTURAL_TAGS = ("<think>", "</think>", "<type>", "</type>", "<table>", "</table>", "<answer>", "</answer>")

# One character of element content: anything that does not start a structural tag. Content that cannot contain
# the next tag keeps the pattern unambiguous, so matching stays linear on adversarial text.
_CONTENT_CHAR = r"(?:(?!</?(?:think|type|table|answer|step-\d+)>).)"
_STRUCTURED_PATTERN = re.compile(
    rf"""
    \s*<think>\s*
    <type>{_CONTENT_CHAR}+</type>\s*
    <table>{_CONTENT_CHAR}+</table>\s*
    (?:<step-(\d+)>{_CONTENT_CHAR}*</step-\1>\s*)+
    </think>\s*
    <answer>{_CONTENT_CHAR}+</answer>\s*
    """,
    re.DOTALL | re.VERBOSE,
)

THINK_WINDOW = (71, 250)
STEP_CREDIT = 0.25
MAX_STEP_CREDIT = 1.5
TABLE_PARSE_CREDIT = 0.5
TABLE_COLUMNS_CREDIT = 0.75
TABLE_CELLS_CREDIT = 0.75
TABLE_KEYS_CREDIT = 0.25


def _element_text(text: str, tag: str) -> str | None:
    """Content of the first ``<tag>...</tag>``, or ``None`` when there is none."""
    opening, closing = f"<{tag}>", f"</{tag}>"
    start = text.find(opening)
    if start < 0:
        return None
    content_start = start + len(opening)
    end = text.find(closing, content_start)
    return None if end < 0 else text[content_start:end]


def _without_tables(text: str) -> str:
    """The text with every complete ``<table>...</table>`` element removed."""
    kept, position = [], 0
    while (start := text.find("<table>", position)) >= 0:
        end = text.find("</table>", start + len("<table>"))
        if end < 0:
            break
        kept.append(text[position:start])
        position = end + len("</table>")
    kept.append(text[position:])
    return "".join(kept)


def _normalise_label(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return " ".join(text.split()).casefold()


def format_reward(completions: list, **kwargs) -> list[float]:
    """2.0 when the whole completion has the structured layout, else 0.0. Range {0, 2}.

    The layout: ``<think>``, a non-empty ``<type>``, a non-empty ``<table>``, one or more ``<step-N>...</step-N>``
    (same N in each pair), ``</think>``, then a non-empty ``<answer>``; whitespace between elements and around
    the whole is allowed, nothing else is. Element content may not contain another structural tag.

    >>> good = '<think>\\n<type>bar</type>\\n<table>{}</table>\\n<step-1>a</step-1>\\n</think>\\n<answer>3</answer>'
    >>> format_reward([good, good + " and more"])
    [2.0, 0.0]
    """
    return [2.0 if _STRUCTURED_PATTERN.fullmatch(completion_text(completion)) else 0.0 for completion in completions]


def accuracy_reward(completions: list, label: list | None = None, **kwargs) -> list[float | None]:
    """1.0 when the last ``<answer>`` matches ``label`` under ``relaxed_match``, else 0.0. Range {0, 1}.

    >>> accuracy_reward(["<answer>-10.3</answer>", "<answer>10</answer>", "10"], label=["-10", "-10", "10"])
    [1.0, 0.0, 0.0]
    """
    if label is None:
        return [None] * len(completions)
    return [
        None if expected is None else float(relaxed_match(extract_answer(completion_text(completion)), expected))
        for completion, expected in zip(completions, label, strict=False)
    ]


def length_think_reward(completions: list, **kwargs) -> list[float]:
    """Rewards a think section of moderate length with numbered steps. Range [0, 2.5], in steps of 0.25.

    Think text: the content of the first ``<think>...</think>`` with its ``<table>...</table>`` elements removed,
    trimmed. +1.0 when it is 71 to 250 characters long, plus 0.25 per ``<step-`` in it, at most 1.5. No think
    element gives 0.0.

    >>> steps = "".join(f"<step-{i}>The bar for year {i} is the tallest one.</step-{i}>" for i in (1, 2))
    >>> length_think_reward([f"<think><table>{'x' * 500}</table>{steps}</think>"])
    [1.5]
    """
    rewards = []
    for completion in completions:
        think = _element_text(completion_text(completion), "think")
        if think is None:
            rewards.append(0.0)
            continue
        think = _without_tables(think).strip()
        window_credit = 1.0 if THINK_WINDOW[0] <= len(think) <= THINK_WINDOW[1] else 0.0
        rewards.append(window_credit + min(STEP_CREDIT * think.count("<step-"), MAX_STEP_CREDIT))
    return rewards


def num_token_reward(completions: list, **kwargs) -> list[float]:
    """2.0 when each structural tag occurs exactly once, else 0.0. Range {0, 2}.

    The tags: ``<think> </think> <type> </type> <table> </table> <answer> </answer>``.

    >>> num_token_reward(["<think><type></type><table></table></think><answer></answer>", "<answer></answer>"])
    [2.0, 0.0]
    """
    rewards = []
    for completion in completions:
        text = completion_text(completion)
        rewards.append(2.0 if all(text.count(tag) == 1 for tag in STRUCTURAL_TAGS) else 0.0)
    return rewards


def chart_type_reward(completions: list, chart_type: list | None = None, **kwargs) -> list[float | None]:
    """1.0 when the first ``<type>`` equals ``chart_type``, ignoring case and runs of whitespace. Range {0, 1}.

    >>> chart_type_reward(["<type> Bar </type>", "<type>line</type>", ""], chart_type=["bar", "bar", "bar"])
    [1.0, 0.0, 0.0]
    """
    if chart_type is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    for completion, expected in zip(completions, chart_type, strict=False):
        if expected is None:
            rewards.append(None)
            continue
        predicted = _element_text(completion_text(completion), "type")
        rewards.append(float(predicted is not None and _normalise_label(predicted) == _normalise_label(expected)))
    return rewards


def _number_key(value: float | int) -> str | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return f"number:{number!r}" if math.isfinite(number) else None


def _cell_key(value: object) -> Hashable | None:
    """What two cells must share to match: the value for numbers, else the normalised text. None never matches."""
    if isinstance(value, bool) or value is None:
        return f"text:{json.dumps(value)}"
    if isinstance(value, (int, float)):
        return _number_key(value)
    if isinstance(value, str):
        number = parse_number(value)
        if number is not None:
            return _number_key(number)
        return f"text:{_normalise_label(value)}"
    return None


def _cells(rows: object) -> list[object]:
    if not isinstance(rows, list):
        return []
    cells: list[object] = []
    for row in rows:
        if isinstance(row, list):
            cells.extend(row)
        else:
            cells.append(row)
    return cells


def _overlap_f1(predicted: Sequence[object], expected: Sequence[object]) -> float:
    """F1 of two multisets of cells; two empty ones agree fully."""
    if not predicted and not expected:
        return 1.0
    if not predicted or not expected:
        return 0.0
    predicted_keys = Counter(key for key in map(_cell_key, predicted) if key is not None)
    expected_keys = Counter(key for key in map(_cell_key, expected) if key is not None)
    shared = sum((predicted_keys & expected_keys).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def _as_table(value: object) -> dict | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _table_score(text: str, expected: dict) -> float:
    content = _element_text(text, "table")
    if content is None:
        return 0.0
    try:
        predicted = json.loads(content)
    except (ValueError, RecursionError):
        return 0.0
    score = TABLE_PARSE_CREDIT
    if not isinstance(predicted, dict):
        return score
    predicted_columns = predicted.get("columns")
    if isinstance(predicted_columns, list):
        expected_columns = expected.get("columns")
        expected_columns = expected_columns if isinstance(expected_columns, list) else []
        score += TABLE_COLUMNS_CREDIT * _overlap_f1(predicted_columns, expected_columns)
    if isinstance(predicted.get("rows"), list):
        score += TABLE_CELLS_CREDIT * _overlap_f1(_cells(predicted["rows"]), _cells(expected.get("rows")))
    if set(predicted) == {"columns", "rows"}:
        score += TABLE_KEYS_CREDIT
    return score


def table_style_reward(completions: list, table: list | None = None, **kwargs) -> list[float | None]:
    """Scores the JSON in the first ``<table>`` against the ``table`` column. Range [0, 2.25].

    +0.5 when the content parses as JSON; when it is an object: +0.75 x F1 of its "columns" against the true
    column names, +0.75 x F1 of all cells in its "rows" against the true cells (both as multisets, ignoring
    order and case; numbers compared by value, so "1,200" matches "1200"), +0.25 when its keys are exactly
    {"columns", "rows"}. Each completion is scored on its own; the ground truth is only read.

    >>> truth = {"columns": ["Year", "Sales"], "rows": [["2019", "10"], ["2020", "12"]]}
    >>> perfect = '<table>{"columns": ["year", "sales"], "rows": [["2019", "10"], ["2020", "12.0"]]}</table>'
    >>> table_style_reward([perfect, "<table>[1, 2]</table>", "<table>{oops</table>"], table=[truth] * 3)
    [2.25, 0.5, 0.0]
    """
    if table is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    for completion, expected in zip(completions, table, strict=False):
        expected_table = _as_table(expected)
        rewards.append(None if expected_table is None else _table_score(completion_text(completion), expected_table))
    return rewards


def _reasoning_text(text: str) -> str:
    """The text between the first ``</table>`` and the first ``</think>`` after it, trimmed; '' when absent."""
    table_end = text.find("</table>")
    if table_end < 0:
        return ""
    start = table_end + len("</table>")
    end = text.find("</think>", start)
    return "" if end < 0 else text[start:end].strip()


def process_style_reward(completions: list, reasoning: list | None = None, **kwargs) -> list[float | None]:
    """Cosine similarity of the reasoning steps with the ``reasoning`` column, negatives clipped. Range [0, 1].

    The reasoning steps are the text between ``</table>`` and ``</think>``; when there is none the reward is 0.0.
    Embeddings come from all-MiniLM-L6-v2 (see ``similarity.py``); the whole batch is embedded in one call.

    >>> reference = "<step-1>The tallest bar is 2020 with 12.</step-1>"
    >>> completions = ["<table>{}</table>" + reference + "</think>", "no steps"]
    >>> scores = process_style_reward(completions, reasoning=[reference, reference])
    >>> round(scores[0], 3), scores[1]
    (1.0, 0.0)
    """
    if reasoning is None:
        return [None] * len(completions)
    rewards: list[float | None] = [None] * len(completions)
    to_embed: list[tuple[int, str, str]] = []
    for index, (completion, expected) in enumerate(zip(completions, reasoning, strict=False)):
        if expected is None or not str(expected).strip():
            continue
        predicted = _reasoning_text(completion_text(completion))
        if predicted:
            to_embed.append((index, predicted, str(expected)))
        else:
            rewards[index] = 0.0
    if to_embed:
        indices, texts, references = zip(*to_embed, strict=True)
        for index, similarity in zip(indices, cosine_similarities(list(texts), list(references)), strict=True):
            rewards[index] = min(max(similarity, 0.0), 1.0) if math.isfinite(similarity) else 0.0
    return rewards


# The registry, keyed by function name: the name --reward-funcs takes is the one TRL logs as rewards/<name>/mean.
REWARD_FUNCTIONS: dict[str, Callable[..., list[float | None]]] = {
    function.__name__: function
    for function in (
        format_reward,
        accuracy_reward,
        length_think_reward,
        num_token_reward,
        chart_type_reward,
        table_style_reward,
        process_style_reward,
    )
}

REWARD_RANGES: dict[str, tuple[float, float]] = {
    "format_reward": (0.0, 2.0),
    "accuracy_reward": (0.0, 1.0),
    "length_think_reward": (0.0, 2.5),
    "num_token_reward": (0.0, 2.0),
    "chart_type_reward": (0.0, 1.0),
    "table_style_reward": (0.0, 2.25),
    "process_style_reward": (0.0, 1.0),
}
