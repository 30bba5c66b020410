"""--mode dpo and --mode ppo as users run main.py: in a subprocess, on the tiny offline models, on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from trainers.config import PPO_MESSAGE

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = ["--report-to", "none", "--logging-steps", "1", "--max-completion-length", "12", "--beta", "0.1"]


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(REPO_ROOT / script), *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=900)


def logged_steps(checkpoint: Path) -> list[dict]:
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return [entry for entry in state["log_history"] if "loss" in entry]


def test_ppo_is_one_line_naming_what_to_use_instead(tmp_path):
    result = run_script("main.py", "--mode", "ppo", "--output-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {PPO_MESSAGE}"


def countdown_samples_file(path: Path) -> None:
    """A generate_samples.py file by hand: ragged, one problem all correct (no pair), the rest mixed."""
    task = get_task("countdown")
    dataset = task.load_dataset("synthetic", "train", None, 4, HELD_OUT_DATASET_SEED)
    problems = []
    for index in range(4):
        row = dataset[index]
        right = f"<answer>{row['solution']}</answer>"
        wrong = [f"<answer>{row['nums'][0]} + {number}</answer>" for number in range(index + 1)]
        samples = [right] if index == 3 else [right, *wrong]
        correct = [True] * len(samples) if index == 3 else [True] + [False] * len(wrong)
        problems.append(
            {
                "problem_id": index,
                "question": str(row["nums"]),
                "answer": row["target"],
                "samples": samples,
                "correct": correct,
                "num_correct": sum(correct),
                "num_total": len(samples),
            }
        )
    metadata = {"task": "countdown", "dataset": "synthetic", "dataset_path": None, "split": "train"}
    metadata |= {"max_problems": 4, "prompt_style": task.default_prompt_style}
    path.write_text(json.dumps({"metadata": metadata, "problems": problems}))


@pytest.mark.slow
def test_dpo_on_a_samples_file_lowers_the_loss_on_the_text_model(tmp_path):
    samples = tmp_path / "samples.json"
    countdown_samples_file(samples)
    result = run_script(
        "main.py", "--mode", "dpo", "--task", "countdown", "--vlm-name", "tiny-text", "--preference-data",
        str(samples), "--pairs-per-problem", "2", "--learning-rate", "5e-3", "--batch-size", "5",
        "--gradient-accumulation-steps", "1", "--max-steps", "6", "--save-steps", "6", "--output-dir",
        str(tmp_path / "run"), *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # Problems 0 to 2 have 1, 2 and 3 wrong samples: 1 + 2 + 2 pairs; problem 3 has nothing wrong.
    assert "5 preference pairs from 3 of 4 problems; 1 without a usable pair" in result.stdout
    steps = logged_steps(tmp_path / "run" / "checkpoint-6")
    losses = [entry["loss"] for entry in steps]
    assert losses[0] == pytest.approx(0.6931, abs=1e-3)  # log 2: the policy starts as its own reference
    assert losses[-1] < losses[0] - 0.05, losses
    assert steps[-1]["rewards/margins"] > 0
    assert (tmp_path / "run" / "adapter_model.safetensors").exists()


@pytest.mark.slow
def test_dpo_draws_its_samples_trains_the_vision_model_resumes_and_evaluates(tmp_path):
    output_dir = tmp_path / "run"
    common = [
        "--mode", "dpo", "--subset-size", "4", "--num-generations", "2", "--chosen-from", "reference",
        "--save-steps", "2", "--output-dir", str(output_dir), *FAST,
    ]  # fmt: skip
    first = run_script("main.py", *common, "--max-steps", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Preference samples: drew 4 problems x 2" in first.stdout
    drawn = json.loads((output_dir / "preference_samples.json").read_text())
    assert [problem["num_total"] for problem in drawn["problems"]] == [2, 2, 2, 2]

    second = run_script("main.py", *common, "--max-steps", "4")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "checkpoint-2" in second.stdout
    assert "Preference samples: reusing" in second.stdout
    assert [entry["step"] for entry in logged_steps(output_dir / "checkpoint-4")] == [1, 2, 3, 4]

    # Training on (a higher --max-steps) under other sampling options is refused before anything loads: the run
    # records them, and so do its drawn samples.
    changed = run_script("main.py", *common, "--max-steps", "6", "--num-generations", "3")
    assert changed.returncode == 2
    assert "holds another run (num_generations 2 -> 3)" in changed.stderr.strip().splitlines()[-1]

    # The checkpoint is an ordinary LoRA adapter: generate_samples.py and pass_at_k.py take it unchanged.
    samples = tmp_path / "samples.json"
    generated = run_script(
        "generate_samples.py", "--checkpoint-path", str(output_dir), "--max-problems", "2", "--num-samples", "2",
        "--max-new-tokens", "8", "--output-path", str(samples),
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr[-3000:]
    pass_at_k = run_script("evaluation/pass_at_k.py", "--samples-path", str(samples), "--output-path",
                           str(tmp_path / "pass.json"))  # fmt: skip
    assert pass_at_k.returncode == 0, pass_at_k.stderr[-3000:]


@pytest.mark.slow
def test_a_samples_file_of_other_rows_is_one_line(tmp_path):
    samples = tmp_path / "samples.json"
    countdown_samples_file(samples)
    document = json.loads(samples.read_text())
    document["metadata"]["split"] = "test"  # other rows than the problems were drawn on
    samples.write_text(json.dumps(document))
    result = run_script(
        "main.py", "--mode", "dpo", "--task", "countdown", "--vlm-name", "tiny-text", "--preference-data",
        str(samples), "--output-dir", str(tmp_path / "run"), *FAST,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "does not match dataset row" in result.stderr.strip().splitlines()[-1]
