"""Training plots from log histories: one run, or several overlaid for comparison. Each plot takes
{label: log_history}; a metric never logged gives no plot, and a NaN or infinite value is marked, not dropped."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rlvr.files import check_output_folder, claim_output, figure_metadata, write_output
from rlvr.locks import OutputLock
from rlvr.methods import assign_styles
from rlvr.output_names import shown
from trainers.monitor_log import (
    OBJECTIVE_PREFIX,
    REWARD_FUNCTION_MEAN,
    describe_non_numeric,
    metric_series,
    non_numeric_values,
    nonfinite_steps,
    objective_keys,
    reward_function_names,
)

MONITOR_LOCK_FILE = ".monitor.lock"
MONITOR_MAKER = "monitor_training.py"  # the mark on the files the monitor writes
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "x", "+")
MAX_MARKERS = 40  # per series: enough to see where the logged points are, few enough to see the line


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
# Plots of what a run logs only when asked to (--log-kl or --beta above 0, --eval-steps): no note when absent.
KL_PLOT = SinglePlot("kl.png", "kl", "KL to the start model (per token)", "KL (nats per token)")
EVAL_PASS_AT_K = re.compile(r"^eval/pass@(\d+)$")  # trainers/training_eval.py, --eval-steps


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


def plot_eval_pass_at_k(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure | None:
    """Held-out Pass@k over the training steps: one run, a line per k in one panel; several, a panel per k."""
    found = {
        int(match.group(1))
        for history in runs.values()
        for entry in history
        for key in entry
        if (match := EVAL_PASS_AT_K.match(key))
    }
    if not found:
        return None
    ks = sorted(found)
    single = len(runs) == 1
    panels = [ks] if single else [[k] for k in ks]
    figure, axes = _new_figure(len(panels))
    styles = assign_styles(list(runs))
    for ax, panel_ks in zip(axes, panels, strict=True):
        for label, history in runs.items():
            for index, k in enumerate(panel_ks):
                steps, values = metric_series(history, f"eval/pass@{k}")
                if single:
                    _line(ax, steps, values, f"pass@{k}", f"C{index % 10}", True, index)
                else:
                    _line(ax, steps, values, label, styles[label].colour, show_label=True)
        title = "Held-out Pass@k (unbiased estimator)" if single else f"Held-out Pass@{panel_ks[0]}"
        _finish(ax, title, "Pass@k", legend=True)
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
    """One series. Series sharing a panel can coincide exactly (kept_frac is negative_frac under NSR, and
    positive_frac is 0 throughout), so each one of them gets its own dash and hollow marker shape, the later ones
    smaller: where two coincide, both shapes show one inside the other."""
    if steps.size == 0:
        return
    ax.plot(
        steps,
        values,
        color=colour,
        marker=MARKERS[dash_index % len(MARKERS)],
        markevery=max(1, steps.size // MAX_MARKERS),
        markersize=max(2.5, 6.5 - 1.2 * dash_index),
        markerfacecolor="none",
        linewidth=1.4,
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


def draw_plots(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], prefix: str = "", heading: str = ""
) -> tuple[dict[str, Figure], list[str]]:
    """Every plot whose metrics were logged, by file name, ``heading`` (the run's mode and name) above each; and a
    note per plot skipped."""
    if not any(runs.values()):
        return {}, ["no plots: nothing was logged"]
    candidates: list[tuple[str, Figure | None, str]] = [
        (plot.file_name, plot_metric(runs, plot), _why_not_plotted(runs, plot.key)) for plot in SINGLE_PLOTS
    ]
    candidates.append(("rewards.png", plot_rewards(runs), "neither 'reward' nor 'rewards/<function>/mean' was logged"))
    candidates.append(
        (
            "objective.png",
            plot_objective(runs),
            "no 'objective/*' metrics were logged (an SFT run, or a run without our trainer)",
        )
    )
    optional = [(KL_PLOT.file_name, plot_metric(runs, KL_PLOT)), ("eval_pass_at_k.png", plot_eval_pass_at_k(runs))]
    candidates += [(file_name, figure, "") for file_name, figure in optional if figure is not None]
    figures, notes = {}, []
    for file_name, figure, why_missing in candidates:
        if figure is None:
            notes.append(f"skipped {prefix}{file_name}: {why_missing}")
            continue
        if heading:
            figure.suptitle(heading)
        figures[prefix + file_name] = figure
    return figures, notes


def _why_not_plotted(runs: Mapping[str, Sequence[Mapping[str, Any]]], key: str) -> str:
    """Why a key has no plot: never logged, or logged only as something other than a number."""
    for history in runs.values():
        found = non_numeric_values(history, key)
        if found:
            return describe_non_numeric(key, found)
    return f"'{key}' was not logged"


def claim_monitor_folder(output_dir: Path) -> OutputLock:
    """The lock of one monitor per output folder (``.monitor.lock`` in it), taken before the run is read."""
    folder = check_output_folder(output_dir, "--output")
    return OutputLock(folder / MONITOR_LOCK_FILE, f"--output {shown(output_dir)}")


def claim_monitor_outputs(output_dir: Path, file_names: Sequence[str], overwrite: bool) -> AbstractContextManager:
    """``with claim_monitor_outputs(...) as paths:`` every file about to be written in the output folder is locked,
    then checked: new, drawn by the monitor before, or --overwrite given (``claim_output``). All are checked before
    any is written, so a refusal leaves the folder as it was; the locks are held until the last one is in place."""
    folder = check_output_folder(output_dir, "--output")
    return claim_output([folder / name for name in file_names], "--output", overwrite=overwrite, maker=MONITOR_MAKER)


def save_plots(figures: Mapping[str, Figure], folder: Path) -> list[Path]:
    """Each figure as a PNG marked as the monitor's, through a temporary file so a reader never sees half a plot."""
    written = []
    for file_name, figure in figures.items():
        path = folder / file_name
        metadata = figure_metadata(MONITOR_MAKER, ".png")
        write_output(path, functools.partial(figure.savefig, dpi=150, metadata=metadata))
        written.append(path)
    return written
