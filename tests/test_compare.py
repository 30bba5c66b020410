"""compare.py: paired differences in Pass@k with intervals over problems and seeds.

Specified here:
- coverage: on simulated runs (several seeds per method, shared problems, a known population difference) about 95%
  of the 95% intervals cover the true difference, and with no true difference about 5% exclude 0; the same
  simulation fails an unpaired interval (problems drawn apart for each method: too wide) and one that ignores the
  seeds (too narrow), so the tolerances can tell a wrong method;
- the command: the JSON shape, the table, exact cases (a sure difference, identical files), the p-value;
- every refusal is one line: different problem sets (unless --intersect), tasks or datasets, a k beyond some
  file's samples, too few seeds for --min-seeds, an unmerged shard, a file given twice, an unknown baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.compare import main
from evaluation.paired_bootstrap import bootstrap_p_value, summarize_differences
from rlvr.estimators import pass_at_k
from tests.bad_input import assert_refused

# The simulation: problem difficulty on the logit scale shared by both methods, a per-problem method effect, a
# per-seed (training run) shift, and n samples per problem.
NUM_PROBLEMS, NUM_SAMPLES, NUM_SEEDS = 60, 8, 4
DIFFICULTY_SD, METHOD_BY_PROBLEM_SD, SEED_SD = 1.5, 0.5, 0.2
SHIFT = 0.4  # the better method's logit shift
KS = (1, 8)
REPETITIONS, RESAMPLES = 200, 500


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def true_difference(shift: float, rng: np.random.Generator, draws: int = 400_000) -> np.ndarray:
    """Population Pass@k difference: E[1 - (1 - q)^k] over problems and seeds, better method minus other."""
    difficulty = rng.normal(-0.5, DIFFICULTY_SD, draws)
    means = []
    for method_shift in (shift, 0.0):
        logit = difficulty + method_shift + rng.normal(0, METHOD_BY_PROBLEM_SD, draws) + rng.normal(0, SEED_SD, draws)
        means.append([np.mean(1.0 - (1.0 - _sigmoid(logit)) ** k) for k in KS])
    return np.array(means[0]) - np.array(means[1])


def simulated_table(difficulty: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """(k values, seeds, problems) of one method's per-problem Pass@k."""
    by_problem = difficulty + shift + rng.normal(0, METHOD_BY_PROBLEM_SD, difficulty.size)
    seeds = []
    for _ in range(NUM_SEEDS):
        correct = rng.binomial(NUM_SAMPLES, _sigmoid(by_problem + rng.normal(0, SEED_SD)))
        seeds.append([pass_at_k(np.full(difficulty.size, NUM_SAMPLES), correct, k) for k in KS])
    return np.array(seeds).transpose(1, 0, 2)


def unpaired_interval(ours: np.ndarray, theirs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The wrong method: each method's problems drawn on their own, seeds averaged. (k values, 2) bounds."""
    ours_mean, theirs_mean = ours.mean(axis=1), theirs.mean(axis=1)
    draws = (RESAMPLES, NUM_PROBLEMS)
    ours_draw, theirs_draw = rng.integers(0, NUM_PROBLEMS, draws), rng.integers(0, NUM_PROBLEMS, draws)
    differences = ours_mean[:, ours_draw].mean(axis=2) - theirs_mean[:, theirs_draw].mean(axis=2)
    return np.quantile(differences, [0.025, 0.975], axis=1).T


def coverage(shift: float, seed: int) -> dict[str, np.ndarray]:
    """Share of 95% intervals covering the true difference, per k, for our method and the two wrong ones."""
    rng = np.random.default_rng(seed)
    truth = true_difference(shift, rng) if shift else np.zeros(len(KS))
    covered = {"paired": np.zeros(len(KS)), "unpaired": np.zeros(len(KS)), "seeds ignored": np.zeros(len(KS))}
    for _ in range(REPETITIONS):
        difficulty = rng.normal(-0.5, DIFFICULTY_SD, NUM_PROBLEMS)
        ours, theirs = simulated_table(difficulty, shift, rng), simulated_table(difficulty, 0.0, rng)
        intervals = {
            "paired": [s.interval for s in summarize_differences(ours, theirs, 0.95, RESAMPLES, rng)],
            "unpaired": unpaired_interval(ours, theirs, rng),
            # One "seed" per method (their mean): a legitimate input that hides the run-to-run variance.
            "seeds ignored": [
                s.interval
                for s in summarize_differences(
                    ours.mean(axis=1, keepdims=True), theirs.mean(axis=1, keepdims=True), 0.95, RESAMPLES, rng
                )
            ],
        }
        for name, bounds in intervals.items():
            covered[name] += [low <= true <= high for (low, high), true in zip(bounds, truth, strict=True)]
    return {name: hits / REPETITIONS for name, hits in covered.items()}


def test_intervals_cover_a_known_difference_about_95_percent_of_the_time():
    shares = coverage(SHIFT, seed=0)
    assert np.all((shares["paired"] >= 0.90) & (shares["paired"] <= 0.99)), shares
    # The same check fails the wrong methods: it has the power to catch them.
    assert shares["unpaired"][0] > 0.99, shares  # problems not paired: far too wide at k = 1
    assert shares["seeds ignored"][0] < 0.90, shares  # run-to-run variance left out: too narrow


def test_without_a_difference_about_5_percent_of_intervals_exclude_0():
    shares = coverage(0.0, seed=1)
    excluding = 1.0 - shares["paired"]
    assert np.all((excluding >= 0.01) & (excluding <= 0.10)), shares
    assert 1.0 - shares["unpaired"][0] < 0.01, shares  # the unpaired interval almost never finds anything


def test_p_value_is_two_sided_and_never_0():
    assert bootstrap_p_value(np.full(99, 0.5)) == pytest.approx(2 / 100)
    assert bootstrap_p_value(np.zeros(99)) == 1.0
    assert bootstrap_p_value(np.r_[np.full(90, 1.0), np.full(9, -1.0)]) == pytest.approx(2 * 10 / 100)


# ---------------------------------------------------------------------------------------------------------------
# The command


def counts_file(path: Path, num_correct: list[int], n: int = 4, ids: list | None = None, **metadata) -> Path:
    header = {"format": "rlvr sample counts 1", "metadata": {"task": "countdown", "dataset": "cd", **metadata}}
    ids = list(range(len(num_correct))) if ids is None else ids
    lines = [json.dumps(header)]
    lines += [
        json.dumps({"problem_id": i, "num_correct": c, "num_total": n}) for i, c in zip(ids, num_correct, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def samples_file(path: Path, num_correct: list[int], n: int = 4) -> Path:
    problems = [
        {
            "problem_id": index,
            "question": "q",
            "answer": "1",
            "samples": ["x"] * n,
            "correct": [True] * c + [False] * (n - c),
            "num_correct": c,
            "num_total": n,
        }
        for index, c in enumerate(num_correct)
    ]
    path.write_text(json.dumps({"metadata": {"task": "countdown", "dataset": "cd"}, "problems": problems}))
    return path


def test_json_shape_table_and_a_sure_difference(tmp_path, capsys):
    files = [counts_file(tmp_path / f"a{seed}.jsonl", [0] * 10) for seed in range(2)]
    files += [samples_file(tmp_path / f"b{seed}.json", [4] * 10) for seed in range(3)]  # JSON and JSONL mix
    output = tmp_path / "diff.json"
    argv = ["--samples-paths", *map(str, files), "--labels", "A", "A", "B", "B", "B", "--output-path", str(output)]
    assert main([*argv, "--n-resamples", "999"]) == 0
    document = json.loads(output.read_text())
    assert document["baseline"] == "A"  # the first label when --baseline is not given
    assert list(document["differences"]) == ["B - A"]
    by_k = document["differences"]["B - A"]
    assert list(by_k) == ["1", "2", "4"]  # 1, 2, 4, ... up to every file's samples
    for entry in by_k.values():
        assert entry["difference"] == 1.0 and entry["interval"] == [1.0, 1.0]
        assert entry["p_value"] == pytest.approx(2 / 1000)
        assert entry["num_seeds"] == {"B": 3, "A": 2} and entry["num_problems"] == 10
    assert document["metadata"]["methods"]["B"]["num_seeds"] == 3
    printed = capsys.readouterr().out
    assert "B - A (3 vs 2 seeds)" in printed and "+1.0000" in printed and f"wrote {output}" in printed


def test_identical_methods_differ_by_exactly_0_with_p_1(tmp_path, capsys):
    rng = np.random.default_rng(3)
    correct = rng.integers(0, 5, 30).tolist()
    files = [counts_file(tmp_path / f"{name}.jsonl", correct) for name in ("x", "y")]
    assert main(["--samples-paths", *map(str, files), "--labels", "X", "Y", "--baseline", "Y"]) == 0
    assert "X - Y (1 vs 1 seeds)" in capsys.readouterr().out
    table = summarize_differences(np.array([correct]) / 4, np.array([correct]) / 4, 0.95, 200, rng)
    assert table[0].difference == 0.0 and table[0].interval == (0.0, 0.0) and table[0].p_value == 1.0


def test_problems_are_paired_by_id_not_by_line(tmp_path):
    first = counts_file(tmp_path / "a.jsonl", [0, 4, 0], ids=["p", "q", "r"])
    second = counts_file(tmp_path / "b.jsonl", [4, 0, 0], ids=["q", "r", "p"])  # the same counts, reordered
    output = tmp_path / "d.json"
    main(["--samples-paths", str(first), str(second), "--labels", "A", "B", "--output-path", str(output)])
    entry = json.loads(output.read_text())["differences"]["B - A"]["1"]
    assert entry["difference"] == 0.0 and entry["interval"] == [0.0, 0.0]


def test_intersect_compares_the_shared_problems(tmp_path):
    first = counts_file(tmp_path / "a.jsonl", [0, 0, 0, 0])
    second = counts_file(tmp_path / "b.jsonl", [4, 4, 4], ids=[0, 1, 2])
    output = tmp_path / "d.json"
    argv = ["--samples-paths", str(first), str(second), "--labels", "A", "B", "--intersect", "--output-path"]
    main([*argv, str(output)])
    document = json.loads(output.read_text())
    assert document["differences"]["B - A"]["1"]["num_problems"] == 3
    assert document["metadata"]["problems_left_out_by_intersect"] == {str(first): 1, str(second): 0}


# name: (how the second file differs from the first, or None for the first file again; flags; the words expected)
REFUSALS = {
    "different problems": ({"num_correct": [1, 2, 3]}, [], "--intersect"),
    "different tasks": ({"task": "math"}, [], "one task"),
    "different datasets": ({"dataset": "x"}, [], "dataset"),
    "k beyond the samples": ({"n": 2}, ["--k-values", "4"], "k=4 is larger"),
    "too few seeds": ({}, ["--min-seeds", "2"], "--min-seeds"),
    "a shard": ({"num_shards": 2, "shard_index": 0}, [], "merge the shards"),
    "a file twice": (None, [], "given twice"),
    "one label": ({}, ["--labels", "A", "A"], "at least two labels"),
    "unknown baseline": ({}, ["--labels", "A", "B", "--baseline", "C"], "--baseline"),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_refusals_are_one_line(name, tmp_path, capsys):
    second, flags, fragment = REFUSALS[name]
    first = counts_file(tmp_path / "a.jsonl", [1, 2])
    files = [
        first,
        first if second is None else counts_file(tmp_path / "b.jsonl", **{"num_correct": [1, 2], **second}),
    ]
    labels = [] if "--labels" in flags else ["--labels", "A", "B"]
    output = tmp_path / "diff.json"
    argv = ["--samples-paths", *map(str, files), *labels, *flags, "--output-path", str(output)]
    assert_refused(main, argv, fragment, capsys)
    assert not output.exists()


# ---------------------------------------------------------------------------------------------------------------
# The difference plot


def test_difference_plot_draws_each_method_with_its_band_and_a_zero_line(tmp_path, capsys):
    from evaluation.difference_plot import load_differences, plot_differences
    from evaluation.plotting import main as plotting_main

    files = [counts_file(tmp_path / f"{name}.jsonl", correct) for name, correct in [("a", [0, 1, 2, 3])] * 1]
    files += [counts_file(tmp_path / f"{name}.jsonl", [4, 4, 2, 3]) for name in ("b", "c")]
    diff = tmp_path / "diff.json"
    main(["--samples-paths", *map(str, files), "--labels", "GRPO", "NSR", "PSR", "--output-path", str(diff)])
    figure = plot_differences(load_differences(diff))
    [ax] = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert {"NSR", "PSR"} <= set(lines)
    assert list(lines["NSR"].get_xdata()) == [1, 2, 4] and ax.get_xscale() == "log"
    assert any(list(line.get_ydata()) == [0.0, 0.0] for line in ax.get_lines())  # the zero line
    assert len(ax.collections) == 2  # one interval band per method
    assert plotting_main(["--differences", str(diff), "--output", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.pdf").exists()
    capsys.readouterr()
    not_differences = counts_file(tmp_path / "x.jsonl", [1])
    argv = ["--differences", str(tmp_path / "diff_missing.json"), "--output", str(tmp_path / "g")]
    assert_refused(plotting_main, argv, "no such differences file", capsys)
    diff.write_text(json.dumps({"baseline": "GRPO", "differences": {"NSR - GRPO": {"1": {"difference": 0.1}}}}))
    assert_refused(plotting_main, ["--differences", str(diff)], "'interval' must be [low, high]", capsys)
    assert_refused(plotting_main, ["--differences", str(diff), "--results", str(not_differences)], "one of", capsys)
