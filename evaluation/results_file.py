"""The results file pass_at_k.py writes: reading it back (plotting.py, --baseline) and the names of its methods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.files import read_json

DEFAULT_CONFIDENCE = 0.95


def load_results(path: str | Path) -> dict[str, Any]:
    """A results file written by this module, checked enough to plot or compare it."""
    path = Path(path)
    results = read_json(path, "results file")
    if not isinstance(results, dict) or not isinstance(results.get("pass_at_k"), dict) or not results["pass_at_k"]:
        raise UserError(f"{path}: not a Pass@k results file (no 'pass_at_k' object); pass_at_k.py writes one")
    for key, value in results["pass_at_k"].items():
        if not key.isdigit() or int(key) < 1:
            raise UserError(f"{path}: pass_at_k key {key!r} is not a positive integer k")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise UserError(f"{path}: pass_at_k[{key!r}] must be a number between 0 and 1, got {value!r}")
    intervals = results.get("confidence_intervals", {})
    if not isinstance(intervals, dict):
        raise UserError(f"{path}: 'confidence_intervals' must be an object of k -> [low, high]")
    for key, interval in intervals.items():
        if not (
            isinstance(interval, list) and len(interval) == 2 and all(isinstance(v, int | float) for v in interval)
        ):
            raise UserError(f"{path}: confidence_intervals[{key!r}] must be [low, high], got {interval!r}")
    return results


def method_name_of(results: dict[str, Any], path: str | Path) -> str:
    """The method a results file names in its metadata, else its file name without 'results_'."""
    method = (results.get("metadata") or {}).get("method")
    return method if isinstance(method, str) and method else default_method_name(path, prefix="results")


def default_method_name(path: str | Path, prefix: str = "samples") -> str:
    """samples_nsr.json -> nsr: the file name without its extension and a leading 'samples_' or 'samples-'."""
    stem = Path(path).stem
    for separator in ("_", "-"):
        if stem.lower().startswith(prefix + separator) and len(stem) > len(prefix) + 1:
            return stem[len(prefix) + 1 :]
    return stem
