"""Pass@k: the estimator against exact counting, the intervals' coverage, the schemas and every bad input."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evaluation.pass_at_k import compute_results, main, pass_at_k
from evaluation.results_file import load_results
from evaluation.results_tables import format_comparison_table
from evaluation.samples_file import load_samples, read_samples_file
from rlvr.errors import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "evaluation" / "pass_at_k.py"


def make_problem(index: int, correct: list[bool], **extra) -> dict:
    return {
        "problem_id": f"p{index}",
        "question": f"question {index}",
        "answer": "42",
        "samples": [f"<answer>{'42' if ok else '7'}</answer>" for ok in correct],
        "correct": correct,
        "num_correct": sum(correct),
        "num_total": len(correct),
        **extra,
    }


def make_problems(num_correct: list[int], n: int, **extra) -> list[dict]:
    return [make_problem(index, [True] * c + [False] * (n - c), **extra) for index, c in enumerate(num_correct)]


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The command line in this process (scipy is loaded once); returns what it printed."""
    assert main(list(args)) == 0
    return capsys.readouterr().out


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# ---------------------------------------------------------------------------------------------------------------
# The estimator


def test_matches_brute_force_enumeration_of_all_k_subsets():
    for n in range(1, 9):
        for k in range(1, n + 1):
            counts = np.arange(n + 1)
            estimates = pass_at_k(np.full(n + 1, n), counts, k)
            for c, estimate in zip(counts, estimates, strict=True):
                outcomes = [True] * c + [False] * (n - c)
                subsets = list(itertools.combinations(outcomes, k))
                expected = sum(any(subset) for subset in subsets) / len(subsets)
                assert estimate == pytest.approx(expected, abs=1e-12), (n, c, k)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 64, 100, 255, 256, 257, 500, 1000, 1024])
def test_matches_big_integer_binomials_to_1e_12(n):
    ks = sorted({k for k in (1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024, n - 1, n) if 1 <= k <= n})
    counts = np.array(sorted({0, 1, 2, n // 3, n // 2, n - 2, n - 1, n} & set(range(n + 1))))
    for k in ks:
        estimates = pass_at_k(np.full(counts.size, n), counts, k)
        for c, estimate in zip(counts, estimates, strict=True):
            assert abs(estimate - float(exact_pass_at_k(n, int(c), k))) <= 1e-12, (n, int(c), k)


def test_binomials_too_large_for_floats_are_no_problem():
    with pytest.raises(OverflowError):
        float(math.comb(1100, 550))
    estimate = pass_at_k(np.array([1100]), np.array([3]), 550)[0]
    assert abs(estimate - float(exact_pass_at_k(1100, 3, 550))) <= 1e-12
    assert abs(pass_at_k(np.array([256]), np.array([100]), 128)[0] - float(exact_pass_at_k(256, 100, 128))) <= 1e-12


def test_edge_cases_are_exact():
    n = np.array([1, 5, 256, 256])
    assert np.all(pass_at_k(n, np.zeros(4, dtype=int), 1) == 0.0)  # c = 0: never solved
    assert np.all(pass_at_k(n, n, 1) == 1.0)  # c = n: always solved
    assert pass_at_k(np.array([256, 256]), np.array([1, 0]), 256).tolist() == [1.0, 0.0]  # k = n
    assert pass_at_k(np.array([10]), np.array([3]), 8)[0] == 1.0  # n - c < k: every k-subset has a correct one


def test_problems_with_different_n_in_one_call_match_one_at_a_time():
    n = np.array([4, 16, 256, 7])
    c = np.array([1, 0, 200, 7])
    together = pass_at_k(n, c, 4)
    for index in range(n.size):
        assert together[index] == pass_at_k(n[index : index + 1], c[index : index + 1], 4)[0]


@pytest.mark.parametrize(
    ("n", "c", "k"),
    [([4], [1], 5), ([4], [1], 0), ([4], [5], 1), ([4], [-1], 1), ([4, 4], [1], 1), ([4], [1], 1.5)],
)
def test_invalid_arguments_raise_value_error(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(np.array(n), np.array(c), k)


# ---------------------------------------------------------------------------------------------------------------
# Results: values, k grid, breakdown, ragged problems


def test_results_average_the_estimator_over_problems_and_use_string_keys_with_integer_k_values():
    problems = make_problems([0, 1, 4, 8], n=8)
    results = compute_results(problems, n_resamples=200, method="NSR", samples_path="samples_nsr.json")
    assert results["k_values"] == [1, 2, 4, 8]  # the default grid stops at n
    assert list(results["pass_at_k"]) == ["1", "2", "4", "8"]
    for k in results["k_values"]:
        expected = np.mean([float(exact_pass_at_k(8, c, k)) for c in (0, 1, 4, 8)])
        assert results["pass_at_k"][str(k)] == pytest.approx(expected, abs=1e-12)
        low, high = results["confidence_intervals"][str(k)]
        assert 0.0 <= low <= results["pass_at_k"][str(k)] <= high <= 1.0
    assert results["num_problems_per_k"] == {"1": 4, "2": 4, "4": 4, "8": 4}
    assert results["breakdown"] == {}
    assert results["metadata"] == {
        "method": "NSR",
        "num_problems": 4,
        "samples_per_problem": 8,
        "samples_per_problem_range": [8, 8],
        "samples_path": "samples_nsr.json",
        "confidence": 0.95,
        "n_resamples": 200,
        "seed": 2025,
    }
    json.dumps(results, allow_nan=False)  # plain JSON: no NaN, no numpy types


def test_default_grid_is_powers_of_two_up_to_256():
    results = compute_results(make_problems([1, 2], n=300), n_resamples=50)
    assert results["k_values"] == [1, 2, 4, 8, 16, 32, 64, 128, 256]


def test_explicit_k_values_are_sorted_and_deduplicated():
    results = compute_results(make_problems([1, 2], n=16), k_values=[16, 3, 3, 1], n_resamples=50)
    assert results["k_values"] == [1, 3, 16]


def test_breakdown_by_dataset_and_question_type_matches_the_subsets():
    problems = [
        make_problem(0, [True, False, False, False], dataset="chartqa", question_type="numeric"),
        make_problem(1, [True, True, False, False], dataset="chartqa", question_type="yes/no"),
        make_problem(2, [False, False, False, False], dataset="evochart", question_type="numeric"),
    ]
    results = compute_results(problems, n_resamples=100)
    by_dataset = results["breakdown"]["dataset"]
    assert set(by_dataset) == {"chartqa", "evochart"}
    assert by_dataset["chartqa"]["num_problems"] == 2
    assert by_dataset["chartqa"]["pass_at_k"]["1"] == pytest.approx((0.25 + 0.5) / 2)
    assert by_dataset["evochart"]["pass_at_k"]["2"] == 0.0
    assert by_dataset["evochart"]["confidence_intervals"]["2"] == [0.0, 0.0]  # one problem: the point itself
    assert results["breakdown"]["question_type"]["numeric"]["pass_at_k"]["1"] == pytest.approx(0.125)


def test_problems_without_the_field_are_grouped_as_unknown():
    problems = [make_problem(0, [True, False], dataset="chartqa"), make_problem(1, [False, False])]
    assert set(compute_results(problems, n_resamples=50)["breakdown"]["dataset"]) == {"chartqa", "unknown"}


def test_ragged_problems_are_an_error_unless_allowed():
    problems = [make_problem(0, [True] * 2 + [False] * 6), make_problem(1, [True, False, False, False])]
    with pytest.raises(UserError, match="allow-ragged"):
        compute_results(problems, n_resamples=50)
    results = compute_results(problems, allow_ragged=True, n_resamples=50)
    assert results["k_values"] == [1, 2, 4, 8]
    assert results["num_problems_per_k"] == {"1": 2, "2": 2, "4": 2, "8": 1}
    assert results["pass_at_k"]["8"] == 1.0  # only the n = 8 problem counts, and 8 - 2 < 8
    assert results["metadata"]["samples_per_problem"] is None
    assert results["metadata"]["samples_per_problem_range"] == [4, 8]


def test_explicit_k_larger_than_n_is_an_error():
    with pytest.raises(UserError, match="k=16"):
        compute_results(make_problems([1], n=8), k_values=[1, 16], n_resamples=50)


# ---------------------------------------------------------------------------------------------------------------
# Intervals


def test_intervals_are_reproducible_with_the_seed_and_independent_of_other_k():
    problems = make_problems(list(range(0, 33, 3)), n=32)
    first = compute_results(problems, k_values=[1, 4], seed=7, n_resamples=300)
    again = compute_results(problems, k_values=[4], seed=7, n_resamples=300)
    other = compute_results(problems, k_values=[1, 4], seed=8, n_resamples=300)
    assert first["confidence_intervals"]["4"] == again["confidence_intervals"]["4"]
    assert first["confidence_intervals"]["1"] != other["confidence_intervals"]["1"]


@pytest.mark.parametrize("num_correct", [[3], [2, 2, 2, 2], [0, 0, 0], [8, 8]])
def test_degenerate_samples_collapse_the_interval_to_the_point(num_correct):
    results = compute_results(make_problems(num_correct, n=8), n_resamples=100)
    for k in results["k_values"]:
        value = results["pass_at_k"][str(k)]
        assert results["confidence_intervals"][str(k)] == [value, value]


def test_intervals_cover_the_population_pass_at_k_at_about_the_stated_rate():
    # Problems are drawn from a population with success probability p ~ Beta(a, b); the truth is the
    # population's expected pass@k, 1 - E[(1-p)^k] = 1 - prod_{j<k} (b+j)/(a+b+j).
    a, b, n, num_problems, num_datasets = 0.6, 1.4, 16, 40, 200
    ks = (1, 4)
    truth = {k: 1.0 - math.prod((b + j) / (a + b + j) for j in range(k)) for k in ks}
    rng = np.random.default_rng(12345)
    covered = dict.fromkeys(ks, 0)
    for dataset in range(num_datasets):
        probabilities = rng.beta(a, b, size=num_problems)
        counts = rng.binomial(n, probabilities).tolist()
        results = compute_results(make_problems(counts, n=n), k_values=ks, n_resamples=300, seed=dataset)
        for k in ks:
            low, high = results["confidence_intervals"][str(k)]
            covered[k] += low <= truth[k] <= high
    for k in ks:
        assert 0.88 <= covered[k] / num_datasets <= 0.99, (k, covered[k] / num_datasets)


# ---------------------------------------------------------------------------------------------------------------
# Samples files: both layouts


def test_list_and_object_layouts_load_the_same_problems(tmp_path):
    problems = make_problems([1, 2], n=4, dataset="chartqa")
    as_list = write_json(tmp_path / "list.json", problems)
    metadata = {"model": "tiny", "temperature": 0.6, "top_p": 0.95, "num_samples": 4}
    as_object = write_json(tmp_path / "object.json", {"metadata": metadata, "problems": problems})
    assert load_samples(as_list) == load_samples(as_object) == problems
    assert read_samples_file(as_object)[1] == metadata


def test_an_answer_may_be_a_list_of_accepted_answers(tmp_path):
    problem = make_problem(0, [True, False]) | {"answer": ["1.5", 1.5]}
    assert load_samples(write_json(tmp_path / "samples.json", [problem]))[0]["answer"] == ["1.5", 1.5]


def test_generation_metadata_is_kept_in_the_results(tmp_path, capsys):
    problems = make_problems([1, 2], n=4)
    path = write_json(tmp_path / "samples.json", {"metadata": {"temperature": 0.6}, "problems": problems})
    output = tmp_path / "out" / "results.json"
    run_main(capsys, "--samples-path", str(path), "--output-path", str(output), "--n-resamples", "50")
    assert json.loads(output.read_text())["metadata"]["generation"] == {"temperature": 0.6}


# ---------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_writes_the_results_file_and_prints_a_table(tmp_path):
    path = write_json(tmp_path / "samples_nsr.json", make_problems([0, 3, 8, 16], n=16, dataset="chartqa"))
    output = tmp_path / "results_nsr.json"
    result = run_cli("--samples-path", str(path), "--output-path", str(output), "--n-resamples", "100")
    assert result.returncode == 0, result.stderr
    results = load_results(output)
    assert results["metadata"]["method"] == "nsr"  # from the file name, without 'samples_'
    assert results["k_values"] == [1, 2, 4, 8, 16]
    assert results["breakdown"]["dataset"]["chartqa"]["num_problems"] == 4
    assert "pass@k" in result.stdout and "95% CI" in result.stdout
    assert f"{results['pass_at_k']['4']:.4f}" in result.stdout


def test_cli_compares_several_methods_against_a_baseline_in_one_table(tmp_path, capsys):
    grpo = write_json(tmp_path / "samples_grpo.json", make_problems([1, 1, 2, 2], n=8))
    nsr = write_json(tmp_path / "samples_nsr.json", make_problems([2, 2, 4, 4], n=8))
    printed = run_main(
        capsys, "--samples-path", str(grpo), str(nsr), "--method-name", "GRPO", "NSR", "--baseline", "GRPO",
        "--k-values", "1", "8", "--n-resamples", "50",
    )  # fmt: skip
    lines = printed.splitlines()
    assert sum("GRPO (baseline)" in line for line in lines) == 1
    header = next(line for line in lines if "GRPO (baseline)" in line)
    assert "NSR - GRPO" in header
    row_k1 = next(line for line in lines if line.split()[0] == "1")
    assert "+0.1875" in row_k1  # 12/32 - 6/32


def test_cli_baseline_can_be_a_results_file(tmp_path, capsys):
    base = write_json(tmp_path / "samples_base.json", make_problems([0, 1, 2, 3], n=8))
    base_results = tmp_path / "results_base.json"
    run_main(capsys, "--samples-path", str(base), "--output-path", str(base_results), "--n-resamples", "50")
    nsr = write_json(tmp_path / "samples_nsr.json", make_problems([4, 4, 4, 4], n=8))
    printed = run_main(capsys, "--samples-path", str(nsr), "--baseline", str(base_results), "--n-resamples", "50")
    assert "base (baseline)" in printed and "nsr - base" in printed


def test_comparison_table_leaves_missing_k_blank():
    first = {"pass_at_k": {"1": 0.5, "2": 0.7}, "confidence_intervals": {}}
    second = {"pass_at_k": {"1": 0.4}, "confidence_intervals": {}}
    table = format_comparison_table([("A", first), ("B", second)], baseline="A")
    row_k2 = next(line for line in table.splitlines() if line.split()[0] == "2")
    assert row_k2.split() == ["2", "0.7000", "-", "-"]


def test_cli_allow_ragged_reports_problems_per_k(tmp_path, capsys):
    problems = [make_problem(0, [True] + [False] * 7), make_problem(1, [True, False])]
    path = write_json(tmp_path / "samples.json", problems)
    output = tmp_path / "results.json"
    flags = ["--output-path", str(output), "--allow-ragged", "--n-resamples", "50"]
    printed = run_main(capsys, "--samples-path", str(path), *flags)
    assert json.loads(output.read_text())["num_problems_per_k"] == {"1": 2, "2": 2, "4": 1, "8": 1}
    assert "problems" in printed.splitlines()[1]


def _bad_samples_cases() -> dict[str, tuple[object, list[str], list[str]]]:
    good = make_problems([1, 2], n=4)
    missing_key = [{key: value for key, value in good[0].items() if key != "correct"}, good[1]]
    wrong_type = [good[0], {**good[1], "correct": "yes"}]
    count_as_bool = [good[0], {**good[1], "num_total": True}]
    lengths = [good[0], {**good[1], "correct": [True, False, False]}]
    sums = [good[0], {**good[1], "num_correct": 3}]
    ragged = [good[0], make_problem(1, [True, False])]
    duplicate = [good[0], {**good[1], "problem_id": good[0]["problem_id"]}]
    return {
        # name: (file content, extra flags, fragments the one-line error must contain)
        "malformed JSON": ('[{"problem_id": 1,', [], ["not valid JSON"]),
        "empty file": ("", [], ["empty"]),
        "empty list": ([], [], ["no problems"]),
        "object without problems": ({"metadata": {}}, [], ["'problems'"]),
        "object with no problems": ({"metadata": {}, "problems": []}, [], ["no problems"]),
        "not a list": ("42", [], ["expected a list"]),
        "problem not an object": ([good[0], "x"], [], ["problem 1", "expected an object"]),
        "missing key": (missing_key, [], ["problem 0", "missing key 'correct'"]),
        "wrong type": (wrong_type, [], ["problem 1", "'correct'"]),
        "bool as a count": (count_as_bool, [], ["problem 1", "'num_total'"]),
        "len(correct) != num_total": (lengths, [], ["problem 1", "len(correct) is 3", "num_total is 4"]),
        "num_correct != sum(correct)": (sums, [], ["problem 1", "num_correct is 3"]),
        "k > n": (good, ["--k-values", "1", "8"], ["k=8"]),
        "ragged without the flag": (ragged, [], ["problem 1", "--allow-ragged"]),
        "duplicate problem_id": (duplicate, [], ["problem 1", "already used"]),
    }


@pytest.mark.parametrize("case", list(_bad_samples_cases()))
def test_cli_bad_samples_give_one_clear_line_and_exit_code_2(tmp_path, case):
    content, flags, fragments = _bad_samples_cases()[case]
    path = tmp_path / "samples.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    result = run_cli("--samples-path", str(path), "--n-resamples", "50", *flags)
    assert_user_error(result, str(path), *fragments)


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--method-name", "A", "B"], "--method-name has 2 names for 1"),
        (["--output-path", "a.json", "b.json"], "--output has 2 paths for 1"),
        (["--confidence", "1.5"], "--confidence"),
        (["--n-resamples", "1"], "--n-resamples"),
        (["--baseline", "nothing-like-this"], "--baseline"),
    ],
)
def test_cli_bad_flags_give_one_clear_line_and_exit_code_2(tmp_path, flags, fragment):
    path = write_json(tmp_path / "samples.json", make_problems([1, 2], n=4))
    assert_user_error(run_cli("--samples-path", str(path), *flags), fragment)


def test_cli_missing_samples_file_is_a_clear_error(tmp_path):
    assert_user_error(run_cli("--samples-path", str(tmp_path / "absent.json")), "absent.json", "no such samples file")


def test_cli_bad_second_file_writes_nothing(tmp_path):
    good = write_json(tmp_path / "good.json", make_problems([1, 2], n=4))
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    outputs = [tmp_path / "r_good.json", tmp_path / "r_bad.json"]
    result = run_cli("--samples-path", str(good), str(bad), "--output-path", *map(str, outputs))
    assert_user_error(result, "bad.json")
    assert not any(path.exists() for path in outputs)
