"""Figures of the three-strategy experiment, one panel per learning rate; lines are means over SFT seeds.

- ``three_strategy_pass_at_k.png``: carry Pass@k at the end of every objective, and the bases;
- ``three_strategy_trajectories.png``: carry Pass@64 against Pass@1 on the training mix along each run (the matched
  comparison's plane), from the base at the origin of every line;
- ``three_strategy_p_y.png``: P(Y) on carry problems at each checkpoint.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rlvr.files import write_output
from rlvr.methods import assign_styles

SHOWN = ("grpo", "psr", "nsr", "w-reinforce", "nsr-compacted", "sr")


def _panels(count: int) -> tuple[Figure, list]:
    figure = Figure(figsize=(6.0 * count, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, list(figure.subplots(1, count, squeeze=False).ravel())


def _mean_over_seeds(by_seed: dict[str, list[dict]], value) -> np.ndarray:
    return np.mean([[value(point) for point in points] for points in by_seed.values()], axis=0)


def plot_all(summary: dict[str, Any], results_dir: Path) -> None:
    rates = list(summary["rates"])
    labels = [label for label in SHOWN if any(label in part["trajectories"] for part in summary["rates"].values())]
    styles = assign_styles(["base", *labels])
    ks = [int(k) for k in next(iter(summary["bases"].values()))["carry_pass_at_k"]]
    base_curve = np.mean([[base["carry_pass_at_k"][str(k)] for k in ks] for base in summary["bases"].values()], 0)

    figure, axes = _panels(len(rates))
    for panel, rate in zip(axes, rates, strict=True):
        panel.plot(ks, base_curve, color=styles["base"].colour, linestyle="--", marker="o", label="base")
        for label in labels:
            by_seed = summary["rates"][rate]["trajectories"].get(label)
            if by_seed:
                curve = np.mean(
                    [[points[-1]["carry_pass_at_k"][str(k)] for k in ks] for points in by_seed.values()], 0
                )
                panel.plot(ks, curve, color=styles[label].colour, marker=styles[label].marker, label=label)
        panel.set(xscale="log", xlabel="k", ylabel="carry Pass@k (temperature 1)", title=f"learning rate {rate}")
        panel.set_xscale("log", base=2)
        panel.grid(True, alpha=0.3)
        panel.legend(fontsize=8)
    write_output(results_dir / "three_strategy_pass_at_k.png", functools.partial(figure.savefig, dpi=110))

    for name, x_of, y_of, x_label, y_label in (
        (
            "trajectories",
            lambda p: p["pass1_mix"],
            lambda p: p["carry_pass64"],
            "Pass@1 (training mix)",
            "carry Pass@64",
        ),
        ("p_y", lambda p: p["step"], lambda p: p["p_y_carries"], "update slot", "P(Y) on carry problems"),
    ):
        figure, axes = _panels(len(rates))
        for panel, rate in zip(axes, rates, strict=True):
            for label in labels:
                by_seed = summary["rates"][rate]["trajectories"].get(label)
                if not by_seed:
                    continue
                xs, ys = _mean_over_seeds(by_seed, x_of), _mean_over_seeds(by_seed, y_of)
                panel.plot(xs, ys, color=styles[label].colour, marker=styles[label].marker, label=label)
            panel.set(xlabel=x_label, ylabel=y_label, title=f"learning rate {rate}")
            panel.grid(True, alpha=0.3)
            panel.legend(fontsize=8)
        write_output(results_dir / f"three_strategy_{name}.png", functools.partial(figure.savefig, dpi=110))
