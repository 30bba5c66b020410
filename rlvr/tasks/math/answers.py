"""The final answer of a math completion, and whether it equals the expected one.

The answer is the content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) of the text, found by counting braces,
so ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``. Two answers are compared with math-verify (``parse`` then
``verify``), which knows that ``0.5``, ``\\frac{1}{2}`` and ``\\dfrac12`` are the same number.

Time limits: math-verify bounds each parse and each comparison with ``signal.alarm``, which only works on a
process's main thread. On the main thread (where TRL calls reward functions) it runs here with those limits. On
any other thread it runs in a worker process instead: the worker's main thread applies the same limits, and if
the worker does not answer within twice the limit plus a margin it is killed and the answer counts as wrong. An
answer longer than ``MAX_ANSWER_CHARS`` is wrong without being parsed.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import re
import threading
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any

MAX_ANSWER_CHARS = 1000
VERIFY_TIMEOUT_SECONDS = 3
# Added to a worker's deadline: the time to send the job and its answer between processes.
WORKER_MARGIN_SECONDS = 5
# A fresh worker imports math-verify (and, under spawn, the parent's main module) before its first job.
WORKER_START_SECONDS = 300

_BOX_OPENING = re.compile(r"\\(?:boxed|fbox)\s*\{")

_worker_lock = threading.Lock()
_worker: Pool | None = None


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text``, stripped; ``None`` when there is none or it never closes.

    Escaped braces (``\\{``, ``\\}``) do not count when matching.

    >>> last_boxed(r"so $x = \\boxed{1}$, or rather $\\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> last_boxed(r"\\boxed{\\{1, 2\\}}"), last_boxed("no box"), last_boxed(r"\\boxed{12")
    ('\\\\{1, 2\\\\}', None, None)
    """
    openings = list(_BOX_OPENING.finditer(text))
    if not openings:
        return None
    start = openings[-1].end()
    depth, position = 1, start
    while position < len(text):
        character = text[position]
        if character == "\\":
            position += 2
            continue
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth == 0:
                return text[start:position].strip() or None
        position += 1
    return None


def answers_match(expected: str, predicted: str, timeout_seconds: int = VERIFY_TIMEOUT_SECONDS) -> bool:
    """Whether ``predicted`` is mathematically the same answer as ``expected`` (both LaTeX, without ``\\boxed``).

    >>> answers_match(r"\\frac{1}{2}", "0.5"), answers_match("10", "11")
    (True, False)
    """
    if not predicted or len(predicted) > MAX_ANSWER_CHARS:
        return False
    if threading.current_thread() is threading.main_thread():
        return match_with_alarm(expected, predicted, timeout_seconds)
    deadline = 2 * timeout_seconds + WORKER_MARGIN_SECONDS
    return bool(run_in_worker(match_with_alarm, (expected, predicted, timeout_seconds), deadline))


def match_with_alarm(expected: str, predicted: str, timeout_seconds: int) -> bool:
    """math-verify's comparison with its own signal-based time limits; call it on a main thread only."""
    from math_verify import parse, verify

    gold = _parse_expected(expected, timeout_seconds)
    if not gold:
        return False
    prediction = parse(_boxed(predicted), parsing_timeout=timeout_seconds)
    return bool(prediction) and verify(gold, prediction, timeout_seconds=timeout_seconds)


@functools.lru_cache(maxsize=4096)
def _parse_expected(expected: str, timeout_seconds: int) -> list:
    # The same expected answer is parsed for every completion of its group, and again at every epoch.
    from math_verify import parse

    return parse(_boxed(expected), parsing_timeout=timeout_seconds)


def _boxed(answer: str) -> str:
    # Both sides go through the same boxed extraction, so a number and its LaTeX form parse alike.
    return "\\boxed{" + answer + "}"


def run_in_worker(function: Callable[..., Any], args: tuple, deadline_seconds: float) -> Any | None:
    """``function(*args)`` in a worker process; ``None`` (and a fresh worker next time) past the deadline.

    One worker serves every thread, one job at a time.
    """
    global _worker
    with _worker_lock:
        if _worker is None:
            pool = multiprocessing.get_context("spawn").Pool(processes=1)
            try:
                pool.apply_async(_import_math_verify).get(timeout=WORKER_START_SECONDS)
            except multiprocessing.TimeoutError:
                pool.terminate()
                return None
            _worker = pool
            # Ended before interpreter shutdown tears down the modules its finaliser needs.
            atexit.register(_stop_worker, pool)
        job = _worker.apply_async(function, args)
        try:
            return job.get(timeout=deadline_seconds)
        except multiprocessing.TimeoutError:
            # The only way to stop a computation stuck in sympy is to end its process.
            _stop_worker(_worker)
            _worker = None
            return None


def _stop_worker(pool: Pool) -> None:
    pool.terminate()  # a second call, at exit for a pool already ended, does nothing


def _import_math_verify() -> None:
    import math_verify  # noqa: F401
