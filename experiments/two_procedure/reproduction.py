"""Does a run of the experiment reproduce the published one? Every headline number, old against new.

The published run is the report committed at the checkout's HEAD (docs/results/objectives_toy.json), read before the
new run overwrites it. A number reproduces when the new estimate lies inside the published 95% interval: for each
base (SFT seed), its Pass@1 and Pass@64 over held-out problems; for each piece of evidence behind a verdict, the
difference with its bootstrap interval over seeds and problems, both as the report prints them (three
decimals). Verdicts are compared word for word.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.common.stats import per_problem_pass_at_k, problem_interval


def published_summary(results_json: Path, repo_root: Path) -> dict[str, Any] | None:
    """The report as committed at HEAD, or None outside a git checkout or when none is committed there."""
    try:
        relative = results_json.resolve().relative_to(repo_root.resolve())
        shown = subprocess.run(
            ["git", "show", f"HEAD:{relative.as_posix()}"], cwd=repo_root, capture_output=True, text=True
        )
    except (ValueError, OSError):
        return None
    if shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError:
        return None


def _base_numbers(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    numbers = {}
    for base in summary["bases"]:
        point = base["points"][0]
        for k in (1, min(64, point["num_samples"])):
            values = per_problem_pass_at_k(point, k)
            low, high = problem_interval(values, 2000)
            numbers[f"base (SFT seed {base['sft_seed']}), Pass@{k}"] = {
                "mean": float(values.mean()),
                "low": low,
                "high": high,
            }
    return numbers


def _evidence(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    return {
        name: interval
        for claim in summary["claims"]
        for name, interval in claim["evidence"].items()
        if interval is not None
    }


def inside_as_printed(value: float, interval: Mapping[str, float], decimals: int = 3) -> bool:
    """Inside the interval as the report prints both (three decimals), so a zero-width interval such as Pass@256 of
    1.000 [1.000, 1.000] is met by 0.99996."""
    return round(interval["low"], decimals) <= round(value, decimals) <= round(interval["high"], decimals)


def compare_runs(published: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Each number both runs report: published mean [interval], new mean [interval], and whether it reproduced."""
    old_numbers = {**_base_numbers(published), **_evidence(published)}
    new_numbers = {**_base_numbers(new), **_evidence(new)}
    rows = [
        {
            "number": name,
            "published": old_numbers[name],
            "new": new_numbers[name],
            "inside": inside_as_printed(new_numbers[name]["mean"], old_numbers[name]),
        }
        for name in old_numbers
        if name in new_numbers
    ]
    old_verdicts = {claim["claim"]: claim["verdict"] for claim in published["claims"]}
    verdicts = [
        {"claim": claim["claim"], "published": old_verdicts[claim["claim"]], "new": claim["verdict"]}
        for claim in new["claims"]
        if claim["claim"] in old_verdicts
    ]
    return {
        "published_commit": published.get("runtime", {}).get("commit"),
        "published_learning_rate": published["learning_rate"]["used"],
        "rows": rows,
        "verdicts": verdicts,
        "reproduced": bool(rows)
        and all(row["inside"] for row in rows)
        and all(v["published"] == v["new"] for v in verdicts),
    }
