"""Figures from Pass@k results files: curves with interval bands, a grid per dataset, improvement, bars.

Run from the repository root (``python evaluation/plotting.py --results r1.json r2.json --labels A B --output
out.png``; ``--differences diff.json`` draws compare.py's differences, evaluation/difference_plot.py) or import
``evaluation.plotting``; every plot function returns a matplotlib Figure, and the command line
saves it as PNG and PDF. Each method name keeps its colour and marker in every figure.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evaluation.difference_plot import load_differences, plot_differences
from evaluation.figure_axes import new_figure, set_log2_k_axis
from evaluation.results_file import load_results, method_name_of
from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output, figure_metadata, output_path, write_output
from rlvr.methods import MethodStyle, assign_styles
from rlvr.plot_labels import check_plot_labels
from rlvr.ranges import POSITIVE_INT, check_ranges

PLOT_KINDS = ("curves", "grid", "improvement", "bars")
DEFAULT_BAR_K = (1, 16, 256)
PLOTTING_MAKER = "evaluation/plotting.py"  # the mark on the figures this command writes


@dataclass(frozen=True)
class Curve:
    """Pass@k against k for one method (or one group of its problems), sorted by k; bounds NaN where absent."""

    k: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def at(self, k: int) -> float | None:
        matches = np.flatnonzero(self.k == k)
        return float(self.value[matches[0]]) if matches.size else None


def curve_of(results: dict[str, Any]) -> Curve:
    """The curve of a results object or of one breakdown group (same keys: pass_at_k, confidence_intervals)."""
    ks = sorted(int(k) for k in results["pass_at_k"])
    intervals = results.get("confidence_intervals", {})
    bounds = [intervals.get(str(k), [math.nan, math.nan]) for k in ks]
    return Curve(
        k=np.array(ks, dtype=np.int64),
        value=np.array([results["pass_at_k"][str(k)] for k in ks], dtype=np.float64),
        low=np.array([bound[0] for bound in bounds], dtype=np.float64),
        high=np.array([bound[1] for bound in bounds], dtype=np.float64),
    )


# ---------------------------------------------------------------------------------------------------------------
# Figures


def plot_pass_at_k_curves(
    results: Sequence[dict[str, Any]], labels: Sequence[str], title: str | None = None
) -> Figure:
    """Pass@k against k (log2 axis) per method, with its confidence interval as a shaded band."""
    _check_labels(results, labels)
    figure, ax = new_figure()
    styles = assign_styles(labels)
    for one_results, label in zip(results, labels, strict=True):
        _draw_curve(ax, curve_of(one_results), label, styles[label])
    _finish_pass_at_k_axes(ax, [curve_of(one_results) for one_results in results])
    ax.set_title(title or "Pass@k")
    ax.legend(loc="lower right")
    return figure


def plot_dataset_grid(results: Sequence[dict[str, Any]], labels: Sequence[str], title: str | None = None) -> Figure:
    """One Pass@k panel per dataset in the results' breakdown, every method in every panel."""
    _check_labels(results, labels)
    datasets = sorted({name for one in results for name in one.get("breakdown", {}).get("dataset", {})})
    if not datasets:
        raise UserError("no per-dataset breakdown in the results (the samples carried no 'dataset' field)")
    columns = min(3, len(datasets))
    rows = math.ceil(len(datasets) / columns)
    figure = Figure(figsize=(4.6 * columns, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    styles = assign_styles(labels)
    for ax, dataset in zip(axes, datasets, strict=False):
        curves = []
        problems = set()
        for one_results, label in zip(results, labels, strict=True):
            group = one_results.get("breakdown", {}).get("dataset", {}).get(dataset)
            if group is None or not group.get("pass_at_k"):
                continue
            curves.append(curve_of(group))
            problems.add(group.get("num_problems"))
            _draw_curve(ax, curves[-1], label, styles[label])
        _finish_pass_at_k_axes(ax, curves)
        count = f" ({problems.pop()} problems)" if len(problems) == 1 and None not in problems else ""
        ax.set_title(f"{dataset}{count}")
    for ax in axes[len(datasets) :]:
        ax.set_visible(False)
    handles, legend_labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, legend_labels, loc="outside lower center", ncols=min(len(labels), 7))
    figure.suptitle(title or "Pass@k by dataset")
    return figure


def plot_improvement(
    results: Sequence[dict[str, Any]], labels: Sequence[str], baseline: str, title: str | None = None
) -> Figure:
    """Pass@k of each method minus the baseline's, at the k both report; 0 means no change."""
    _check_labels(results, labels)
    if baseline not in labels:
        raise UserError(f"baseline {baseline!r} is not one of the labels {list(labels)}")
    curves = dict(zip(labels, (curve_of(one) for one in results), strict=True))
    reference = curves[baseline]
    figure, ax = new_figure()
    styles = assign_styles(labels)
    drawn: list[Curve] = []
    for label, curve in curves.items():
        if label == baseline:
            continue
        common = np.intersect1d(curve.k, reference.k)
        if common.size == 0:
            raise UserError(f"{label} and the baseline {baseline} share no k value")
        difference = np.array([curve.at(k) - reference.at(k) for k in common])  # type: ignore[operator]
        style = styles[label]
        ax.plot(common, difference, label=label, color=style.colour, marker=style.marker, linestyle=style.linestyle)
        drawn.append(Curve(common, difference, difference, difference))
    if not drawn:
        raise UserError("an improvement plot needs at least one method besides the baseline")
    ax.axhline(0.0, color="#555555", linewidth=0.8)
    set_log2_k_axis(ax, np.unique(np.concatenate([curve.k for curve in drawn])))
    ax.set_ylabel(f"Pass@k minus Pass@k of {baseline}")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"Improvement over {baseline}")
    ax.legend(loc="best")
    return figure


def plot_bars(
    results: Sequence[dict[str, Any]], labels: Sequence[str], bar_k: Sequence[int], title: str | None = None
) -> Figure:
    """Grouped bars of Pass@k at the chosen k, one bar per method, interval as error bars."""
    _check_labels(results, labels)
    curves = [curve_of(one) for one in results]
    ks = [k for k in dict.fromkeys(bar_k) if any(curve.at(k) is not None for curve in curves)]
    if not ks:
        raise UserError(f"no results file reports any of k = {list(bar_k)}")
    figure, ax = new_figure()
    styles = assign_styles(labels)
    width = 0.8 / len(labels)
    positions = np.arange(len(ks), dtype=np.float64)
    for index, (curve, label) in enumerate(zip(curves, labels, strict=True)):
        values, lower, upper = [], [], []
        for k in ks:
            match = np.flatnonzero(curve.k == k)
            value = curve.value[match[0]] if match.size else math.nan
            low = curve.low[match[0]] if match.size else math.nan
            high = curve.high[match[0]] if match.size else math.nan
            values.append(value)
            lower.append(0.0 if math.isnan(low) else value - low)
            upper.append(0.0 if math.isnan(high) else high - value)
        offset = (index - (len(labels) - 1) / 2) * width
        ax.bar(
            positions + offset,
            values,
            width,
            yerr=np.nan_to_num(np.array([lower, upper])),
            capsize=3,
            label=label,
            color=styles[label].colour,
            edgecolor="black",
            linewidth=0.5,
        )
    ax.set_xticks(positions, [f"k = {k}" for k in ks])
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("Pass@k")
    ax.set_ylim(0.0, 1.05)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(title or "Pass@k at selected k")
    ax.legend(loc="upper left", ncols=min(len(labels), 4))
    return figure


def figure_paths(output: str | Path) -> list[Path]:
    """<stem>.png and <stem>.pdf; 'out.png', 'out.pdf' and 'out' all give the same two files."""
    output = Path(output)
    stem = output.with_suffix("") if output.suffix.lower() in (".png", ".pdf") else output
    return [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")]


def claim_figures(output: str | Path, inputs: Sequence[Path], overwrite: bool = False) -> AbstractContextManager:
    """Lock both figure files, then check that they can be written there and replace no input (``claim_output``).
    A figure this command drew before (it carries the mark of PLOTTING_MAKER) is redrawn at will; any other file
    of that name needs --overwrite."""
    return claim_output(figure_paths(output), "--output", inputs=inputs, overwrite=overwrite, maker=PLOTTING_MAKER)


def save_figure(figure: Figure, output: str | Path) -> list[Path]:
    """Save as <stem>.png and <stem>.pdf, each marked as this command's and written through a temporary file so no
    reader sees half a figure (``write_output``)."""
    paths = [output_path(path) for path in figure_paths(output)]
    for path in paths:
        metadata = figure_metadata(PLOTTING_MAKER, path.suffix)
        write_output(path, functools.partial(figure.savefig, dpi=200, bbox_inches="tight", metadata=metadata))
    return paths


def _draw_curve(ax: Axes, curve: Curve, label: str, style: MethodStyle) -> None:
    ax.plot(curve.k, curve.value, label=label, color=style.colour, marker=style.marker, linestyle=style.linestyle)
    if np.isfinite(curve.low).any():
        ax.fill_between(curve.k, curve.low, curve.high, color=style.colour, alpha=0.18, linewidth=0)


def _finish_pass_at_k_axes(ax: Axes, curves: Sequence[Curve]) -> None:
    ks = np.unique(np.concatenate([curve.k for curve in curves])) if curves else np.array([1])
    set_log2_k_axis(ax, ks)
    ax.set_ylabel("Pass@k")
    ax.set_ylim(top=1.02)
    ax.grid(True, alpha=0.3)


def _check_labels(results: Sequence[dict[str, Any]], labels: Sequence[str]) -> None:
    if not results:
        raise UserError("no results to plot")
    if len(labels) != len(results):
        raise UserError(f"{len(labels)} labels for {len(results)} results files; give one label per file")
    check_plot_labels(labels, "--labels", "results files")


# ---------------------------------------------------------------------------------------------------------------
# Command line

OPTION_RANGES = {"bar_k": POSITIVE_INT}  # the range of each numeric option (rlvr/ranges.py)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Plot Pass@k results written by evaluation/pass_at_k.py, or differences written by compare.py.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--results", nargs="+", type=Path, help="results JSON file(s)")
    parser.add_argument(
        "--differences", type=Path, help="a differences file of compare.py: each method minus the baseline, banded"
    )
    parser.add_argument("--labels", nargs="+", help="one label per results file (default: the method in each)")
    parser.add_argument("--output", type=Path, default=Path("pass_at_k.png"), help="output stem; writes .png and .pdf")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing figure files that this command did not draw"
    )
    parser.add_argument("--title", help="figure title")
    parser.add_argument("--kind", choices=PLOT_KINDS, default="curves", help="which figure")
    parser.add_argument("--baseline", help="label (or results file) the improvement plot subtracts")
    parser.add_argument("--bar-k", nargs="+", type=int, default=list(DEFAULT_BAR_K), help="k values of the bar chart")
    return finish_parser(parser)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_ranges(vars(args), OPTION_RANGES)
    if (args.results is None) == (args.differences is None):
        raise UserError("give --results (Pass@k figures) or --differences (the difference plot), one of the two")
    if args.differences is not None:
        return _plot_differences(args)
    with claim_figures(args.output, args.results, args.overwrite):  # held until both figures are in place
        return _plot_results(args)


def _plot_results(args: argparse.Namespace) -> int:
    results = [load_results(path) for path in args.results]
    labels = args.labels or [method_name_of(one, path) for one, path in zip(results, args.results, strict=True)]
    check_plot_labels(labels, "--labels", "results files", args.results)
    if args.kind == "curves":
        figure = plot_pass_at_k_curves(results, labels, args.title)
    elif args.kind == "grid":
        figure = plot_dataset_grid(results, labels, args.title)
    elif args.kind == "improvement":
        figure = plot_improvement(results, labels, _baseline_label(args.baseline, args.results, labels), args.title)
    else:
        figure = plot_bars(results, labels, args.bar_k, args.title)
        missing = [k for k in args.bar_k if all(str(k) not in one["pass_at_k"] for one in results)]
        if missing:
            print(f"note: no results file reports k = {missing}; those bars are left out", file=sys.stderr)
    paths = save_figure(figure, args.output)
    print("wrote " + ", ".join(str(path) for path in paths))
    return 0


def _plot_differences(args: argparse.Namespace) -> int:
    if args.labels or args.baseline or args.kind != "curves":
        raise UserError("--differences draws one figure from the file alone: no --labels, --baseline or --kind")
    with claim_figures(args.output, [args.differences], args.overwrite):
        paths = save_figure(plot_differences(load_differences(args.differences), args.title), args.output)
    print("wrote " + ", ".join(str(path) for path in paths))
    return 0


def _baseline_label(baseline: str | None, paths: Sequence[Path], labels: Sequence[str]) -> str:
    if baseline is None:
        raise UserError("--kind improvement needs --baseline (one of the labels or results files)")
    if baseline in labels:
        return baseline
    candidate = Path(baseline)
    for path, label in zip(paths, labels, strict=True):
        if candidate.exists() and candidate.resolve() == path.resolve():
            return label
    raise UserError(f"--baseline {baseline!r} is neither one of the labels {list(labels)} nor one of the --results")


if __name__ == "__main__":
    sys.exit(main())
