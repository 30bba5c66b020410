"""``--system-prompt``: a task whose every prompt has the user's system turn in place of its own.

The prompt's other turns, and the format of a turn's content (a string for text models, a list of parts for
vision-language ones), stay as the task builds them. An empty text leaves the prompt without a system turn.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # base imports datasets, which main.py loads only after parsing
    from rlvr.tasks.base import Task


def with_system_prompt(task: Task, text: str | None) -> Task:
    """``task`` with ``text`` as the system turn of every prompt; ``task`` itself when ``text`` is None."""
    if text is None:
        return task
    build_prompt = task.build_prompt

    def build(row: dict, style: str) -> list[dict]:
        return replace_system_turn(build_prompt(row, style), text)

    return dataclasses.replace(task, build_prompt=build)


def replace_system_turn(messages: list[dict], text: str) -> list[dict]:
    turns = [message for message in messages if message.get("role") != "system"]
    if not text:
        return turns
    as_parts = bool(turns) and isinstance(turns[0].get("content"), list)
    content = [{"type": "text", "text": text}] if as_parts else text
    return [{"role": "system", "content": content}, *turns]
