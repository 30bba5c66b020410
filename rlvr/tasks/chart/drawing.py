"""Drawing the synthetic charts: one reused matplotlib Agg figure, a drawer per chart type, PNG bytes out."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image as PILImage

from rlvr.tasks.chart.chart_data import ChartData

IMAGE_PIXELS = 256
DPI = 64
FONT_SIZE = 8
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


class ChartRenderer:
    """Draws charts on one reused Agg figure (creating a figure per chart costs more than the drawing)."""

    def __init__(self) -> None:
        inches = IMAGE_PIXELS / DPI
        self.figure = Figure(figsize=(inches, inches), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)

    def png(self, chart: ChartData) -> bytes:
        # Fresh axes each time: a reused, cleared one keeps some state (a pie's equal aspect) into the next chart.
        self.figure.clear()
        axes = self.figure.add_subplot()
        DRAWERS[chart.chart_type](axes, chart)
        # An explicit y skips matplotlib's title placement, which measures every tick label.
        axes.set_title(chart.title, fontsize=FONT_SIZE + 1, y=1.0, pad=4)
        axes.tick_params(labelsize=FONT_SIZE - 1)
        if chart.chart_type != "pie":
            axes.spines[["top", "right"]].set_visible(False)
            value_axis = axes.xaxis if chart.chart_type == "horizontal bar" else axes.yaxis
            value_axis.set_major_locator(MaxNLocator(5))  # fewer ticks: tick objects are costly to build
        self.figure.subplots_adjust(**MARGINS[chart.chart_type])
        self.canvas.draw()
        pixels = np.asarray(self.canvas.buffer_rgba())[:, :, :3]
        buffer = io.BytesIO()
        PILImage.fromarray(pixels).save(buffer, format="PNG")
        return buffer.getvalue()


def _labels(chart: ChartData, values: tuple[int, ...]) -> list[str]:
    return [chart.show(v) for v in values]


def _numbers(chart: ChartData, values: tuple[int, ...]) -> np.ndarray:
    return np.asarray(values, dtype=float) / 10**chart.decimals


def _draw_bars(axes, chart: ChartData) -> None:
    positions = np.arange(len(chart.categories))
    bars = axes.bar(positions, _numbers(chart, chart.values[0]), color=PALETTE[0], width=0.65)
    axes.bar_label(bars, labels=_labels(chart, chart.values[0]), fontsize=FONT_SIZE - 1, padding=1)
    _category_ticks(axes, chart, positions)
    axes.set_ylabel(chart.measure.capitalize(), fontsize=FONT_SIZE)
    axes.margins(y=0.15)


def _draw_grouped_bars(axes, chart: ChartData) -> None:
    positions = np.arange(len(chart.categories))
    width = 0.8 / len(chart.series)
    for s, (name, values) in enumerate(zip(chart.series, chart.values, strict=True)):
        offset = (s - (len(chart.series) - 1) / 2) * width
        bars = axes.bar(positions + offset, _numbers(chart, values), width=width, color=PALETTE[s], label=name)
        axes.bar_label(bars, labels=_labels(chart, values), fontsize=FONT_SIZE - 2, padding=1)
    _category_ticks(axes, chart, positions)
    axes.set_ylabel(chart.measure.capitalize(), fontsize=FONT_SIZE)
    axes.legend(
        fontsize=FONT_SIZE - 2, frameon=False, ncols=len(chart.series), loc="upper center", bbox_to_anchor=(0.5, 1.0)
    )
    axes.margins(y=0.3)


def _draw_horizontal_bars(axes, chart: ChartData) -> None:
    positions = np.arange(len(chart.categories))
    bars = axes.barh(positions, _numbers(chart, chart.values[0]), color=PALETTE[2], height=0.65)
    axes.bar_label(bars, labels=_labels(chart, chart.values[0]), fontsize=FONT_SIZE - 1, padding=2)
    axes.set_yticks(positions, chart.categories)
    axes.invert_yaxis()  # first category on top, as a table reads
    axes.set_xlabel(chart.measure.capitalize(), fontsize=FONT_SIZE)
    axes.margins(x=0.2)


def _draw_line(axes, chart: ChartData) -> None:
    positions = np.arange(len(chart.categories))
    numbers = _numbers(chart, chart.values[0])
    axes.plot(positions, numbers, marker="o", markersize=3, color=PALETTE[3], linewidth=1.5)
    for x, y, text in zip(positions, numbers, _labels(chart, chart.values[0]), strict=True):
        axes.annotate(text, (x, y), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=FONT_SIZE - 1)
    _category_ticks(axes, chart, positions)
    axes.set_ylabel(chart.measure.capitalize(), fontsize=FONT_SIZE)
    axes.margins(x=0.08, y=0.2)


def _draw_pie(axes, chart: ChartData) -> None:
    labels = [f"{c}\n{v}" for c, v in zip(chart.categories, _labels(chart, chart.values[0]), strict=True)]
    axes.pie(
        _numbers(chart, chart.values[0]),
        labels=labels,
        colors=PALETTE[: len(chart.categories)],
        startangle=90,
        counterclock=False,
        labeldistance=1.15,
        textprops={"fontsize": FONT_SIZE - 1},
        wedgeprops={"linewidth": 0.8, "edgecolor": "white"},
    )
    axes.set_aspect("equal")


def _category_ticks(axes, chart: ChartData, positions: np.ndarray) -> None:
    rotate = (len(chart.categories) > 4 and chart.category_singular != "year") or len(chart.categories) > 6
    axes.set_xticks(positions, chart.categories, rotation=35 if rotate else 0, ha="right" if rotate else "center")


# Fixed per chart type: matplotlib's tight_layout would measure every label and cost half the drawing time.
MARGINS = {
    "bar": {"left": 0.17, "right": 0.97, "bottom": 0.17, "top": 0.91},
    "grouped bar": {"left": 0.17, "right": 0.97, "bottom": 0.17, "top": 0.91},
    "horizontal bar": {"left": 0.22, "right": 0.95, "bottom": 0.13, "top": 0.91},
    "line": {"left": 0.17, "right": 0.97, "bottom": 0.17, "top": 0.91},
    "pie": {"left": 0.12, "right": 0.88, "bottom": 0.08, "top": 0.86},
}
DRAWERS = {
    "bar": _draw_bars,
    "grouped bar": _draw_grouped_bars,
    "horizontal bar": _draw_horizontal_bars,
    "line": _draw_line,
    "pie": _draw_pie,
}
