"""The markdown report of the three-strategy experiment, from its summary (analysis.py); nothing in it by hand."""

from __future__ import annotations

from typing import Any

from experiments.three_strategy.gate import MIX_RANGES
from experiments.three_strategy.points import METRIC_LABELS
from experiments.three_strategy.predictions import PREDICTIONS
from rlvr.tasks.strategies.problems import STRATEGY_NAMES


def interval(entry: dict | None, digits: int = 3) -> str:
    if entry is None or entry["mean"] != entry["mean"]:
        return "n/a"
    seeds = ", ".join(f"{value:+.{digits}f}" if value == value else "n/a" for value in entry["per_seed"].values())
    return f"{entry['mean']:+.{digits}f} [{entry['low']:+.{digits}f}, {entry['high']:+.{digits}f}] ({seeds})"


def gate_section(summary: dict) -> list[str]:
    checked = summary["gate"]
    lines = ["## The gate (every base, before any RL step)", ""]
    mix = ", ".join(f"P({STRATEGY_NAMES[tag]}) in [{low}, {high}]" for tag, (low, high) in MIX_RANGES.items())
    lines += [
        f"(a) mix: {mix}; (b) each tag's answers follow its procedure in at least 90% of samples, with and "
        "without a carry; (c) carry Pass@1 <= 0.06 and carry Pass@64 >= 0.5; (d) a supervised push toward W "
        "on problems without a carry changes P(Y) there by >= 2% (relative) and on carry problems in the same "
        "direction by at least half as much; beside it, P(W) on carry problems before and after the push.",
        "",
    ]
    lines += [
        "| SFT seed | (a) P(X), P(W), P(Y) | (b) lowest share followed (carry / none) | (c) carry Pass@1, "
        "Pass@64 | (d) P(Y) change without / with a carry (carried over); P(W) with a carry | passed |",
        "|---|---|---|---|---|---|",
    ]
    for seed, checks in checked["by_seed"].items():
        mix_values = checks["a_mix"]["values"]
        followed = checks["b_procedures"]["values"]
        hard = checks["c_hard_but_reachable"]["values"]
        coupling = checks["d_coupling"]["values"]
        marks = "".join("✓" if check["passed"] else "✗" for check in checks.values())
        lines.append(
            f"| {seed} | {mix_values['X']:.3f}, {mix_values['W']:.3f}, {mix_values['Y']:.4f} "
            f"| {min(followed['carries'].values()):.3f} / {min(followed['no_carry'].values()):.3f} "
            f"| {hard['carry_pass1']:.4f}, {hard['carry_pass64']:.3f} "
            f"| {coupling['relative_change_no_carry']:+.1%} / {coupling['relative_change_carries']:+.1%} "
            f"({coupling['carried_over']:.0%}); "
            f"{coupling['p_w_carries_before']:.3f} → {coupling['p_w_carries_after']:.3f} | {marks} |"
        )
    lines += ["", f"**Gate: {'passed' if checked['passed'] else 'FAILED: every prediction is not testable'}.**", ""]
    exact = all(check["passed"] for check in checked["determinism"].values())
    largest = max(check["largest_probability_difference"] for check in checked["determinism"].values())
    lines += [
        f"Determinism check (GRPO at learning rate 0 through rollouts, checkpoint, reload and measurement; not a "
        f"replication): {'exact on every base' if exact else 'FAILED'} (largest tag-probability difference "
        f"{largest:.1e}).",
        "",
    ]
    return lines


def first_order_section(summary: dict) -> list[str]:
    lines = [
        "## First-order direction at each base (computed before any RL step)",
        "",
        "Rate of change along the expected gradient of the training-mix reward (SGD) and along its sign "
        "(Adam's first step); positive raises the quantity.",
        "",
        "| SFT seed | quantity | value | SGD | Adam first step |",
        "|---|---|---|---|---|",
    ]
    for seed, record in summary["first_order"].items():
        for name, rates in record["rates"].items():
            lines.append(
                f"| {seed} | {name} | {record['values'][name]:.4f} | {rates['sgd']:+.3e} "
                f"| {rates['adam_first_step']:+.3e} |"
            )
    return [*lines, ""]


def rate_section(rate: str, part: dict[str, Any]) -> list[str]:
    lines = [f"## Learning rate {rate}", ""]
    learned = "yes" if part["learned"] else "no: predictions at this rate are not testable"
    lines += [f"GRPO learned (reward-dependent Pass@1 change above 0): {learned}.", ""]
    lines += [
        "### Every arm against the base, at the end",
        "",
        "Mean over SFT seeds [95% bootstrap interval] (each seed's own difference).",
        "",
    ]
    metrics = ("pass1_mix", "carry_pass64", "p_y_carries", "tag_entropy")
    lines += ["| arm | " + " | ".join(METRIC_LABELS[m] for m in metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for arm, values in part["against_base"].items():
        lines.append(f"| {arm} | " + " | ".join(interval(values[m]) for m in metrics) + " |")
    lines += ["", "### Decomposition: arm - base = (arm - shuffled control) + (shuffled control - base)", ""]
    lines += ["| arm | metric | total | reward-dependent | reward-independent |", "|---|---|---|---|---|"]
    for arm, by_metric in part["decomposition"].items():
        for metric, parts in by_metric.items():
            cells = " | ".join(interval(parts[key]) for key in ("total", "reward_dependent", "reward_independent"))
            lines.append(f"| {arm} | {METRIC_LABELS[metric]} | {cells} |")
    lines += ["", "### Matched comparisons (arm's checkpoints read against the reference's trajectory)", ""]
    lines += [
        "| pair | matched on | metric | mean over checkpoints | by checkpoint | matched |",
        "|---|---|---|---|---|---|",
    ]
    for pair, by_matcher in part["matched"].items():
        for matcher, by_metric in by_matcher.items():
            for metric, entry in by_metric.items():
                steps = ", ".join(
                    f"{step}: {value:+.3f}" if value is not None else f"{step}: n/a"
                    for step, value in entry["by_checkpoint"].items()
                )
                lines.append(
                    f"| {pair} | {matcher.removeprefix('matched_')} | {METRIC_LABELS[metric]} "
                    f"| {interval(entry)} | {steps} | {entry['matched_share']:.0%} |"
                )
    lines += ["", "### Predictions at this rate", "", "| | test | difference | verdict |", "|---|---|---|---|"]
    for prediction in PREDICTIONS:
        judged = part["verdicts"][prediction.key]
        for entry in judged["tests"]:
            test = entry["test"]
            margin = f", margin {test['margin']}" if test["kind"] == "noninferior" else ""
            name = f"{test['arm']} - {test['reference']}, {METRIC_LABELS[test['metric']]}, {test['at']}"
            lines.append(
                f"| {prediction.key} | {name} ({test['kind']}{margin}) | {interval(entry['interval'])} "
                f"| {entry['verdict']} |"
            )
        lines.append(f"| {prediction.key} | **prediction** | | **{judged['verdict']}** |")
    return [*lines, ""]


def markdown_report(summary: dict) -> str:
    settings = summary["settings"]
    runtime = summary["runtime"]
    lines = [
        "# Three-strategy addition: the objectives against their controls",
        "",
        f"Generated by `make science` (experiments/three_strategy); nothing here is edited by hand. SFT seeds "
        f"{', '.join(map(str, settings['sft_seeds']))}; learning rates {', '.join(settings['learning_rates'])} (all "
        f"reported, none chosen); {settings['rollouts']} rollouts of 32 prompts x 8 samples per run, "
        f"{settings['rollouts'] * settings['slots_per_rollout']} update slots; held-out problems x "
        f"{settings['num_samples']} samples at temperature 1; predictions and thresholds in docs/objectives.md.",
        "",
        "## Verdicts",
        "",
        "| | prediction | contradicted by | " + " | ".join(summary["rates"]) + " | verdict |",
        "|---|---|---|" + "---|" * len(summary["rates"]) + "---|",
    ]
    for prediction in PREDICTIONS:
        by_rate = " | ".join(part["verdicts"][prediction.key]["verdict"] for part in summary["rates"].values())
        lines.append(
            f"| {prediction.key} | {prediction.claim} | {prediction.contradicted_by} | {by_rate} "
            f"| **{summary['verdicts'][prediction.key]}** |"
        )
    lines += ["", *gate_section(summary), *first_order_section(summary)]
    for rate, part in summary["rates"].items():
        lines += rate_section(rate, part)
    lines += [
        "## Run",
        "",
        f"Wall time {runtime['total_seconds'] / 60:.1f} min on {runtime['cpu_count']} cores (load average at start "
        f"{runtime['load_average_at_start'][0]:.2f}); {runtime['steps_run']} steps run, "
        f"{runtime['steps_skipped_as_done']} skipped as already done"
        + (f"; code of commit {runtime['commit']}" if runtime.get("commit") else "")
        + (" with uncommitted changes" if runtime.get("uncommitted_changes") else "")
        + ".",
        "",
    ]
    return "\n".join(lines)
