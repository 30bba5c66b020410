"""The difference plot: each method's Pass@k minus the baseline's over k, with its paired interval as a band and a
line at 0, from the differences file compare.py writes (``python evaluation/plotting.py --differences diff.json``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from evaluation.figure_axes import new_figure, set_log2_k_axis
from rlvr.errors import UserError
from rlvr.files import read_json
from rlvr.methods import assign_styles
from rlvr.plot_labels import check_legend_label


def load_differences(path: str | Path) -> dict[str, Any]:
    """A differences file of compare.py, checked enough to plot: a baseline, and per comparison and k a number
    and a [low, high] interval."""
    path = Path(path)
    document = read_json(path, "differences file")
    if not isinstance(document, dict) or not isinstance(document.get("differences"), dict):
        raise UserError(f"{path}: not a differences file (no 'differences' object); evaluation/compare.py writes one")
    if not isinstance(document.get("baseline"), str) or not document["differences"]:
        raise UserError(f"{path}: a differences file needs a 'baseline' name and at least one comparison")
    for name, by_k in document["differences"].items():
        check_legend_label(_label_of(name, document["baseline"]), f"{path}: differences[{name!r}]")
        if not isinstance(by_k, dict) or not by_k:
            raise UserError(f"{path}: differences[{name!r}] must map k to a difference")
        for k, entry in by_k.items():
            where = f"{path}: differences[{name!r}][{k!r}]"
            if not k.isdigit() or int(k) < 1:
                raise UserError(f"{where}: {k!r} is not a positive integer k")
            if not isinstance(entry, dict) or not _is_number(entry.get("difference")):
                raise UserError(f"{where} needs a number under 'difference'")
            interval = entry.get("interval")
            if not (isinstance(interval, list) and len(interval) == 2 and all(map(_is_number, interval))):
                raise UserError(f"{where}: 'interval' must be [low, high], got {interval!r}")
    return document


def plot_differences(document: dict[str, Any], title: str | None = None) -> Figure:
    """Each ``<method> - <baseline>`` over k (log2 axis), its interval as a shaded band; above 0 is better."""
    baseline = document["baseline"]
    comparisons = document["differences"]
    labels = [_label_of(name, baseline) for name in comparisons]
    styles = assign_styles(labels)
    figure, ax = new_figure()
    all_ks: set[int] = set()
    for label, by_k in zip(labels, comparisons.values(), strict=True):
        ks = sorted(int(k) for k in by_k)
        all_ks.update(ks)
        entries = [by_k[str(k)] for k in ks]
        values = np.array([entry["difference"] for entry in entries], dtype=np.float64)
        low, high = (np.array([entry["interval"][side] for entry in entries], dtype=np.float64) for side in (0, 1))
        style = styles[label]
        ax.plot(ks, values, label=label, color=style.colour, marker=style.marker, linestyle=style.linestyle)
        ax.fill_between(ks, low, high, color=style.colour, alpha=0.18, linewidth=0)
    ax.axhline(0.0, color="#555555", linewidth=0.8)
    set_log2_k_axis(ax, np.array(sorted(all_ks)))
    confidence = (document.get("metadata") or {}).get("confidence", 0.95)
    ax.set_ylabel(f"Pass@k minus Pass@k of {baseline}")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"Difference to {baseline} (bands: {confidence:.0%} paired intervals)")
    ax.legend(loc="best")
    return figure


def _label_of(name: str, baseline: str) -> str:
    """The legend's label of a comparison ``<method> - <baseline>``: the method."""
    return name.removesuffix(f" - {baseline}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
