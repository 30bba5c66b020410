"""A run's training log: finding and reading its newest trainer_state.json (also while it trains), the series of
each logged metric, and the text summary monitor_training.py prints.

The metric names are the ones TRL 1.16's GRPOTrainer logs plus our ``objective/*``; docs/evaluation.md lists them.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlvr.errors import UserError
from trainers.run_health import never_learned_warnings
from trainers.trainer_state import check_trainer_state

TRAINER_STATE = "trainer_state.json"
RUN_CONFIG = "run_config.json"  # optional, next to the checkpoints: {"mode": "nsr", ...}; the summary shows the mode
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
REWARD_FUNCTION_MEAN = re.compile(r"^rewards/(.+)/mean$")
OBJECTIVE_PREFIX = "objective/"
RETRY_DELAY_S = 1.0

# Metrics the summary lists first, in this order; every other numeric key follows alphabetically.
SUMMARY_ORDER = (
    "loss",
    "learning_rate",
    "grad_norm",
    "reward",
    "reward_std",
    "frac_reward_zero_std",
    "entropy",
    "completions/mean_length",
)
# Keys that describe the log entry rather than the training.
NOT_METRICS = frozenset({"step"})

# ---------------------------------------------------------------------------------------------------------------
# Finding and reading trainer_state.json


def resolve_trainer_state(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """(path, parsed state) of the newest trainer_state.json for a run folder, checkpoint folder or the file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such folder")
    if path.is_file():
        return path, read_trainer_state(path)
    # The top-level state comes first so that it wins a tie: the trainer writes it at the end of training.
    candidates = [path / TRAINER_STATE] if (path / TRAINER_STATE).is_file() else []
    newest_checkpoint = _newest_checkpoint_state(path)
    if newest_checkpoint is not None:
        candidates.append(newest_checkpoint)
    if not candidates:
        raise UserError(f"{path}: no {TRAINER_STATE} in the folder or in any checkpoint-N folder inside it")
    states = [(candidate, read_trainer_state(candidate)) for candidate in candidates]
    return max(states, key=lambda item: global_step_of(item[1]))


def _newest_checkpoint_state(run_folder: Path) -> Path | None:
    numbered = []
    for child in run_folder.iterdir():
        match = CHECKPOINT_NAME.match(child.name)
        # A checkpoint being saved right now may not have its trainer_state.json yet: the one before it counts.
        if match and (child / TRAINER_STATE).is_file():
            numbered.append((int(match.group(1)), child / TRAINER_STATE))
    return max(numbered)[1] if numbered else None


def global_step_of(state: Mapping[str, Any]) -> int:
    step = state.get("global_step")
    if isinstance(step, int | float) and not isinstance(step, bool):
        return int(step)
    steps = [entry.get("step", 0) for entry in state.get("log_history", []) if isinstance(entry, dict)]
    return int(max(steps, default=0))


def read_trainer_state(path: Path, retry_delay_s: float = RETRY_DELAY_S) -> dict[str, Any]:
    """Parse a trainer_state.json; a half-written file (a run saving right now) is read once more after a pause."""
    for attempt in (1, 2):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            break
        except RecursionError:
            raise UserError(f"{path}: nested too deeply to be a trainer state") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            if attempt == 2:
                detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
                raise UserError(
                    f"{path}: not readable as complete JSON after a retry ({detail}); "
                    "if the run is saving a checkpoint right now, try again in a moment"
                ) from None
            time.sleep(retry_delay_s)
    return check_trainer_state(state, path)


def load_log_history(path: str | Path) -> list[dict[str, Any]]:
    """The log_history of the newest trainer_state.json at ``path`` (run folder, checkpoint folder or the file)."""
    return resolve_trainer_state(path)[1]["log_history"]


def run_folder_of(path: str | Path) -> Path:
    """The run folder for a run folder, one of its checkpoint-N folders or a trainer_state.json in either."""
    path = Path(path)
    if path.is_file():
        path = path.parent
    return path.parent if CHECKPOINT_NAME.match(path.name) else path


def recorded_setting(path: str | Path, name: str) -> Any:
    """A setting from the run_config.json of the run folder (or the checkpoint), None if none records it."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    for candidate in (folder / RUN_CONFIG, run_folder_of(path) / RUN_CONFIG):
        try:
            value = json.loads(candidate.read_text(encoding="utf-8")).get(name)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, RecursionError):
            continue
        if value is not None:
            return value
    return None


def recorded_mode(path: str | Path) -> str | None:
    """The training mode if the run folder (or the checkpoint) has a run_config.json naming it."""
    mode = recorded_setting(path, "mode")
    return mode if isinstance(mode, str) and mode else None


def why_nothing_was_logged(state: Mapping[str, Any]) -> str:
    """A line explaining an empty log_history: usually a logging interval longer than the run."""
    step, interval = global_step_of(state), state.get("logging_steps")
    if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > step:
        return (
            f"nothing was logged: the logging interval ({int(interval)} steps) is longer than the run "
            f"({step} steps); train with a smaller --logging-steps"
        )
    if step == 0:
        return "nothing was logged: the run has not finished a step yet"
    return f"nothing was logged in {step} steps (logging interval {interval})"


# ---------------------------------------------------------------------------------------------------------------
# Series and the summary


def metric_series(log_history: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of every log entry that has a finite number under ``key``."""
    steps, values = [], []
    for index, entry in enumerate(log_history):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        steps.append(entry.get("step", index))
        values.append(float(value))
    return np.array(steps, dtype=np.float64), np.array(values, dtype=np.float64)


def nonfinite_steps(log_history: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """Steps at which ``key`` was logged as NaN or +-inf: a diverged run, which the line plots cannot show."""
    return [
        float(entry.get("step", index))
        for index, entry in enumerate(log_history)
        if isinstance(entry.get(key), float) and not math.isfinite(entry[key])
    ]


def non_numeric_values(log_history: Sequence[Mapping[str, Any]], key: str) -> list[tuple[float, Any]]:
    """(step, value) of each entry that logged ``key`` as something other than a number (text, a list, null,
    true/false): a logging bug that the plots and the table would otherwise show as "not logged"."""
    return [
        (float(step) if isinstance(step := entry.get("step", index), int | float) else float(index), entry[key])
        for index, entry in enumerate(log_history)
        if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], int | float))
    ]


def describe_non_numeric(key: str, found: Sequence[tuple[float, Any]]) -> str:
    """One line on a key logged as something other than a number, with its first such value."""
    step, value = found[0]
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"'{key}' was logged, but not as a number at {len(found)} logged steps (first: {shown} at step {step:g})"


def metric_names(log_history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key with a number in some entry: the SUMMARY_ORDER ones first, then the rest alphabetically."""
    found = {
        key
        for entry in log_history
        for key, value in entry.items()
        if key not in NOT_METRICS and isinstance(value, int | float) and not isinstance(value, bool)
    }
    return [key for key in SUMMARY_ORDER if key in found] + sorted(found - set(SUMMARY_ORDER))


def reward_function_names(log_history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the reward functions, from the ``rewards/<name>/mean`` keys TRL logs."""
    names = {match.group(1) for entry in log_history for key in entry if (match := REWARD_FUNCTION_MEAN.match(key))}
    return sorted(names)


def objective_keys(log_history: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = {key for entry in log_history for key in entry if key.startswith(OBJECTIVE_PREFIX)}
    return sorted(keys)


def summarize(log_history: Sequence[Mapping[str, Any]], *, title: str | None = None, mode: str | None = None) -> str:
    """Steps and, per metric, the number of points and the first, last, min and max value, as aligned text."""
    steps = [entry["step"] for entry in log_history if isinstance(entry.get("step"), int | float)]
    lines = [title or "Training summary"]
    if mode:
        lines.append(f"mode: {mode}")
    if steps:
        lines.append(
            f"steps: {int(max(steps))} (log entries: {len(log_history)}, first logged step {int(min(steps))})"
        )
    else:
        lines.append(f"steps: unknown (log entries: {len(log_history)})")
    for key in sorted({key for entry in log_history for key in entry} - NOT_METRICS):
        found = non_numeric_values(log_history, key)
        if found:
            lines.append("WARNING: " + describe_non_numeric(key, found))
    names = metric_names(log_history)
    if not names:
        lines.append("no numeric metrics logged yet")
        return "\n".join(lines)
    nonfinite = {name: nonfinite_steps(log_history, name) for name in names}
    for name, bad_steps in nonfinite.items():
        if bad_steps:
            shown = ", ".join(f"{step:g}" for step in bad_steps[:10]) + (", ..." if len(bad_steps) > 10 else "")
            lines.append(f"WARNING: {name} is NaN or infinite at {len(bad_steps)} logged steps ({shown})")
    lines += never_learned_warnings(log_history)
    # The non-finite column appears only when it has something to say, so healthy summaries stay as they were.
    with_nonfinite = any(nonfinite.values())
    rows = [["metric", "points", "first", "last", "min", "max", *(["non-finite"] if with_nonfinite else [])]]
    for name in names:
        _, values = metric_series(log_history, name)
        cells = [f"{value:.6g}" for value in _first_last_min_max(values)] if values.size else ["-"] * 4
        rows.append([name, str(values.size), *cells, *([str(len(nonfinite[name]))] if with_nonfinite else [])])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _first_last_min_max(values: np.ndarray) -> tuple[float, float, float, float]:
    return float(values[0]), float(values[-1]), float(values.min()), float(values.max())
