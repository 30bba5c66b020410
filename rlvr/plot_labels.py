"""Labels a figure's legend can show: the checks of evaluation/plotting.py's and monitor_training.py's labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlvr.errors import UserError


def check_legend_label(label: str, where: str) -> None:
    """A label the legend shows: not blank, and not starting with '_' (matplotlib leaves such a line out of the
    legend, so the figure would show a curve nobody can name)."""
    if not label.strip():
        raise UserError(f"{where}: a blank label ({label!r}) names nothing in the legend")
    if label.startswith("_"):
        raise UserError(f"{where}: label {label!r} starts with '_', which matplotlib leaves out of the legend")


def check_plot_labels(labels: Sequence[str], flag: str, what: str, sources: Sequence[Path] | None = None) -> None:
    """Each label shown in the legend, no two alike (also when they differ only in spaces, which the legend cannot
    tell apart), and, given the ``sources`` they label, one label per source and no source plotted twice under two
    labels. ``flag`` names the labels' option, ``what`` the sources ("results files", "--checkpoints folders")."""
    if sources is not None and len(labels) != len(sources):
        raise UserError(f"{len(labels)} labels for {len(sources)} {what}; give one label per {what[:-1]} ({flag})")
    for label in labels:
        check_legend_label(label, flag)
    seen: dict[str, str] = {}
    for label in labels:
        spaced = " ".join(label.split())
        if spaced in seen:
            raise UserError(f"labels must differ, got {seen[spaced]!r} and {label!r}; name them apart with {flag}")
        seen[spaced] = label
    plotted: dict[Path, str] = {}
    for label, source in zip(labels, sources or [], strict=False):
        resolved = source.resolve()
        if resolved in plotted:
            raise UserError(f"{source} is given twice, as {plotted[resolved]!r} and as {label!r}; plot it once")
        plotted[resolved] = label
