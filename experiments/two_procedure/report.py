"""The markdown report of the two-procedure experiment (run.py): gate, learning rate, arms, differences, claims."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.two_procedure.claims import LARGE_K, compare, pass_at, scalar
from experiments.two_procedure.matched import (
    KL_METRICS,
    at_matched_kl,
    matched_kl_differences,
    matched_pass1_differences,
)

ARM_COLUMNS = {
    "Pass@1": lambda p: pass_at(1)(p).mean(),
    f"Pass@{LARGE_K}": lambda p: pass_at(LARGE_K)(p).mean(),
    f"Pass@{LARGE_K}, carry": lambda p: pass_at(LARGE_K, True)(p).mean(),
    "P(Y), carry (T=1)": lambda p: p["p_y_carries"],
    "entropy": lambda p: p["entropy"],
    "distinct answers": lambda p: p["distinct_answers"],
    "KL to base": lambda p: p["kl_to_base"],
}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def interval_text(interval: Mapping[str, float] | None) -> str:
    if interval is None:
        return "-"
    return f"{interval['mean']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def _yes(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def gate_section(summary: Mapping[str, Any]) -> list[str]:
    gate = summary["gate"]
    lines = ["## The mechanism gate", "", "Checks (a)-(c) on every base (SFT seed), (d) on every probe run.", ""]
    rows = []
    for seed, checks in gate["per_base"].items():
        mix, follows, shape = checks["a_mix"], checks["b_follows"], checks["c_shape"]
        large = next(key for key in shape if key.startswith("hard_pass_at_") and key != "hard_pass_at_1")
        rows.append(
            [
                seed,
                f"{mix['p_y']:.3f} (designed {mix['designed']:.2f}), carry - no carry "
                f"{mix['p_y_carries_minus_no_carry']:+.4f}: {_yes(mix['passed'])}",
                ", ".join(
                    f"{tag} {rate:.3f}" if rate is not None else f"{tag} -" for tag, rate in follows["rates"].items()
                )
                + f": {_yes(follows['passed'])}",
                f"Pass@1 {shape['hard_pass_at_1']:.3f}, Pass@{large.rsplit('_', 1)[1]} {shape[large]:.3f}; "
                f"{shape['share_in_band']:.0%} of problems with {shape['band'][0]}-{shape['band'][1]} correct: "
                f"{_yes(shape['passed'])}",
            ]
        )
    lines += _table(
        ["SFT seed", "(a) P(Y) at T=1", "(b) answers that follow their tag", "(c) problems that carry"], rows
    )
    probes = gate["coupling"]["probes"]
    lines += ["", "(d) PSR on problems without a carry only; mean P(Y) on held-out problems that carry:", ""]
    lines += _table(
        ["probe run", "base", "after", "lower"],
        [
            [p["run"], f"{p['base_p_y_carries']:.4f}", f"{p['after']:.4f}", _yes(p["after"] < p["base_p_y_carries"])]
            for p in probes
        ],
    )
    verdict = (
        "passed" if gate["passed"] else f"failed ({', '.join(gate['failed'])}): every large-k claim is not testable"
    )
    return [*lines, "", f"**Gate: {verdict}.**"]


def learning_rate_section(summary: Mapping[str, Any]) -> list[str]:
    choice = summary["learning_rate"]
    intervals = choice["base_intervals"]
    ks = list(intervals)
    lines = [
        "## The learning rate",
        "",
        "Largest first; a rate survives when every control keeps Pass@k inside the "
        "base's 95% interval over problems (first SFT and RL seed) at every checkpoint. Base: "
        + ", ".join(f"Pass@{k} [{low:.3f}, {high:.3f}]" for k, (low, high) in intervals.items())
        + ".",
        "",
    ]
    rows = []
    for rate, tested in choice["tested"].items():
        for arm, control in tested["controls"].items():
            values = "; ".join(
                f"step {'end' if point['step'] < 0 else point['step']}: "
                + ", ".join(f"{point[f'pass_at_{k}']:.3f}" for k in ks)
                for point in control["points"]
            )
            rows.append([rate, arm, values, _yes(control["survived"])])
    lines += _table(["rate", "control", f"Pass@{' and Pass@'.join(ks)} at each checkpoint", "survived"], rows)
    chosen = choice["chosen"]
    text = f"chosen {chosen}" if chosen else f"no rate survived; the smallest, {choice['used']}, was used"
    return [*lines, "", f"**Learning rate: {text}.**"]


def arms_section(summary: Mapping[str, Any]) -> list[str]:
    labels = list(summary["arms"])
    rows = [
        [
            "base",
            *(_mean_std([column(base["points"][0]) for base in summary["bases"]]) for column in ARM_COLUMNS.values()),
            "-",
        ]
    ]
    for label in labels:
        runs = [run for run in summary["runs"] if run["arm"] == label]
        if runs:
            rows.append(
                [
                    label,
                    *(_mean_std([column(run["points"][-1]) for run in runs]) for column in ARM_COLUMNS.values()),
                    _mean_std([float(run["updates"]) for run in runs]),
                ]
            )
    return [
        "## Every arm at the end, mean ± std over runs",
        "",
        *_table(["arm", *ARM_COLUMNS, "optimizer updates"], rows),
    ]


def differences_section(summary: Mapping[str, Any]) -> list[str]:
    metrics = {
        "Pass@1": pass_at(1),
        "Pass@16": pass_at(16),
        f"Pass@{LARGE_K}, carry": pass_at(LARGE_K, True),
        "P(Y), carry": scalar("p_y_carries"),
        "KL to base": scalar("kl_to_base"),
        "entropy": scalar("entropy"),
        "distinct answers": scalar("distinct_answers"),
    }
    ran = {run["arm"] for run in summary["runs"]}
    rows = []
    for label in summary["objectives"]:
        references = ["base", *(c for c, arm in summary["arms"].items() if arm["control_of"] == label and c in ran)]
        references += [label.removesuffix("-fixed")] if label.endswith("-fixed") else []
        for reference in references if label in ran else []:
            cells = [interval_text(compare(summary, label, reference, metric)) for metric in metrics.values()]
            rows.append([f"{label} - {reference}", *cells])
    for label in sorted(ran - set(summary["objectives"])):
        rows.append(
            [f"{label} - base", *(interval_text(compare(summary, label, "base", m)) for m in metrics.values())]
        )
    return [
        "## Differences, mean [95% bootstrap interval over SFT seeds, RL seeds and problems]",
        "",
        *_table(["difference", *metrics], rows),
    ]


def _differences_table(first: str, differences: Mapping[str, Mapping[str, dict | None]]) -> list[str]:
    names = list(next(iter(differences.values()), {}))
    rows = [[label, *(interval_text(cells.get(name)) for name in names)] for label, cells in differences.items()]
    return _table([first, *names], rows) if rows else ["(no pair of objectives ran)"]


def matched_kl_section(summary: Mapping[str, Any]) -> list[str]:
    means: dict[str, list[str]] = {}
    targets: dict = {}
    for metric in KL_METRICS.values():
        matched = at_matched_kl(summary, metric)
        targets = matched["targets"]
        for label, by_pair in matched["values"].items():
            means.setdefault(label, []).append(_mean_std([float(values.mean()) for values in by_pair.values()]))
    return [
        "## Objectives at matched KL",
        "",
        "Each objective's per-problem Pass@k interpolated along its path (base, middle, end) to the smallest final KL "
        f"to the base among the objectives of each seed pair ({_mean_std(list(targets.values()))} nats per "
        "completion); mean ± std over seed pairs, then differences with their bootstrap intervals.",
        "",
        *_table(["objective", *KL_METRICS], [[label, *cells] for label, cells in means.items()]),
        "",
        *_differences_table("at matched KL", matched_kl_differences(summary)),
    ]


def matched_pass1_section(summary: Mapping[str, Any]) -> list[str]:
    return [
        "## Entropy and distinct answers at matched Pass@1",
        "",
        "Each less a straight line through every run's final point against Pass@1, so that an arm is not called "
        "narrow for being accurate; differences with their bootstrap intervals (the controls' raw entropy and "
        "distinct answers against the base are in the table of differences).",
        "",
        *_differences_table("at matched Pass@1", matched_pass1_differences(summary)),
    ]


def reproduction_section(summary: Mapping[str, Any]) -> list[str]:
    check = summary.get("reproduction")
    if check is None:
        return []
    commit = check["published_commit"] or "unrecorded"
    rows = [
        [row["number"], interval_text(row["published"]), interval_text(row["new"]), "yes" if row["inside"] else "NO"]
        for row in check["rows"]
    ]
    changed = [v for v in check["verdicts"] if v["published"] != v["new"]]
    return [
        "## Against the published run",
        "",
        f"The report committed before this run (commit {commit}, learning rate {check['published_learning_rate']}): "
        "a number reproduces when this run's estimate lies inside the published 95% interval.",
        "",
        *_table(["number", "published", "this run", "inside"], rows),
        "",
        f"Verdicts changed: {len(changed)} of {len(check['verdicts'])}"
        + "".join(f"; {v['claim']}: {v['published']} -> {v['new']}" for v in changed)
        + ".",
        "",
        f"**Reproduction: {'every number and verdict reproduced' if check['reproduced'] else 'NOT reproduced'}.**",
    ]


def claims_section(summary: Mapping[str, Any]) -> list[str]:
    lines = ["## The predictions, with verdicts", ""]
    for number, claim in enumerate(summary["claims"], start=1):
        lines.append(
            f"{number}. **{claim['claim']}**: {claim['verdict']}" + (f" ({claim['why']})" if claim["why"] else "")
        )
        lines += [f"   - {name}: {interval_text(value)}" for name, value in claim["evidence"].items()]
    return lines


def markdown_report(summary: Mapping[str, Any]) -> str:
    settings, runtime = summary["settings"], summary.get("runtime", {})
    lines = [
        "# The decomposed objectives on two-procedure addition: results",
        "",
        f"Generated by `python -m experiments.two_procedure.run`; nothing here is edited by hand. SFT seeds "
        f"{', '.join(map(str, settings['sft_seeds']))} x RL seeds {', '.join(map(str, settings['rl_seeds']))}; "
        f"{settings['rollouts']} rollouts of 64 prompts x 8 samples per run; held-out problems x "
        f"{settings['num_samples']} samples at temperature 0.6.",
        "",
        *gate_section(summary),
        "",
        *learning_rate_section(summary),
        "",
        *claims_section(summary),
        "",
        *arms_section(summary),
        "",
        *differences_section(summary),
        "",
        *matched_kl_section(summary),
        "",
        *matched_pass1_section(summary),
    ]
    if summary.get("reproduction"):
        lines += ["", *reproduction_section(summary)]
    if runtime:
        lines += [
            "",
            f"Wall time {runtime['total_seconds'] / 60:.1f} min on {runtime['cpu_count']} cores (load "
            f"average at start {runtime['load_average_at_start'][0]}); {runtime['steps_run']} steps run, "
            f"{runtime['steps_skipped_as_done']} skipped as already done; code of commit "
            f"{runtime.get('commit') or 'unrecorded'}"
            + (" with uncommitted changes" if runtime.get("uncommitted_changes") else "")
            + ".",
        ]
    return "\n".join(lines) + "\n"
