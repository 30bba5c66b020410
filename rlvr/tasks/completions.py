"""Reading the text of a completion, whichever form TRL hands it in: shared by every task's rewards."""

from __future__ import annotations


def completion_text(completion: object) -> str:
    """The text of one completion, plain or conversational; assistant turns are joined with newlines.

    >>> completion_text("<answer>4</answer>")
    '<answer>4</answer>'
    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "<answer>4</answer>"}]}])
    '<answer>4</answer>'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return ""
    return "\n".join(
        _message_text(message)
        for message in completion
        if isinstance(message, dict) and message.get("role", "assistant") == "assistant"
    )


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""
