"""The toy experiment's fairer comparisons: at matched KL, at matched Pass@1, against the learning-rate-0 control,
and of a new run against the published report."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from toy_summaries import fabricated, run

from experiments.common.stats import per_problem_pass_at_k, sign_of
from experiments.two_procedure.arms import ARMS, LR0, Settings
from experiments.two_procedure.claims import paper_claims
from experiments.two_procedure.matched import at_matched_kl, matched_kl_differences, matched_pass1_differences
from experiments.two_procedure.report import markdown_report
from experiments.two_procedure.reproduction import compare_runs, inside_as_printed, published_summary
from experiments.two_procedure.run import Experiment, run_name


def test_each_objective_is_read_off_its_path_at_the_smallest_final_kl_of_its_seed_pair():
    summary = fabricated()
    for record in summary["runs"]:
        if record["arm"] == "psr":
            record["points"][-1]["kl_to_base"] = 1.0  # PSR went twice as far as the others (0.5)
    matched = at_matched_kl(summary, lambda point: per_problem_pass_at_k(point, 1))
    assert set(matched["targets"].values()) == {0.5}
    psr = next(r for r in summary["runs"] if r["arm"] == "psr" and (r["sft_seed"], r["rl_seed"]) == (0, 0))
    middle, end = (per_problem_pass_at_k(point, 1) for point in psr["points"])
    np.testing.assert_allclose(matched["values"]["psr"][(0, 0)], (middle + end) / 2)  # halfway to its end
    nsr = next(r for r in summary["runs"] if r["arm"] == "nsr" and (r["sft_seed"], r["rl_seed"]) == (0, 0))
    np.testing.assert_allclose(matched["values"]["nsr"][(0, 0)], per_problem_pass_at_k(nsr["points"][-1], 1))


def test_matched_kl_differences_have_intervals_for_the_papers_contrasts():
    differences = matched_kl_differences(fabricated())
    assert list(differences) == ["psr - nsr", "psr - grpo", "nsr - grpo", "w-reinforce - psr"]
    assert sign_of(differences["psr - nsr"]["Pass@64, carry"]) == -1  # PSR solves fewer hard problems


def test_at_matched_pass1_an_arm_is_not_narrow_for_being_accurate():
    summary = fabricated()
    for record in summary["runs"]:  # every arm on one line of entropy against accuracy: nobody is narrower
        final = record["points"][-1]
        final["entropy"] = 1.0 - per_problem_pass_at_k(final, 1).mean()
    same_line = matched_pass1_differences(summary)["psr - nsr"]["entropy"]
    assert abs(same_line["low"]) < 1e-9 and abs(same_line["high"]) < 1e-9
    for record in summary["runs"]:
        if record["arm"] == "psr":
            record["points"][-1]["entropy"] -= 0.05  # now PSR is narrower at the same accuracy
    assert sign_of(matched_pass1_differences(summary)["psr - nsr"]["entropy"]) == -1


def test_the_learning_rate_0_control_runs_every_seed_at_rate_0_and_is_reported_against_the_base(tmp_path):
    assert run_name(LR0, 0, 1, "3e-5") == ("lr0-sft0-rl1", "0")
    assert run_name(ARMS["psr"], 0, 1, "3e-5") == ("psr-lr3e-5-sft0-rl1", "3e-5")
    assert "lr0" in Settings().nulls and "lr0" not in Settings().controls  # not part of the sweep

    commands = []

    class Recorder:
        def run(self, name, command, done):
            commands.append(command)

    experiment = Experiment(Settings(), tmp_path, jobs=1)
    experiment.steps = Recorder()
    experiment.train("lr0-sft0-rl1", LR0, 0, 1, "0", 24)
    command = commands[0]
    assert command[command.index("--learning-rate") + 1] == "0"
    report = markdown_report(fabricated())
    assert "| lr0 - base |" in report


def test_a_rerun_with_the_same_numbers_reproduces_the_published_run():
    published = fabricated()
    check = compare_runs(published, json.loads(json.dumps(published)))
    assert check["reproduced"] and all(row["inside"] for row in check["rows"])
    assert any(row["number"] == "base (SFT seed 0), Pass@1" for row in check["rows"])


def test_a_number_outside_the_published_interval_is_not_reproduced():
    published = fabricated()
    new = fabricated()
    new["runs"] = [r for r in new["runs"] if r["arm"] != "psr"]
    new["runs"] += [run("psr", sft, rl, 0.40, 60) for sft in (0, 1) for rl in (0, 1, 2)]  # PSR now widens
    new["claims"] = paper_claims(new)
    check = compare_runs(published, new)
    assert not check["reproduced"]
    assert not next(row for row in check["rows"] if row["number"] == "psr - base, P(Y)")["inside"]
    changed = [v for v in check["verdicts"] if v["published"] != v["new"]]
    assert any(v["claim"] == "PSR lowers P(Y) on problems that carry" for v in changed)
    assert "**Reproduction: NOT reproduced.**" in markdown_report({**new, "reproduction": check})


@pytest.mark.parametrize(
    ("value", "interval", "inside"),
    [(0.99996, (1.0, 1.0), True), (0.5, (0.4, 0.6), True), (0.62, (0.4, 0.6), False), (0.6004, (0.4, 0.6), True)],
)
def test_inside_means_inside_as_the_report_prints_it(value, interval, inside):
    assert inside_as_printed(value, {"low": interval[0], "high": interval[1]}) is inside


def test_the_published_report_is_the_one_committed_at_head(tmp_path):
    results = tmp_path / "docs" / "results" / "objectives_toy.json"
    results.parent.mkdir(parents=True)
    assert published_summary(results, tmp_path) is None  # not a git checkout
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    results.write_text(json.dumps({"learning_rate": {"used": "3e-5"}}))
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "published"], check=True)
    results.write_text(json.dumps({"learning_rate": {"used": "1e-4"}}))  # a newer run overwrote it, uncommitted
    assert published_summary(results, tmp_path) == {"learning_rate": {"used": "3e-5"}}
