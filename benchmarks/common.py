"""What every benchmark prints: the machine, the date, and medians over repeats with their spread."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime


def machine_line() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (
        f"{platform.node()}: {platform.processor() or platform.machine()}, {cores} cores usable, "
        f"OMP_NUM_THREADS={threads}, Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of each of ``repeats`` calls."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def median_and_spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """'1.23 s (1.10-1.40 over 5)': the median, then the smallest and largest of the repeats."""
    median = f"{statistics.median(values):.{digits}f}" + (f" {unit}" if unit else "")
    return f"{median} ({min(values):.{digits}f}-{max(values):.{digits}f} over {len(values)})"


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
