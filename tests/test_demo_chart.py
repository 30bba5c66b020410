"""`make demo`'s chart half (experiments/demo/run.py, experiments/demo/table.py): the main job learns on the embedded
default.

Specified here:
- a short SFT warm start on the "synthetic-kind" charts, then a short GRPO run from it, with the demo's own flags:
  the rollouts carry non-zero reward and the updates a non-zero gradient norm (the weights move);
- the before/after table reads each method's Pass@k results and each run's training log: Pass@1 and Pass@k, the
  in-training Pass@1 and the mean reward first and last, and the largest gradient norm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.demo.run import RL_FLAGS, SFT_FLAGS, SHARED
from experiments.demo.table import before_after_table

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_main(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(REPO_ROOT / "main.py"), *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=1800)


@pytest.mark.slow
def test_a_short_chart_run_from_the_warm_start_sees_reward_and_moves_the_weights(tmp_path):
    sft = run_main(*SHARED, *SFT_FLAGS, "--output-dir", str(tmp_path / "sft"))
    assert sft.returncode == 0, sft.stderr[-3000:]
    flags = [*SHARED, *RL_FLAGS, "--mode", "grpo", "--vlm-name", str(tmp_path / "sft"), "--max-steps", "4",
             "--logging-steps", "1", "--eval-steps", "4", "--output-dir", str(tmp_path / "grpo")]  # fmt: skip
    grpo = run_main(*flags)
    assert grpo.returncode == 0, grpo.stderr[-3000:]
    history = json.loads((tmp_path / "grpo" / "checkpoint-4" / "trainer_state.json").read_text())["log_history"]
    rewards = [entry["reward"] for entry in history if "reward" in entry]
    norms = [entry["grad_norm"] for entry in history if "grad_norm" in entry]
    assert len(rewards) == 4 and max(rewards) > 0, rewards
    assert len(norms) == 4 and max(norms) > 0, norms


def test_the_before_after_table_reads_results_and_training_logs(tmp_path):
    results = {}
    for method, (one, eight) in {"sft": (0.25, 0.75), "nsr": (0.5, 0.875)}.items():
        results[method] = tmp_path / f"results_{method}.json"
        results[method].write_text(json.dumps({"pass_at_k": {"1": one, "8": eight}}))
    checkpoint = tmp_path / "nsr" / "checkpoint-12"
    checkpoint.mkdir(parents=True)
    (tmp_path / "nsr" / "checkpoint-4").mkdir()  # an older checkpoint, not read
    history = [
        {"step": 0, "eval/pass@1": 0.2},
        {"step": 2, "reward": 0.25, "grad_norm": 0.5},
        {"step": 12, "reward": 0.5, "grad_norm": 1.5, "eval/pass@1": 0.4},
    ]
    (checkpoint / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    table = before_after_table(results, {"nsr": tmp_path / "nsr"}, k=8).splitlines()
    assert table[0].split()[:3] == ["method", "Pass@1", "Pass@8"]
    assert table[2].split() == ["SFT", "0.250", "0.750", "|", "(warm", "start)"]
    assert table[3].split() == ["NSR", "0.500", "0.875", "|", "0.20", "->", "0.40", "0.25", "->", "0.50", "1.5"]
