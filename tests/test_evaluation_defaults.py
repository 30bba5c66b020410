"""Evaluation defaults that match the paper, and one rule for which problems an evaluation scores.

Specified here:
- generate_samples.py samples at temperature 0.6 and top-p 0.95 unless told otherwise, and ``--mode eval`` answers
  at the same settings (``--eval-temperature``, ``--eval-top-p``; temperature 0 decodes greedily);
- the problems: generate_samples.py ``--max-problems N``, main.py ``--mode eval --max-eval-samples N`` and
  ``--eval-subset-size N`` during training all take ``rlvr.tasks.load_held_out``'s subset, which is seeded by
  ``HELD_OUT_DATASET_SEED`` and so the same whatever the run's ``--seed`` (not the first N rows);
- MATH, AIME and AMC answers are the last ``\\boxed{}`` of a completion, compared with math-verify, by the reward
  both evaluations score with.
"""

from __future__ import annotations

import json

import pytest

import generate_samples
import main
import rlvr.tasks
from rlvr.errors import UserError
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task, load_held_out
from rlvr.tasks.base import score_completions
from trainers.config import RunConfig
from trainers.config_parser import parse_run_config
from trainers.training_eval import held_out_rows


class Loaded(Exception):
    """Raised by the stand-in loader: the script has asked for its problems, nothing more is needed."""


@pytest.fixture
def problem_requests(monkeypatch) -> list[tuple]:
    requests: list[tuple] = []

    def record(task, name, split, path, num_problems):
        requests.append((task.name, name, split, path, num_problems))
        raise Loaded

    monkeypatch.setattr(rlvr.tasks, "load_held_out", record)
    return requests


def test_sampling_defaults_are_the_papers():
    args = generate_samples.build_parser().parse_args(["--checkpoint-path", "tiny"])
    assert (args.temperature, args.top_p) == (0.6, 0.95)
    config = parse_run_config(["--mode", "eval", "--output-dir", "unused"])
    assert (config.eval_temperature, config.eval_top_p) == (0.6, 0.95)
    assert RunConfig().temperature == 1.0  # the rollouts' temperature is the training's, not the evaluation's


@pytest.mark.parametrize(("flag", "value"), [("--eval-temperature", "-0.1"), ("--eval-top-p", "0")])
def test_bad_evaluation_sampling_is_refused_in_one_line(flag, value):
    with pytest.raises(UserError, match=f"^{flag} must"):
        parse_run_config(["--mode", "eval", flag, value, "--output-dir", "unused"])


def test_both_evaluations_ask_for_the_same_held_out_problems(problem_requests, tmp_path):
    with pytest.raises(Loaded):
        generate_samples.main(
            ["--checkpoint-path", "tiny", "--max-problems", "3", "--output", str(tmp_path / "s.json")]
        )
    with pytest.raises(Loaded):
        main.main(["--mode", "eval", "--max-eval-samples", "3", "--seed", "7", "--output-dir", str(tmp_path / "e")])
    assert problem_requests == [("chart", "synthetic", "test", None, 3)] * 2


def test_the_held_out_subset_is_seeded_and_does_not_follow_the_runs_seed(tmp_path):
    math = get_task("math")
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"problem": f"p{i}", "answer": str(i)}) + "\n" for i in range(40)))
    chosen = list(load_held_out(math, "math500", "test", str(path), 5)["problem"])
    assert chosen != [f"p{i}" for i in range(5)]  # a seeded subset, not the first rows
    assert chosen == list(math.load_dataset("math500", "test", str(path), 5, HELD_OUT_DATASET_SEED)["problem"])
    for seed in (0, 7):
        config = parse_run_config(
            ["--task", "math", "--mode", "grpo", "--model", "tiny-text", "--seed", str(seed), "--eval-steps", "1",
             "--eval-subset-size", "5", "--dataset-path", str(path), "--eval-dataset", str(path), "--output-dir",
             str(tmp_path / f"run{seed}")]
        )  # fmt: skip
        assert list(held_out_rows(config, math)["problem"]) == chosen


@pytest.mark.parametrize("dataset", ["math500", "aime25", "amc23"])
def test_math_answers_are_the_last_box_checked_by_math_verify(dataset):
    row = {"problem": "Half of one?", "answer": "\\frac{1}{2}", "solution": None, "dataset": dataset}
    completions = ["So it is $\\boxed{0.5}$.", "First \\boxed{1}, no: \\boxed{\\dfrac12}", "0.5", "\\boxed{0.6}"]
    assert score_completions(get_task("math"), completions, row, threshold=0.5) == [True, True, False, False]
