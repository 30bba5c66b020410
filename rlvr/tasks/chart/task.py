"""The chart question-answering task: Qwen2.5-VL reads a chart image and answers in a structured format."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from rlvr.errors import UserError
from rlvr.tasks.base import MAX_GENERATED_ROWS, Task
from rlvr.tasks.chart.answers import exact_match, extract_answer
from rlvr.tasks.chart.datasets import (
    CHART_DATASETS,
    chart_rows_from_columns,
    get_chart_dataset_spec,
    load_chart_dataset,
)
from rlvr.tasks.chart.prompts import SYSTEM_PROMPTS, build_chart_prompt
from rlvr.tasks.chart.rewards import REWARD_FUNCTIONS
from rlvr.tasks.chart.similarity import ensure_similarity_model_available

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def reasoning_steps(reasoning: str | None) -> list[str]:
    """Split a reasoning string into steps at line breaks and sentence ends."""
    return [step.strip() for step in _SENTENCE_END.split(reasoning or "") if step.strip()]


def chart_sft_completion(row: dict, style: str) -> str:
    """The reference completion for a row, in the format the prompt style asks for."""
    answer = f"<answer>{row['label']}</answer>"
    if style == "direct":
        return answer
    steps = reasoning_steps(row.get("reasoning"))
    if style == "think":
        return f"<think>\n{' '.join(steps)}\n</think>\n{answer}"
    table = row.get("table") or {"columns": [], "rows": []}
    table_json = json.dumps({"columns": table["columns"], "rows": table["rows"]})
    step_lines = "".join(f"<step-{index}>{step}</step-{index}>\n" for index, step in enumerate(steps, start=1))
    chart_type = row.get("chart_type") or ""
    return f"<think>\n<type>{chart_type}</type>\n<table>{table_json}</table>\n{step_lines}</think>\n{answer}"


def _check_chart_rewards(reward_names: Sequence[str]) -> None:
    if "process_style_reward" in reward_names:
        ensure_similarity_model_available()


def _generated_rows(dataset: str, split: str) -> int | None:
    """The synthetic charts never run out (each row is drawn from its own seed), so they stop at
    MAX_GENERATED_ROWS; the other datasets are read."""
    try:
        spec = get_chart_dataset_spec(dataset)
    except UserError:
        return None  # a dataset of the user's
    return MAX_GENERATED_ROWS if spec.generate is not None else None


TASK = Task(
    name="chart",
    is_multimodal=True,
    reward_functions=REWARD_FUNCTIONS,
    default_reward_names=tuple(REWARD_FUNCTIONS),
    correctness_reward="accuracy_reward",
    dataset_names=tuple(CHART_DATASETS),
    default_dataset="synthetic",
    load_dataset=load_chart_dataset,
    from_columns=chart_rows_from_columns,
    prompt_styles=tuple(SYSTEM_PROMPTS),
    build_prompt=lambda row, style: build_chart_prompt(row["query"], style),
    sft_completion=chart_sft_completion,
    startup_check=_check_chart_rewards,
    exact_match=lambda completion, row: exact_match(extract_answer(completion), row["label"]),
    generated_rows=_generated_rows,
)
