"""What every benchmark prints and how it times: the machine and its load, compared runs interleaved after a warm-up,
and the smallest / median / largest of the repeats.

The machine may be shared: other work comes and goes during a benchmark. Running the compared cases in turn
(A B A B ...) gives each case the same share of that noise, and a ratio is taken within each round, so a burst of
load slows both sides of one ratio rather than all the runs of one side.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

Result = TypeVar("Result")


def machine_line() -> str:
    """Host, cores this process may use, threads, Python, time, and the load average when the line is printed."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (
        f"{platform.node()}: {platform.processor() or platform.machine()}, {cores} cores usable, "
        f"OMP_NUM_THREADS={threads}, Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{load_line()}"
    )


def load_line() -> str:
    """/proc/loadavg's 1, 5 and 15 minute load averages against the core count (Linux; 'unknown' elsewhere)."""
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
    except OSError:
        return "load average unknown"
    return f"load average {one} {five} {fifteen} (1, 5, 15 min) on {os.cpu_count()} cores"


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of each of ``repeats`` calls."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def interleaved(cases: Mapping[str, Callable[[], Result]], repeats: int, warmup: int = 1) -> dict[str, list[Result]]:
    """Each case's results over ``repeats`` rounds, the cases run in turn within a round, after ``warmup`` rounds
    whose results are dropped (first-call costs: imports, allocator, caches). Every other round runs the cases in
    reverse (A B C, C B A, ...), so a load that rises or falls through the run favours no case by its position."""
    results: dict[str, list[Result]] = {name: [] for name in cases}
    for round_index in range(warmup + repeats):
        order = list(cases.items())
        for name, case in order if round_index % 2 == 0 else reversed(order):
            result = case()
            if round_index >= warmup:
                results[name].append(result)
    return results


def spread(values: Sequence[float], unit: str = "s", digits: int = 2) -> str:
    """'1.10 / 1.23 / 1.40 s': the smallest, the median and the largest of the repeats."""
    low, middle, high = (f"{value:.{digits}f}" for value in (min(values), statistics.median(values), max(values)))
    return f"{low} / {middle} / {high}" + (f" {unit}" if unit else "")


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Round by round: the i-th value of one case over the i-th of the other, timed next to it."""
    return [top / bottom for top, bottom in zip(numerators, denominators, strict=True)]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Run by a small Python process of its own: a child's peak memory (ru_maxrss) starts from the image it was forked
# from, so a command forked straight from a benchmark that holds large data would be charged for that data.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
process.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps([process.returncode, time.perf_counter() - started, usage.ru_maxrss / 1024]))
"""


def run_process(command: Sequence[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of ``command`` as its own process, as a user runs it; raises if it fails."""
    launched = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=cwd, capture_output=True, text=True)
    if launched.returncode != 0 or not launched.stdout.strip():
        raise RuntimeError(f"could not run {' '.join(command)}: {launched.stderr[-2000:]}")
    returncode, seconds, peak_mb = json.loads(launched.stdout.strip().splitlines()[-1])
    if returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {returncode}: {launched.stderr[-2000:]}")
    return seconds, peak_mb
