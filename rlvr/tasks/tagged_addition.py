"""What the two addition toys share (rlvr/tasks/carry, rlvr/tasks/strategies): the prompt ``a+b=``, rows with the
strategy tag the warm start is shown, and completions that are a strategy tag followed by the answer."""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from rlvr.tasks.completions import completion_text

ROW_FEATURES = datasets.Features(
    {
        "expression": datasets.Value("string"),
        "answer": datasets.Value("int64"),
        "carries": datasets.Value("bool"),
        "strategy": datasets.Value("string"),
    }
)


def split_tagged(completion: str, tags: Sequence[str]) -> tuple[str | None, str]:
    """(tag, answer text) of a completion; the tag is None when the completion does not start with one of ``tags``.

    >>> split_tagged(" +52 ", "+-"), split_tagged("52", "+-")
    (('+', '52'), (None, '52'))
    """
    text = completion.strip()
    return (text[0], text[1:]) if text[:1] and text[0] in tags else (None, text)


def tagged_sum_scores(completions: list, answer: list | None, tags: Sequence[str]) -> list[float | None]:
    """1.0 for one of ``tags`` followed by exactly the expected answer's digits, else 0.0; None without an answer."""
    if answer is None:
        return [None] * len(completions)
    scores: list[float | None] = []
    for completion, expected in zip(completions, answer, strict=True):
        tag, digits = split_tagged(completion_text(completion), tags)
        scores.append(None if expected is None else float(tag is not None and digits == str(expected)))
    return scores


def build_addition_prompt(row: dict, style: str) -> list[dict]:
    return [{"role": "user", "content": f"{row['expression']}="}]
