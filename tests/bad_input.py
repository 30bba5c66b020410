"""Helpers of the bad-input tests (tests/test_bad_input*.py): files to feed, and the one-line refusal to expect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON that no recursive reader can hold


def problem(index: int) -> dict:
    correct = [True, False]
    return {
        "problem_id": index,
        "question": "q",
        "answer": "1",
        "samples": ["1", "2"],
        "correct": correct,
        "num_correct": 1,
        "num_total": 2,
    }


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def png(path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), "red").save(path)
    return path


def assert_refused(
    entry: Callable[[list[str]], object], argv: list[str], fragment: str, capsys: pytest.CaptureFixture
) -> None:
    """``entry(argv)`` exits with code 2 and prints exactly one line, starting 'error: ' and naming the problem."""
    with pytest.raises(SystemExit) as exited:
        entry(argv)
    assert exited.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(error_lines) == 1, error_lines
    assert error_lines[0].startswith("error: ") and fragment in error_lines[0], error_lines[0]
