"""Figures of the two-procedure experiment: Pass@k of every objective, P(Y) during training, Pass@64 against KL.

Lines are means over runs (SFT seeds x RL seeds), bands ± one standard deviation; the base is the mean of the bases.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.two_procedure.claims import LARGE_K, pass_at
from rlvr.files import write_output
from rlvr.methods import assign_styles


def _new_figure(panels: int) -> tuple[Figure, list]:
    figure = Figure(figsize=(6.0 * panels, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, list(figure.subplots(1, panels, squeeze=False).ravel())


def _band(axes, x, rows: list[list[float]], label: str, style, linestyle: str = "-") -> None:
    values = np.array(rows)
    mean = values.mean(axis=0)
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros_like(mean)
    axes.plot(x, mean, color=style.colour, marker=style.marker, linestyle=linestyle, label=label)
    axes.fill_between(x, mean - std, mean + std, color=style.colour, alpha=0.12, linewidth=0)


def _finish(axes, xlabel: str, ylabel: str, title: str, log_x: bool = False) -> None:
    if log_x:
        axes.set_xscale("log", base=2)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=7)


def plot_pass_at_k(summary: Mapping[str, Any], output: Path) -> None:
    ks = [k for k in summary["settings"]["k_values"] if k <= summary["settings"]["num_samples"]]
    styles = assign_styles(["base", *summary["objectives"]])
    figure, panels = _new_figure(2)
    for axes, carry_only, title in zip(
        panels, (False, True), ("every held-out problem", "problems that carry"), strict=True
    ):

        def curve(point: Mapping[str, Any], carry_only: bool = carry_only) -> list[float]:
            return [pass_at(k, carry_only)(point).mean() for k in ks]

        _band(axes, ks, [curve(base["points"][0]) for base in summary["bases"]], "base", styles["base"], "--")
        for label in summary["objectives"]:
            runs = [run for run in summary["runs"] if run["arm"] == label]
            if runs:
                _band(axes, ks, [curve(run["points"][-1]) for run in runs], label, styles[label])
        _finish(axes, "k (log2 scale)", "Pass@k", f"Pass@k, {title}", log_x=True)
    write_output(output, functools.partial(figure.savefig, dpi=120, bbox_inches="tight"))


def plot_strategy(summary: Mapping[str, Any], output: Path) -> None:
    """P(Y) on problems that carry at the base, the middle checkpoint and the end, objectives and controls."""
    arms = [label for label in summary["arms"] if any(run["arm"] == label for run in summary["runs"])]
    styles = assign_styles(["base", *arms])
    base = np.mean([b["points"][0]["p_y_carries"] for b in summary["bases"]])
    figure, panels = _new_figure(2)
    for axes, controls in zip(panels, (False, True), strict=True):
        for label in arms:
            arm = summary["arms"][label]
            if (arm["control_of"] is not None or arm.get("control_kind") is not None) != controls:
                continue
            runs = [run for run in summary["runs"] if run["arm"] == label]
            middle = point_count(runs[0])
            x = [0, *(point["step"] if point["step"] >= 0 else 2 * middle for point in runs[0]["points"])]
            rows = [[base, *(point["p_y_carries"] for point in run["points"])] for run in runs]
            _band(axes, x, rows, label, styles[label], ":" if controls else "-")
        axes.axhline(base, color="black", linestyle="--", linewidth=1.0, label="base")
        _finish(axes, "update slot", "P(Y) on problems that carry (T=1)", "controls" if controls else "objectives")
    write_output(output, functools.partial(figure.savefig, dpi=120, bbox_inches="tight"))


def point_count(run: Mapping[str, Any]) -> int:
    """The middle checkpoint's slot, so the end sits at twice it."""
    steps = [point["step"] for point in run["points"] if point["step"] >= 0]
    return steps[0] if steps else 1


def plot_kl(summary: Mapping[str, Any], output: Path) -> None:
    """Pass@64 on problems that carry against KL(policy || base): every run's middle and end."""
    styles = assign_styles(["base", *summary["objectives"]])
    figure, (axes,) = _new_figure(1)
    for label in summary["objectives"]:
        runs = [run for run in summary["runs"] if run["arm"] == label]
        points = [point for run in runs for point in run["points"]]
        if points:
            axes.scatter(
                [p["kl_to_base"] for p in points],
                [pass_at(LARGE_K, True)(p).mean() for p in points],
                color=styles[label].colour,
                marker=styles[label].marker,
                label=label,
                s=18,
            )
    _finish(
        axes,
        "KL(policy || base), nats per completion",
        f"Pass@{LARGE_K}, problems that carry",
        "Objectives at the same distance from the base",
    )
    write_output(output, functools.partial(figure.savefig, dpi=120, bbox_inches="tight"))


def plot_all(summary: Mapping[str, Any], folder: Path) -> None:
    plot_pass_at_k(summary, folder / "objectives_toy_pass_at_k.png")
    plot_strategy(summary, folder / "objectives_toy_strategy.png")
    plot_kl(summary, folder / "objectives_toy_kl.png")
