"""System prompts for chart question answering and the conversational messages TRL expects.

Three styles, picked by name:

- ``structured``: chart type, the data table as JSON, numbered steps, then the answer. The shaping rewards in
  ``rewards.py`` score exactly this layout.
- ``think``: free-form reasoning in ``<think>`` followed by ``<answer>``.
- ``direct``: only ``<answer>``.
"""

from __future__ import annotations

from rlvr.errors import UserError

STRUCTURED_SYSTEM_PROMPT = """\
You answer questions about a chart shown in an image. Work in this order: name the kind of chart, \
read its data into a table, reason in short numbered steps, then give the answer.

Reply in exactly this layout and write nothing before or after it:
<think>
<type>CHART TYPE</type>
<table>{"columns": [...], "rows": [[...], ...]}</table>
<step-1>...</step-1>
...
<step-n>...</step-n>
</think>
<answer>ANSWER</answer>

Rules:
- <type> holds the kind of chart in a few words, for example "bar", "line" or "pie".
- <table> holds one JSON object with exactly two keys: "columns", a list of column names as strings, and \
"rows", a list of rows, each a list of cell values as strings in the order of the columns.
- Use as many steps as you need, numbered from 1.
- <answer> holds only the final answer: a number without units or a few words. Answer yes/no questions \
with Yes or No."""

THINK_SYSTEM_PROMPT = """\
You answer questions about a chart shown in an image. First reason about the chart step by step, then give \
the answer.

Reply in exactly this layout and write nothing before or after it:
<think>
your reasoning
</think>
<answer>ANSWER</answer>

<answer> holds only the final answer: a number without units or a few words. Answer yes/no questions with \
Yes or No."""

DIRECT_SYSTEM_PROMPT = """\
You answer questions about a chart shown in an image.

Reply with the final answer only, in this layout, and write nothing before or after it:
<answer>ANSWER</answer>

ANSWER is a number without units or a few words. Answer yes/no questions with Yes or No."""

SYSTEM_PROMPTS: dict[str, str] = {
    "structured": STRUCTURED_SYSTEM_PROMPT,
    "think": THINK_SYSTEM_PROMPT,
    "direct": DIRECT_SYSTEM_PROMPT,
}


def build_chart_prompt(query: str, style: str = "structured") -> list[dict]:
    """Return the conversational prompt for one chart question: a system turn, then the image and the query.

    The image is a placeholder part; TRL and the processor fill it from the dataset's ``image`` column.

    >>> messages = build_chart_prompt("What is the highest value?", style="direct")
    >>> [message["role"] for message in messages]
    ['system', 'user']
    >>> messages[1]["content"]
    [{'type': 'image'}, {'type': 'text', 'text': 'What is the highest value?'}]
    """
    if style not in SYSTEM_PROMPTS:
        valid_styles = ", ".join(SYSTEM_PROMPTS)
        raise UserError(f"unknown prompt style {style!r}; choose one of: {valid_styles}")
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPTS[style]}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": query}]},
    ]
