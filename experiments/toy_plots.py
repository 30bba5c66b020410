"""Figures of experiments/objectives_toy.py: Pass@k curves (absolute and minus the base) and entropy over steps.

Bands are mean ± std over RL seeds; the base model, a single run, shows its 95% bootstrap interval over problems
instead. Colours and markers are the ones evaluation/plotting.py gives each method everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rlvr.methods import assign_styles

BASE = "base"


def _new_figure(panels: int) -> tuple[Figure, list]:
    figure = Figure(figsize=(6.4 * panels, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, list(figure.subplots(1, panels, squeeze=False).ravel())


def _seed_matrix(summary: Mapping[str, Any], method: str, ks: list[str]) -> dict[int, np.ndarray]:
    """Seed -> Pass@k over ``ks`` for the runs of one arm."""
    runs = [run for run in summary["runs"].values() if run["method"] == method]
    return {run["seed"]: np.array([run["pass_at_k"][k] for k in ks]) for run in runs}


def _mean_and_std(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    values = np.array(rows)
    return values.mean(axis=0), values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])


def plot_pass_at_k(summary: Mapping[str, Any], output: Path) -> None:
    """Left: Pass@k of the base, each objective (solid, ±std over seeds) and its shuffled control (dotted).
    Right: each objective minus its shuffled control, paired by seed: what the reward itself did."""
    ks = sorted(summary["runs"][BASE]["pass_at_k"], key=int)
    x = np.array([int(k) for k in ks])
    styles = assign_styles(summary["methods"])
    control_of = {
        target: control
        for control, target in summary.get("controls", {}).items()
        if target != BASE and target in summary["aggregate"] and control in summary["aggregate"]
    }
    figure, (absolute, relative) = _new_figure(2)
    base_run = summary["runs"][BASE]
    base = styles[BASE]
    low, high = ([base_run["confidence_intervals"][k][side] for k in ks] for side in (0, 1))
    absolute.plot(x, [base_run["pass_at_k"][k] for k in ks], color=base.colour, marker=base.marker, linestyle="--",
                  label="base (95% CI)")  # fmt: skip
    absolute.fill_between(x, low, high, color=base.colour, alpha=0.10, linewidth=0)
    relative.axhline(0.0, color="black", linestyle="--", linewidth=1.0, label="no difference")
    for method, control in control_of.items():
        style = styles[method]
        line = {"color": style.colour, "marker": style.marker}
        ours, theirs = _seed_matrix(summary, method, ks), _seed_matrix(summary, control, ks)
        mean, std = _mean_and_std(list(ours.values()))
        absolute.plot(x, mean, label=f"{method} (±std, {len(ours)} seeds)", **line)
        absolute.fill_between(x, mean - std, mean + std, color=style.colour, alpha=0.15, linewidth=0)
        control_mean, _ = _mean_and_std(list(theirs.values()))
        absolute.plot(x, control_mean, linestyle=":", color=style.colour, label=f"{method}, rewards shuffled")
        paired = [ours[seed] - theirs[seed] for seed in sorted(set(ours) & set(theirs))]
        mean, std = _mean_and_std(paired)
        relative.plot(x, mean, label=f"{method} - shuffled (±std)", **line)
        relative.fill_between(x, mean - std, mean + std, color=style.colour, alpha=0.15, linewidth=0)
    for axes in (absolute, relative):
        axes.set_xscale("log", base=2)
        axes.set_xticks(x, [str(k) for k in x])
        axes.minorticks_off()
        axes.set_xlabel("k (samples per problem, log2 scale)")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize=7)
    absolute.set_ylabel("Pass@k")
    absolute.set_title("Pass@k on held-out problems")
    relative.set_ylabel("Pass@k of the objective minus its shuffled control")
    relative.set_title("What the rewards did, beyond the drift of training")
    figure.savefig(output, dpi=150, bbox_inches="tight")


def plot_entropy(summary: Mapping[str, Any], output: Path) -> None:
    """Mean per-token policy entropy on held-out prompts against the RL step, mean ± std over seeds."""
    styles = assign_styles(summary["methods"])
    figure, (axes,) = _new_figure(1)
    for method in summary["methods"]:
        curve = summary["aggregate"][method]["entropy_curve"]
        if method == BASE or not curve:
            continue
        steps = np.array([step for step, _ in curve])
        mean = np.array([stats["mean"] for _, stats in curve])
        std = np.array([stats["std"] or 0.0 for _, stats in curve])
        style = styles[method]
        axes.plot(steps, mean, color=style.colour, marker=style.marker, label=method)
        axes.fill_between(steps, mean - std, mean + std, color=style.colour, alpha=0.18, linewidth=0)
    axes.set_xlabel("RL step (0 = SFT warm start)")
    axes.set_ylabel("mean per-token entropy (nats)")
    axes.set_title("Policy entropy on held-out prompts (±std over seeds)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    figure.savefig(output, dpi=150, bbox_inches="tight")


def plot_dynamics(summary: Mapping[str, Any], output: Path) -> None:
    """Pass@1 and Pass@16 of each objective from the warm start through its saved checkpoints to the end (the paper's
    training-dynamics figure), mean ± std over seeds."""
    objectives = [method for method in summary["methods"] if summary["aggregate"][method]["dynamics"]]
    if not objectives:
        return
    styles = assign_styles(summary["methods"])
    base = summary["runs"][BASE]["pass_at_k"]
    last_slot = summary["settings"]["rollouts"] * summary["settings"]["slots_per_rollout"]
    figure, panels = _new_figure(2)
    for axes, k in zip(panels, ("1", "16"), strict=True):
        for method in objectives:
            aggregate = summary["aggregate"][method]
            saved = sorted((int(step), values[k]) for step, values in aggregate["dynamics"].items())
            points = [(0, {"mean": base[k], "std": 0.0}), *saved, (last_slot, aggregate["pass_at_k"][k])]
            steps = np.array([step for step, _ in points])
            mean = np.array([values["mean"] for _, values in points])
            std = np.array([values["std"] or 0.0 for _, values in points])
            style = styles[method]
            axes.plot(steps, mean, color=style.colour, marker=style.marker, label=method)
            axes.fill_between(steps, mean - std, mean + std, color=style.colour, alpha=0.15, linewidth=0)
        axes.axhline(base[k], color="black", linestyle="--", linewidth=1.0, label="base")
        axes.set_xlabel("update slot")
        axes.set_ylabel(f"Pass@{k} on held-out problems")
        axes.set_title(f"Pass@{k} during training (±std over seeds)")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="best", fontsize=8)
    figure.savefig(output, dpi=150, bbox_inches="tight")
