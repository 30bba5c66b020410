"""The results of experiments/objectives_toy.py: per-run numbers, mean ± std over seeds, and the markdown report.

Two kinds of uncertainty are kept apart: the spread over RL seeds (mean ± sample standard deviation, n = number of
seeds), and each run's 95% bootstrap interval over held-out problems (from evaluation/pass_at_k.py).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BASE = "base"
TABLE_K = ("1", "2", "4", "8", "16", "32", "64")


def distinct_answers_per_problem(samples_path: Path) -> float:
    """Mean number of different answers among a problem's samples: how diverse the sampled outputs are."""
    problems = json.loads(samples_path.read_text())["problems"]
    return statistics.fmean(len({sample.strip() for sample in problem["samples"]}) for problem in problems)


def entropy_curves(entropy: Mapping[str, Any], base_dir: Path) -> dict[str, list[list[float]]]:
    """Run name -> [[step, entropy], ...] sorted by step; the warm start is step 0 of every run and run ``base``."""
    curves: dict[str, list[list[float]]] = {}
    for record in entropy["checkpoints"]:
        folder = Path(record["checkpoint"])
        if folder.resolve() == base_dir.resolve():
            name, step = BASE, 0
        else:
            name, step = folder.parent.name, record["step"]
        curves.setdefault(name, []).append([step, record["entropy"]])
    base_point = curves.get(BASE, [])
    for name, curve in curves.items():
        if name != BASE:
            curve.extend(base_point)
        curve.sort()
    return curves


def mean_std(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "n": len(values),
    }


def build_summary(
    pass_at_k: Mapping[str, dict[str, Any]],
    samples_paths: Mapping[str, Path],
    entropy: Mapping[str, Any],
    base_dir: Path,
    runs: Mapping[str, tuple[str, int]],
) -> dict[str, Any]:
    """Everything the report and the figures need, JSON-ready."""
    curves = entropy_curves(entropy, base_dir)
    methods = {BASE: BASE, **{name: mode for name, (mode, _) in runs.items()}}
    per_run: dict[str, dict[str, Any]] = {}
    for name, method in methods.items():
        results = pass_at_k[name]
        curve = curves.get(name, [])
        per_run[name] = {
            "method": method,
            "seed": None if name == BASE else runs[name][1],
            "pass_at_k": results["pass_at_k"],
            "confidence_intervals": results["confidence_intervals"],
            "distinct_answers_per_problem": distinct_answers_per_problem(samples_paths[name]),
            "entropy_curve": curve,
            "final_entropy": curve[-1][1] if curve else None,
        }
    aggregate: dict[str, dict[str, Any]] = {}
    for method in dict.fromkeys(methods.values()):
        members = [run for run in per_run.values() if run["method"] == method]
        steps = sorted({step for run in members for step, _ in run["entropy_curve"]})
        aggregate[method] = {
            "runs": len(members),
            "pass_at_k": {k: mean_std([run["pass_at_k"][k] for run in members]) for k in members[0]["pass_at_k"]},
            "distinct_answers_per_problem": mean_std([run["distinct_answers_per_problem"] for run in members]),
            "final_entropy": mean_std([run["final_entropy"] for run in members if run["final_entropy"] is not None])
            if any(run["final_entropy"] is not None for run in members)
            else None,
            "entropy_curve": [
                [step, mean_std([value for run in members for s, value in run["entropy_curve"] if s == step])]
                for step in steps
            ],
        }
    return {"methods": list(aggregate), "aggregate": aggregate, "runs": per_run}


def _mean_std_text(stats: Mapping[str, Any] | None, digits: int = 3) -> str:
    if stats is None:
        return "-"
    if stats["std"] is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _value_with_interval(run: Mapping[str, Any], k: str) -> str:
    low, high = run["confidence_intervals"][k]
    return f"{run['pass_at_k'][k]:.3f} [{low:.3f}, {high:.3f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown_report(summary: Mapping[str, Any]) -> str:
    """The results as markdown: Pass@k and entropy per method over seeds, then every run with its intervals."""
    aggregate, runs, settings = summary["aggregate"], summary["runs"], summary.get("settings", {})
    ks = [k for k in TABLE_K if k in aggregate[BASE]["pass_at_k"]]
    lines = ["# Decomposed objectives on the arithmetic toy: results", ""]
    if settings:
        lines += [
            f"Generated by `experiments/objectives_toy.py`. {settings['num_problems']} held-out problems x "
            f"{settings['num_samples']} samples ({' '.join(settings['sampling_args'][:4])}); "
            f"RL {settings['rl_steps']} steps from one shared SFT warm start, "
            f"seeds {', '.join(str(seed) for seed in settings['seeds'])}. "
            "Base is a single model (no spread).",
            "",
        ]
    lines += ["## Pass@k, mean ± std over RL seeds", ""]
    rows = [[method, *(_mean_std_text(aggregate[method]["pass_at_k"].get(k)) for k in ks)] for method in aggregate]
    lines += _table(["method", *(f"Pass@{k}" for k in ks)], rows)
    lines += ["", "## Pass@k minus the base's, mean ± std over RL seeds", ""]
    rows = []
    for method in aggregate:
        if method == BASE:
            continue
        members = [run for run in runs.values() if run["method"] == method]
        cells = []
        for k in ks:
            differences = [run["pass_at_k"][k] - runs[BASE]["pass_at_k"][k] for run in members]
            mean = sum(differences) / len(differences)
            spread = statistics.stdev(differences) if len(differences) > 1 else None
            cells.append(f"{mean:+.3f}" + ("" if spread is None else f" ± {spread:.3f}"))
        rows.append([method, *cells])
    lines += _table(["method", *(f"Δ Pass@{k}" for k in ks)], rows)
    lines += ["", "## Policy entropy and diversity, mean ± std over RL seeds", ""]
    lines += [
        "Entropy: mean per-token entropy (nats) of the policy at temperature 1 on fixed held-out prompts, at the "
        "warm start and at the last step. Distinct answers: different completions among a problem's samples.",
        "",
    ]
    rows = [
        [
            method,
            _mean_std_text(aggregate[method]["entropy_curve"][0][1]) if aggregate[method]["entropy_curve"] else "-",
            _mean_std_text(aggregate[method]["final_entropy"]),
            _mean_std_text(aggregate[method]["distinct_answers_per_problem"], digits=2),
        ]
        for method in aggregate
    ]
    lines += _table(["method", "entropy at step 0", "entropy at the end", "distinct answers / problem"], rows)
    lines += ["", "## Every run, with 95% bootstrap intervals over problems", ""]
    rows = []
    for name, run in runs.items():
        cells = [_value_with_interval(run, k) for k in ("1", "16", "64") if k in run["pass_at_k"]]
        entropy = "-" if run["final_entropy"] is None else f"{run['final_entropy']:.3f}"
        rows.append([name, *cells, entropy])
    lines += _table(["run", "Pass@1", "Pass@16", "Pass@64", "final entropy"], rows)
    runtime = summary.get("runtime")
    if runtime:
        lines += [
            "",
            f"Wall time {runtime['total_seconds'] / 60:.1f} min on {runtime['cpu_count']} cores "
            f"(load average at start {runtime['load_average_at_start'][0]}); steps skipped as already done: "
            f"{', '.join(runtime['steps_skipped_as_done']) or 'none'}.",
        ]
    return "\n".join(lines) + "\n"
