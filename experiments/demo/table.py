"""The before/after table of `make demo`'s chart runs: what the warm start and each objective score on held-out
charts, and what each run saw while training (its reward, its gradient norm, its in-training Pass@k)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rlvr.methods import METHOD_LABELS

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def training_log(run: Path) -> list[dict[str, Any]]:
    """The log history of a run's newest checkpoint (empty when it has none)."""
    checkpoints = sorted(
        (int(match.group(1)), path) for path in run.glob("checkpoint-*") if (match := CHECKPOINT.match(path.name))
    )
    if not checkpoints:
        return []
    return json.loads((checkpoints[-1][1] / "trainer_state.json").read_text())["log_history"]


def first_and_last(history: list[dict[str, Any]], key: str) -> str:
    values = [entry[key] for entry in history if key in entry]
    return f"{values[0]:.2f} -> {values[-1]:.2f}" if values else "-"


def before_after_table(results: dict[str, Path], runs: dict[str, Path], k: int) -> str:
    """One line per method: Pass@1 and Pass@k of its held-out samples (``results``: method -> pass_at_k.py file),
    and for the trained ones (``runs``: method -> output folder) the in-training Pass@1, the mean reward and the
    largest gradient norm over the run, first and last logged values."""
    header = (
        f"{'method':<12} {'Pass@1':>7} {f'Pass@{k}':>7} | {'eval Pass@1 (training)':>22} "
        f"{'reward (first -> last)':>22} {'max grad norm':>13}"
    )
    lines = [header, "-" * len(header)]
    for method, path in results.items():
        scores = json.loads(path.read_text())["pass_at_k"]
        history = training_log(runs[method]) if method in runs else []
        norms = [entry["grad_norm"] for entry in history if "grad_norm" in entry]
        trained = (
            f"{first_and_last(history, 'eval/pass@1'):>22} {first_and_last(history, 'reward'):>22} "
            f"{max(norms, default=0.0):>13.3g}"
            if method in runs
            else f"{'(warm start)':>22}"
        )
        lines.append(f"{METHOD_LABELS[method]:<12} {scores['1']:>7.3f} {scores[str(k)]:>7.3f} | {trained}")
    return "\n".join(lines)
