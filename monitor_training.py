"""Training curves and a summary from a run's trainer_state.json, also while the run is still going.

    python monitor_training.py --checkpoint-dir grpo-start-ckpts/<run> [--output-dir plots]
    python monitor_training.py --compare --checkpoints <run1> <run2> --labels GRPO NSR --output-dir comparison

A run folder gives the newest checkpoint-N (by N) or its own top-level trainer_state.json, whichever has the
larger global_step. The metric names are the ones TRL 1.16's GRPOTrainer logs plus our ``objective/*``;
docs/evaluation.md lists them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evaluation.run_health import never_learned_warnings
from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import check_output_folder, write_atomically
from rlvr.methods import assign_styles

TRAINER_STATE = "trainer_state.json"
RUN_CONFIG = "run_config.json"  # optional, next to the checkpoints: {"mode": "nsr", ...}; the summary shows the mode
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
REWARD_FUNCTION_MEAN = re.compile(r"^rewards/(.+)/mean$")
OBJECTIVE_PREFIX = "objective/"
RETRY_DELAY_S = 1.0
LINESTYLES = ("-", "--", ":", "-.")

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


@dataclass(frozen=True)
class SinglePlot:
    """A plot of one logged key against step: its file name (without 'comparison_'), key and axis label."""

    file_name: str
    key: str
    title: str
    ylabel: str


SINGLE_PLOTS = (
    SinglePlot("training_loss.png", "loss", "Training loss", "loss"),
    SinglePlot("learning_rate.png", "learning_rate", "Learning rate", "learning rate"),
    SinglePlot("gradient_norm.png", "grad_norm", "Gradient norm", "gradient norm (before clipping)"),
    SinglePlot("entropy.png", "entropy", "Token entropy of the completions", "entropy (nats)"),
)


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
    return max(states, key=lambda item: _global_step(item[1]))


def _newest_checkpoint_state(run_folder: Path) -> Path | None:
    numbered = []
    for child in run_folder.iterdir():
        match = CHECKPOINT_NAME.match(child.name)
        # A checkpoint being saved right now may not have its trainer_state.json yet: the one before it counts.
        if match and (child / TRAINER_STATE).is_file():
            numbered.append((int(match.group(1)), child / TRAINER_STATE))
    return max(numbered)[1] if numbered else None


def _global_step(state: Mapping[str, Any]) -> int:
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
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise UserError(f"{path}: not a trainer state (no 'log_history' list)")
    if not all(isinstance(entry, dict) for entry in state["log_history"]):
        raise UserError(f"{path}: every 'log_history' entry must be an object")
    return state


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
    step, interval = _global_step(state), state.get("logging_steps")
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
    first = f", first logged step {int(min(steps))}" if steps else ""
    lines.append(f"steps: {int(max(steps)) if steps else 'unknown'} (log entries: {len(log_history)}{first})")
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


# ---------------------------------------------------------------------------------------------------------------
# Plots: each takes {label: log_history}, one entry for a single run, several for a comparison


def plot_metric(runs: Mapping[str, Sequence[Mapping[str, Any]]], plot: SinglePlot) -> Figure | None:
    """One logged key against step for every run that logged it; None when none did."""
    series = {label: metric_series(history, plot.key) for label, history in runs.items()}
    series = {label: points for label, points in series.items() if points[0].size}
    if not series and not any(nonfinite_steps(history, plot.key) for history in runs.values()):
        return None
    figure, axes = _new_figure(1)
    styles = assign_styles(list(runs))
    for label, (steps, values) in series.items():
        _line(axes[0], steps, values, label, styles[label].colour, show_label=len(runs) > 1)
    for label, history in runs.items():
        _mark_nonfinite(axes[0], nonfinite_steps(history, plot.key), styles[label].colour)
    _finish(axes[0], plot.title, plot.ylabel, legend=len(runs) > 1)
    if plot.key == "learning_rate":
        axes[0].ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    return figure


def plot_rewards(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure | None:
    """The total reward (with its spread across the batch when one run) and each reward function's mean."""
    functions = sorted({name for history in runs.values() for name in reward_function_names(history)})
    has_total = any(metric_series(history, "reward")[0].size for history in runs.values())
    if not has_total and not functions:
        return None
    single = len(runs) == 1
    panels = ["reward"] if has_total else []
    # One run: all functions in one panel; several runs: a panel per function so the runs can be compared.
    panels += (["functions"] if functions else []) if single else [f"rewards/{name}/mean" for name in functions]
    figure, axes = _new_figure(len(panels))
    styles = assign_styles(list(runs))
    for ax, panel in zip(axes, panels, strict=True):
        if panel == "functions":
            history = next(iter(runs.values()))
            for index, name in enumerate(functions):
                steps, values = metric_series(history, f"rewards/{name}/mean")
                _line(ax, steps, values, name, f"C{index % 10}", show_label=True, dash_index=index)
            _finish(ax, "Mean reward per function", "reward", legend=True)
            continue
        for label, history in runs.items():
            steps, values = metric_series(history, panel)
            _line(ax, steps, values, label, styles[label].colour, show_label=not single)
            if single and panel == "reward":
                _spread(ax, history, "reward", "reward_std", styles[label].colour)
        name = "Total reward" if panel == "reward" else f"Reward: {REWARD_FUNCTION_MEAN.match(panel).group(1)}"
        _finish(ax, name + (" (mean, band = std over the batch)" if single else ""), "reward", legend=not single)
    return figure


def plot_objective(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure | None:
    """The ``objective/*`` metrics of the decomposed trainer: fractions, mean advantage, empty batches."""
    keys = sorted({key for history in runs.values() for key in objective_keys(history)})
    if not keys:
        return None
    single = len(runs) == 1
    fractions = [key for key in keys if key.endswith("_frac")]
    # One run: the fractions share a panel; several runs: a panel per metric so that the runs can be compared.
    panels = ([fractions] if fractions else []) if single else [[key] for key in fractions]
    panels += [[key] for key in keys if key not in fractions]
    figure, axes = _new_figure(len(panels))
    styles = assign_styles(list(runs))
    for ax, panel_keys in zip(axes, panels, strict=True):
        shared = len(panel_keys) > 1
        for label, history in runs.items():
            for index, key in enumerate(panel_keys):
                steps, values = metric_series(history, key)
                if shared:
                    _line(ax, steps, values, key.removeprefix(OBJECTIVE_PREFIX), f"C{index % 10}", True, index)
                else:
                    _line(ax, steps, values, label, styles[label].colour, show_label=not single)
        title = "Sample and group fractions" if shared else panel_keys[0].removeprefix(OBJECTIVE_PREFIX)
        ylabel = "fraction" if panel_keys[0].endswith("_frac") else "value"
        _finish(ax, title, ylabel, legend=shared or not single)
        if ylabel == "fraction":
            ax.set_ylim(-0.03, 1.03)
    return figure


def _new_figure(panels: int) -> tuple[Figure, list[Any]]:
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    # A bare Figure on an Agg canvas: no pyplot state and no display needed, so it runs on a headless node.
    figure = Figure(figsize=(5.6 * columns if columns > 1 else 8.0, 4.0 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[panels:]:
        ax.set_visible(False)
    return figure, axes[:panels]


def _line(
    ax: Any, steps: np.ndarray, values: np.ndarray, label: str, colour: str, show_label: bool, dash_index: int = 0
) -> None:
    if steps.size == 0:
        return
    marker = "o" if steps.size <= 40 else None  # markers on sparse logs show where the real points are
    ax.plot(
        steps,
        values,
        color=colour,
        marker=marker,
        markersize=3,
        linewidth=1.4,
        # Metrics sharing a panel can coincide (kept_frac is negative_frac under NSR): dashes keep both visible.
        linestyle=LINESTYLES[dash_index % len(LINESTYLES)],
        label=label if show_label else None,
    )


def _mark_nonfinite(ax: Any, steps: Sequence[float], colour: str) -> None:
    """A dotted red line at each step whose value was NaN or infinite, which a line plot would silently skip."""
    for index, step in enumerate(steps):
        label = "NaN / inf logged" if index == 0 else None
        ax.axvline(step, color="red", linestyle=":", linewidth=1.2, label=label)
        ax.plot([step], [0.0], marker="x", color=colour, transform=ax.get_xaxis_transform(), clip_on=False)


def _spread(ax: Any, history: Sequence[Mapping[str, Any]], mean_key: str, std_key: str, colour: str) -> None:
    by_step_mean = dict(zip(*metric_series(history, mean_key), strict=True))
    steps, stds = metric_series(history, std_key)
    paired = [(step, by_step_mean[step], std) for step, std in zip(steps, stds, strict=True) if step in by_step_mean]
    if paired:
        step, mean, std = (np.array(column) for column in zip(*paired, strict=True))
        ax.fill_between(step, mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)


def _finish(ax: Any, title: str, ylabel: str, legend: bool) -> None:
    ax.set_title(title)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0] and (legend or "NaN / inf logged" in ax.get_legend_handles_labels()[1]):
        ax.legend(loc="best", fontsize="small")


def write_plots(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], output_dir: Path, prefix: str = "", heading: str = ""
) -> tuple[list[Path], list[str]]:
    """Save every plot whose metrics were logged, ``heading`` (the run's mode and name) above each; return the files
    written and a note per plot skipped."""
    check_output_folder(output_dir, "--output")
    output_dir.mkdir(parents=True, exist_ok=True)
    if not any(runs.values()):
        return [], ["no plots: nothing was logged"]
    figures: list[tuple[str, Figure | None, str]] = [
        (plot.file_name, plot_metric(runs, plot), f"'{plot.key}' was not logged") for plot in SINGLE_PLOTS
    ]
    figures.append(("rewards.png", plot_rewards(runs), "neither 'reward' nor 'rewards/<function>/mean' was logged"))
    figures.append(
        (
            "objective.png",
            plot_objective(runs),
            "no 'objective/*' metrics were logged (an SFT run, or a run without our trainer)",
        )
    )
    written, notes = [], []
    for file_name, figure, why_missing in figures:
        if figure is None:
            notes.append(f"skipped {prefix}{file_name}: {why_missing}")
            continue
        if heading:
            figure.suptitle(heading)
        path = output_dir / f"{prefix}{file_name}"
        temporary = path.with_name(f".{path.name}.tmp.png")  # a reader never sees half a plot
        figure.savefig(temporary, dpi=150)
        temporary.replace(path)
        written.append(path)
    return written, notes


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Plot training curves and summarise a run's trainer_state.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--checkpoint-dir", type=Path, help="run folder (newest checkpoint-N is used) or checkpoint")
    parser.add_argument("--compare", action="store_true", help="overlay several runs (with --checkpoints)")
    parser.add_argument("--checkpoints", nargs="+", type=Path, help="run or checkpoint folders to compare")
    parser.add_argument("--labels", nargs="+", help="one label per --checkpoints folder (default: folder names)")
    parser.add_argument(
        "--output",
        "--output-dir",
        dest="output_dir",
        type=Path,
        help="folder the plots go to (<run>/monitor, or monitor_comparison with --compare, when omitted)",
    )
    return finish_parser(parser)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.compare or args.checkpoints:
        if args.checkpoint_dir is not None:
            raise UserError("give either --checkpoint-dir (one run) or --compare --checkpoints (several), not both")
        if not args.checkpoints:
            raise UserError("--compare needs --checkpoints <run1> <run2> ...")
        return _compare(args.checkpoints, args.labels, args.output_dir or Path("monitor_comparison"))
    if args.checkpoint_dir is None:
        raise UserError("give --checkpoint-dir <run folder>, or --compare --checkpoints <run1> <run2> ...")
    if args.labels:
        raise UserError("--labels goes with --compare --checkpoints")
    return _monitor_one(args.checkpoint_dir, args.output_dir)


def _monitor_one(checkpoint_dir: Path, output_dir: Path | None) -> int:
    state_path, state = resolve_trainer_state(checkpoint_dir)
    output_dir = output_dir or run_folder_of(checkpoint_dir) / "monitor"
    history = state["log_history"]
    name, mode = run_folder_of(checkpoint_dir).resolve().name, recorded_mode(state_path)
    heading = f"{mode.upper() if mode else 'mode unknown'} run {name}"
    written, notes = write_plots({name: history}, output_dir, heading=heading)
    title = f"Training summary: {state_path} (global_step {_global_step(state)})"
    summary = summarize(history, title=title, mode=mode)
    if not history:
        summary += "\n" + why_nothing_was_logged(state)
    _report(summary, notes, written, output_dir)
    return 0


def _compare(checkpoints: Sequence[Path], labels: Sequence[str] | None, output_dir: Path) -> int:
    labels = list(labels) if labels else [run_folder_of(path).name for path in checkpoints]
    if len(labels) != len(checkpoints):
        raise UserError(f"--labels has {len(labels)} labels for {len(checkpoints)} --checkpoints folders")
    if len(set(labels)) != len(labels):
        raise UserError(f"labels must differ, got {labels}; name the runs with --labels")
    runs: dict[str, list[dict[str, Any]]] = {}
    sections, described = [], []
    for label, path in zip(labels, checkpoints, strict=True):
        state_path, state = resolve_trainer_state(path)
        runs[label] = state["log_history"]
        mode = recorded_mode(state_path)
        described.append(f"{label} ({mode.upper() if mode else 'mode unknown'})")
        title = f"{label}: {state_path} (global_step {_global_step(state)})"
        section = summarize(runs[label], title=title, mode=mode)
        sections.append(section + ("\n" + why_nothing_was_logged(state) if not runs[label] else ""))
    written, notes = write_plots(runs, output_dir, prefix="comparison_", heading="Runs: " + ", ".join(described))
    _report("\n\n".join(sections), notes, written, output_dir)
    return 0


def _report(summary: str, notes: Sequence[str], written: Sequence[Path], output_dir: Path) -> None:
    text = summary + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
    summary_path = output_dir / "summary.txt"
    write_atomically(summary_path, text)
    print(text, end="")
    print("wrote " + ", ".join(str(path) for path in [*written, summary_path]))


if __name__ == "__main__":
    sys.exit(main())
