"""The tables pass_at_k.py prints (one method with its intervals, or several side by side against a baseline) and
the table of paired differences compare.py prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.results_file import DEFAULT_CONFIDENCE


def format_results_table(results: dict[str, Any]) -> str:
    """One method: k, pass@k, its interval and, when problems have different n, how many count at each k."""
    metadata = results.get("metadata", {})
    confidence = metadata.get("confidence", DEFAULT_CONFIDENCE)
    ragged = metadata.get("samples_per_problem") is None and "samples_per_problem_range" in metadata
    per_problem = metadata.get("samples_per_problem")
    header = f"Pass@k for {metadata.get('method', 'method')}: {metadata.get('num_problems', '?')} problems"
    header += f", n = {per_problem}" if per_problem else f", n from {metadata.get('samples_per_problem_range')}"
    columns = ["k", "pass@k", f"{confidence:.0%} CI"] + (["problems"] if ragged else [])
    rows = []
    for k in _k_values_of(results):
        row = [str(k), f"{results['pass_at_k'][str(k)]:.4f}", _format_interval(results, k)]
        if ragged:
            row.append(str(results.get("num_problems_per_k", {}).get(str(k), "")))
        rows.append(row)
    lines = [header, *align_rows([columns, *rows])]
    for field, groups in results.get("breakdown", {}).items():
        ks = _k_values_of(results)
        group_rows = [[field, *(f"k={k}" for k in ks)]]
        for group, summary in groups.items():
            group_rows.append([group, *(_format_value(summary["pass_at_k"].get(str(k))) for k in ks)])
        lines += ["", f"Pass@k by {field}:", *align_rows(group_rows)]
    return "\n".join(lines)


def format_comparison_table(named_results: Sequence[tuple[str, dict[str, Any]]], baseline: str | None = None) -> str:
    """Several methods in one table; with a baseline, a column per method with its difference to the baseline."""
    ks = sorted({k for _, results in named_results for k in _k_values_of(results)})
    baseline_results = dict(named_results).get(baseline) if baseline else None
    if baseline_results is not None:
        named_results = [(baseline, baseline_results)] + [item for item in named_results if item[0] != baseline]
    header = ["k"]
    for name, _ in named_results:
        header.append(f"{name} (baseline)" if name == baseline else name)
        if baseline_results is not None and name != baseline:
            header.append(f"{name} - {baseline}")
    rows = [header]
    for k in ks:
        row = [str(k)]
        for name, results in named_results:
            value = results["pass_at_k"].get(str(k))
            row.append("-" if value is None else f"{value:.4f} {_format_interval(results, k)}".rstrip())
            if baseline_results is not None and name != baseline:
                reference = baseline_results["pass_at_k"].get(str(k))
                row.append("-" if value is None or reference is None else f"{value - reference:+.4f}")
        rows.append(row)
    confidence = named_results[0][1].get("metadata", {}).get("confidence", DEFAULT_CONFIDENCE)
    title = f"Pass@k, {confidence:.0%} bootstrap intervals over problems in brackets"
    return "\n".join([title, *align_rows(rows)])


def format_difference_table(document: dict[str, Any]) -> str:
    """compare.py's differences: one block per method against the baseline, a row per k."""
    metadata = document["metadata"]
    baseline, methods = document["baseline"], metadata["methods"]
    confidence = metadata["confidence"]
    lines = [
        f"Pass@k differences against {baseline}: {confidence:.0%} paired bootstrap intervals over "
        f"{metadata['num_problems']} problems and the seeds, two-sided p-values"
    ]
    for name, by_k in document["differences"].items():
        label = name.removesuffix(f" - {baseline}")
        seeds = f"{methods[label]['num_seeds']} vs {methods[baseline]['num_seeds']} seeds"
        rows = [["k", baseline, label, "difference", f"{confidence:.0%} interval", "p"]]
        for k, entry in by_k.items():
            low, high = entry["interval"]
            rows.append(
                [
                    k,
                    f"{methods[baseline]['pass_at_k'][k]:.4f}",
                    f"{methods[label]['pass_at_k'][k]:.4f}",
                    f"{entry['difference']:+.4f}",
                    f"[{low:+.4f}, {high:+.4f}]",
                    f"{entry['p_value']:.3g}",
                ]
            )
        lines += ["", f"{name} ({seeds})", *align_rows(rows)]
    return "\n".join(lines)


def _k_values_of(results: dict[str, Any]) -> list[int]:
    return sorted(int(k) for k in results["pass_at_k"])


def _format_interval(results: dict[str, Any], k: int) -> str:
    interval = results.get("confidence_intervals", {}).get(str(k))
    return "" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _format_value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def align_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].rjust(widths[0])] + [
            cell.ljust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines
