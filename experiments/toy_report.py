"""The results of experiments/objectives_toy.py: per-run numbers, comparisons against controls, the learning gate,
the paper's claims with verdicts, and the markdown report.

Two kinds of uncertainty are kept apart: the spread over RL seeds, and each run's 95% bootstrap interval over
held-out problems (from evaluation/pass_at_k.py). Comparisons between arms pair runs by seed (same seed, same data
order and same rollout prompts) and give a 95% t-interval of the mean paired difference over seeds: a difference
counts only when that interval excludes 0, that is, beyond the seed spread.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scipy import stats

BASE = "base"
TABLE_K = ("1", "2", "4", "8", "16", "32", "64")
GATED_OBJECTIVES = ("grpo", "psr")
CONFIDENCE = 0.95


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


def paired_interval(differences: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, float | int]:
    """Mean of per-seed differences with its t-interval; with one seed the interval is the point itself."""
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return {"mean": mean, "low": mean, "high": mean, "n": len(differences)}
    half = stats.t.ppf(0.5 + confidence / 2, len(differences) - 1) * statistics.stdev(differences)
    half /= math.sqrt(len(differences))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(differences)}


def sign_of(interval: Mapping[str, float] | None) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it holds 0 or there is nothing to compare."""
    if interval is None:
        return 0
    return 1 if interval["low"] > 0 else -1 if interval["high"] < 0 else 0


# ---------------------------------------------------------------------------------------------------------------
# Building the summary


def build_summary(
    pass_at_k: Mapping[str, dict[str, Any]],
    samples_paths: Mapping[str, Path],
    entropy: Mapping[str, Any],
    base_dir: Path,
    runs: Mapping[str, tuple[str, int]],
    dynamics: Mapping[str, Mapping[int, dict[str, Any]]] | None = None,
    controls: Mapping[str, str] | None = None,
    slots_per_rollout: int = 1,
) -> dict[str, Any]:
    """Everything the report and the figures need, JSON-ready. ``runs`` maps a run name to (arm label, seed)."""
    curves = entropy_curves(entropy, base_dir)
    labels = {BASE: BASE, **{name: label for name, (label, _) in runs.items()}}
    per_run: dict[str, dict[str, Any]] = {}
    for name, label in labels.items():
        results = pass_at_k[name]
        curve = curves.get(name, [])
        per_run[name] = {
            "method": label,
            "seed": None if name == BASE else runs[name][1],
            "pass_at_k": results["pass_at_k"],
            "confidence_intervals": results["confidence_intervals"],
            "distinct_answers_per_problem": distinct_answers_per_problem(samples_paths[name]),
            "entropy_curve": curve,
            "final_entropy": curve[-1][1] if curve and (len(curve) > 1 or name == BASE) else None,
            "dynamics": {
                str(step): results_at["pass_at_k"] for step, results_at in (dynamics or {}).get(name, {}).items()
            },
        }
    aggregate = {
        label: _aggregate([run for run in per_run.values() if run["method"] == label]) for label in labels.values()
    }
    summary: dict[str, Any] = {
        "methods": list(aggregate),
        "aggregate": aggregate,
        "runs": per_run,
        "controls": dict(controls or {}),
        "slots_per_rollout": slots_per_rollout,
    }
    summary["gate"] = learning_gate(summary)
    summary["claims"] = paper_claims(summary) if summary["gate"]["passed"] else []
    return summary


def _aggregate(members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    steps = sorted({step for run in members for step, _ in run["entropy_curve"]})
    entropies = [run["final_entropy"] for run in members if run["final_entropy"] is not None]
    dynamics_steps = sorted({int(step) for run in members for step in run["dynamics"]})
    return {
        "runs": len(members),
        "pass_at_k": {k: mean_std([run["pass_at_k"][k] for run in members]) for k in members[0]["pass_at_k"]},
        "distinct_answers_per_problem": mean_std([run["distinct_answers_per_problem"] for run in members]),
        "final_entropy": mean_std(entropies) if entropies else None,
        "entropy_curve": [
            [step, mean_std([value for run in members for s, value in run["entropy_curve"] if s == step])]
            for step in steps
        ],
        "dynamics": {
            str(step): {
                k: mean_std([run["dynamics"][str(step)][k] for run in members if str(step) in run["dynamics"]])
                for k in members[0]["dynamics"][str(step)]
            }
            for step in dynamics_steps
            if all(str(step) in run["dynamics"] for run in members)
        },
    }


def _seed_values(summary: Mapping[str, Any], label: str, value_of) -> dict[int, float]:
    """Seed -> value of the arm's runs; runs without the value (an unmeasured entropy) are left out."""
    values = {run["seed"]: value_of(run) for run in summary["runs"].values() if run["method"] == label}
    return {seed: value for seed, value in values.items() if value is not None}


def compare(summary: Mapping[str, Any], label: str, reference: str, value_of) -> dict[str, float | int] | None:
    """Paired-by-seed difference ``label - reference`` of ``value_of(run)``; the base is one run for every seed."""
    ours = _seed_values(summary, label, value_of)
    if reference == BASE:
        base_value = value_of(summary["runs"][BASE])
        theirs = {} if base_value is None else dict.fromkeys(ours, base_value)
    else:
        theirs = _seed_values(summary, reference, value_of)
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return None
    return paired_interval([ours[seed] - theirs[seed] for seed in seeds])


def pass_at(k: str):
    return lambda run: run["pass_at_k"][k]


def final_entropy(run: Mapping[str, Any]) -> float:
    return run["final_entropy"]


def control_of(summary: Mapping[str, Any], label: str) -> str | None:
    return next((arm for arm, target in summary["controls"].items() if target == label), None)


# ---------------------------------------------------------------------------------------------------------------
# The learning gate and the claims


def learning_gate(summary: Mapping[str, Any]) -> dict[str, Any]:
    """GRPO and PSR must raise held-out Pass@1 above the base and above their shuffled controls, beyond the seed
    spread; without that, no Pass@k comparison means anything."""
    checks = []
    for label in GATED_OBJECTIVES:
        control = control_of(summary, label)
        versus_base = compare(summary, label, BASE, pass_at("1"))
        versus_control = compare(summary, label, control, pass_at("1")) if control else None
        passed = bool(versus_base and versus_control and sign_of(versus_base) > 0 and sign_of(versus_control) > 0)
        checks.append(
            {"objective": label, "control": control, "vs_base": versus_base, "vs_control": versus_control,
             "passed": passed}
        )  # fmt: skip
    lr0 = compare(summary, "lr0", BASE, pass_at("1")) if "lr0" in summary["aggregate"] else None
    return {"checks": checks, "lr0_vs_base": lr0, "passed": bool(checks) and all(c["passed"] for c in checks)}


def _verdict(holds: bool, testable: bool, why_not_testable: str) -> dict[str, str]:
    if not testable:
        return {"verdict": "not testable at this scale", "why": why_not_testable}
    return {"verdict": "reproduced" if holds else "not reproduced", "why": ""}


def paper_claims(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The paper's statements, each measured here against controls; the verdict follows the intervals."""
    ks = [k for k in TABLE_K if k in summary["aggregate"][BASE]["pass_at_k"]]
    large_k = ks[-1]
    claims: list[dict[str, Any]] = []

    def beyond_control(label: str, k: str) -> dict[str, float | int] | None:
        control = control_of(summary, label)
        return compare(summary, label, control, pass_at(k)) if control else None

    def claim(statement: str, evidence: dict[str, Any], holds: bool, testable: bool, why: str = "") -> None:
        claims.append({"claim": statement, "evidence": evidence, **_verdict(holds, testable, why)})

    psr_1, psr_large = compare(summary, "psr", BASE, pass_at("1")), compare(summary, "psr", BASE, pass_at(large_k))
    claim(
        "PSR raises Pass@1 over the base model",
        {"psr - base, Pass@1": psr_1, "psr - shuffled, Pass@1": beyond_control("psr", "1")},
        sign_of(psr_1) > 0,
        sign_of(beyond_control("psr", "1")) != 0,
        "PSR's Pass@1 is not distinguishable from its shuffled control",
    )
    claim(
        f"PSR falls behind the base at large k (Pass@{large_k})",
        {f"psr - base, Pass@{large_k}": psr_large, f"psr - shuffled, Pass@{large_k}": beyond_control("psr", large_k)},
        sign_of(psr_large) < 0,
        sign_of(beyond_control("psr", large_k)) != 0 or sign_of(psr_large) == 0,
        f"PSR's Pass@{large_k} change is not distinguishable from its shuffled control's",
    )
    nsr = {k: compare(summary, "nsr", BASE, pass_at(k)) for k in ks}
    nsr_control = {k: beyond_control("nsr", k) for k in ks}
    claim(
        "NSR improves over the base across the whole Pass@k range",
        {f"nsr - base, Pass@{k}": nsr[k] for k in ks} | {f"nsr - shuffled, Pass@{k}": nsr_control[k] for k in ks},
        all(sign_of(nsr[k]) > 0 for k in ks),
        any(sign_of(nsr_control[k]) != 0 for k in ks) or any(sign_of(nsr[k]) < 0 for k in ks),
        "NSR is not distinguishable from its shuffled control at any k",
    )
    nsr_grpo = {k: compare(summary, "nsr", "grpo", pass_at(k)) for k in ks}
    claim(
        "NSR matches or beats GRPO across k",
        {f"nsr - grpo, Pass@{k}": nsr_grpo[k] for k in ks},
        all(sign_of(nsr_grpo[k]) >= 0 for k in ks),
        any(sign_of(nsr_control[k]) != 0 for k in ks),
        "NSR is not distinguishable from its shuffled control at any k",
    )
    others = [label for label in ("grpo", "psr", "nsr") if label in summary["aggregate"]]
    best_or_tied = {
        k: all(sign_of(compare(summary, "w-reinforce", other, pass_at(k))) >= 0 for other in others) for k in ks
    }
    claim(
        "W-REINFORCE (λ = 0.1) is best or tied across most k",
        {f"not below any of {', '.join(others)} at Pass@{k}": best_or_tied[k] for k in ks}
        | {f"w-reinforce - shuffled, Pass@{k}": beyond_control("w-reinforce", k) for k in ks},
        sum(best_or_tied.values()) > len(ks) / 2,
        any(sign_of(beyond_control("w-reinforce", k)) != 0 for k in ks),
        "W-REINFORCE is not distinguishable from its shuffled control at any k",
    )
    psr_entropy, nsr_entropy = (
        compare(summary, "psr", BASE, final_entropy),
        compare(summary, "nsr", "psr", final_entropy),
    )
    claim(
        "PSR lowers the policy's entropy, NSR keeps it higher than PSR",
        {"psr - base, entropy": psr_entropy, "nsr - psr, entropy": nsr_entropy,
         "psr - shuffled, entropy": compare(summary, "psr", control_of(summary, "psr"), final_entropy)},
        sign_of(psr_entropy) < 0 and sign_of(nsr_entropy) > 0,
        psr_entropy is not None and nsr_entropy is not None,
        "entropy was not measured",
    )  # fmt: skip
    return claims


# ---------------------------------------------------------------------------------------------------------------
# The report


def _mean_std_text(stats_: Mapping[str, Any] | None, digits: int = 3) -> str:
    if stats_ is None:
        return "-"
    if stats_["std"] is None:
        return f"{stats_['mean']:.{digits}f}"
    return f"{stats_['mean']:.{digits}f} ± {stats_['std']:.{digits}f}"


def interval_text(interval: Mapping[str, float] | None) -> str:
    if interval is None:
        return "-"
    return f"{interval['mean']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def _value_with_interval(run: Mapping[str, Any], k: str) -> str:
    low, high = run["confidence_intervals"][k]
    return f"{run['pass_at_k'][k]:.3f} [{low:.3f}, {high:.3f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _evidence_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return interval_text(value)


def markdown_report(summary: Mapping[str, Any]) -> str:
    """The gate first; then, only if it passed, Pass@k against the controls, the claims, entropy and dynamics."""
    aggregate, runs, settings = summary["aggregate"], summary["runs"], summary.get("settings", {})
    ks = [k for k in TABLE_K if k in aggregate[BASE]["pass_at_k"]]
    lines = ["# Decomposed objectives against controls on the arithmetic toy: results", ""]
    if settings:
        lines += [
            f"Generated by `experiments/objectives_toy.py`. {settings['num_problems']} held-out problems x "
            f"{settings['num_samples']} samples ({' '.join(settings['sampling_args'][:4])}); RL "
            f"{settings['rollouts']} rollouts ({settings['rollouts'] * settings['slots_per_rollout']} update slots) "
            f"from one shared SFT warm start, seeds {', '.join(str(seed) for seed in settings['seeds'])}. Differences "
            "between arms are paired by seed: mean [95% t-interval over seeds]. Base is a single model.",
            "",
        ]
    gate = summary["gate"]
    lines += ["## Learning gate: does RL learn at all?", ""]
    rows = [
        [check["objective"], _mean_std_text(aggregate[check["objective"]]["pass_at_k"]["1"]),
         _mean_std_text(aggregate[check["control"]]["pass_at_k"]["1"]) if check["control"] else "-",
         interval_text(check["vs_base"]), interval_text(check["vs_control"]), "pass" if check["passed"] else "FAIL"]
        for check in gate["checks"]
    ]  # fmt: skip
    lines += _table(
        ["objective", "Pass@1", "its shuffled control", "Δ vs base", "Δ vs shuffled control", "gate"], rows
    )
    lines += ["", f"Base Pass@1: {runs[BASE]['pass_at_k']['1']:.3f}. "]
    if gate["lr0_vs_base"] is not None:
        lines[-1] += (
            f"Learning rate 0 (the pipeline with nothing learned) minus base, Pass@1: "
            f"{interval_text(gate['lr0_vs_base'])}; it should hold 0."
        )
    if not gate["passed"]:
        lines += [
            "",
            "**The gate failed: GRPO and PSR did not both raise held-out Pass@1 above the base and above their "
            "shuffled controls beyond the seed spread. No Pass@k comparison between objectives is reported, "
            "because on this setup it would measure noise, not the objectives.**",
        ]
        return "\n".join(lines + _runs_and_runtime(summary, ks)) + "\n"

    lines += ["", "## Pass@k, mean ± std over seeds", ""]
    rows = [[label, *(_mean_std_text(aggregate[label]["pass_at_k"].get(k)) for k in ks)] for label in aggregate]
    lines += _table(["arm", *(f"Pass@{k}" for k in ks)], rows)
    lines += ["", "## Each objective minus its shuffled control, and minus the base", ""]
    rows = []
    for label, target in summary["controls"].items():
        if target == BASE:
            continue
        rows.append(
            [f"{target} - shuffled", *(interval_text(compare(summary, target, label, pass_at(k))) for k in ks)]
        )
        rows.append([f"{target} - base", *(interval_text(compare(summary, target, BASE, pass_at(k))) for k in ks)])
    lines += _table(["difference", *(f"Pass@{k}" for k in ks)], rows)
    lines += ["", "## The paper's claims", ""]
    for number, claim in enumerate(summary["claims"], start=1):
        lines += [
            f"{number}. **{claim['claim']}**: {claim['verdict']}" + (f" ({claim['why']})" if claim["why"] else "")
        ]
        lines += [f"   - {name}: {_evidence_text(value)}" for name, value in claim["evidence"].items()]
    lines += ["", "## Policy entropy and diversity, mean ± std over seeds", ""]
    lines += [
        "Entropy: mean per-token entropy (nats) of the policy at temperature 1 on fixed held-out prompts, at the "
        "warm start and at the end. Distinct answers: different completions among a problem's samples.",
        "",
    ]
    rows = [
        [
            label,
            _mean_std_text(aggregate[label]["entropy_curve"][0][1]) if aggregate[label]["entropy_curve"] else "-",
            _mean_std_text(aggregate[label]["final_entropy"]),
            _mean_std_text(aggregate[label]["distinct_answers_per_problem"], digits=2),
        ]
        for label in aggregate
    ]
    lines += _table(["arm", "entropy at step 0", "entropy at the end", "distinct answers / problem"], rows)
    dynamics_labels = [label for label in aggregate if aggregate[label]["dynamics"]]
    if dynamics_labels:
        lines += ["", "## Training dynamics: Pass@k at saved checkpoints (16 samples), mean ± std over seeds", ""]
        rows = []
        for label in dynamics_labels:
            for step, values in aggregate[label]["dynamics"].items():
                rows.append([label, step, *(_mean_std_text(values.get(k)) for k in ("1", "4", "16"))])
        lines += _table(["objective", "update slot", "Pass@1", "Pass@4", "Pass@16"], rows)
    return "\n".join(lines + _runs_and_runtime(summary, ks)) + "\n"


def _runs_and_runtime(summary: Mapping[str, Any], ks: Sequence[str]) -> list[str]:
    lines = ["", "## Every run, with 95% bootstrap intervals over problems", ""]
    shown = [k for k in ("1", "16", ks[-1]) if k in ks]
    rows = []
    for name, run in summary["runs"].items():
        entropy = "-" if run["final_entropy"] is None else f"{run['final_entropy']:.3f}"
        rows.append([name, *(_value_with_interval(run, k) for k in shown), entropy])
    lines += _table(["run", *(f"Pass@{k}" for k in shown), "final entropy"], rows)
    runtime = summary.get("runtime")
    if runtime:
        lines += [
            "",
            f"Wall time {runtime['total_seconds'] / 60:.1f} min on {runtime['cpu_count']} cores "
            f"(load average at start {runtime['load_average_at_start'][0]}); steps skipped as already done: "
            f"{len(runtime['steps_skipped_as_done'])}.",
        ]
    return lines
