"""The sampling and Pass@k pipeline is task-agnostic: it runs on the text tasks as it does on charts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(REPO_ROOT / script), *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["countdown", "math"])
def test_generate_samples_then_pass_at_k_on_a_text_task(task, tmp_path):
    samples_path = tmp_path / "samples.json"
    sampled = run(
        "generate_samples.py", "--task", task, "--checkpoint-path", "tiny-text", "--dataset-name", "synthetic",
        "--max-problems", "3", "--num-samples", "4", "--max-new-tokens", "8", "--output-path", str(samples_path),
    )  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    samples = json.loads(samples_path.read_text())
    assert samples["metadata"]["task"] == task
    assert len(samples["problems"]) == 3
    for problem in samples["problems"]:
        assert problem["num_total"] == 4 == len(problem["samples"]) == len(problem["correct"])
        assert problem["num_correct"] == sum(problem["correct"])

    results_path = tmp_path / "results.json"
    scored = run("evaluation/pass_at_k.py", "--samples-path", str(samples_path), "--output-path", str(results_path))
    assert scored.returncode == 0, scored.stderr[-3000:]
    results = json.loads(results_path.read_text())
    assert results["k_values"] == [1, 2, 4]
    assert all(0.0 <= value <= 1.0 for value in results["pass_at_k"].values())
