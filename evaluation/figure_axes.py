"""The figure and the k axis shared by the Pass@k plots (evaluation/plotting.py) and the difference plot
(evaluation/difference_plot.py)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure() -> tuple[Figure, Axes]:
    # A bare Figure on an Agg canvas: no pyplot state, no display needed, nothing to close.
    figure = Figure(figsize=(7.0, 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def set_log2_k_axis(ax: Axes, ks: np.ndarray) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(int(k)) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("k (samples per problem, log2 scale)")
