"""Two processes on the CPU: the processes keep different numbers of samples and still agree, under plain data
parallelism and under DeepSpeed ZeRO-3 (where a process that ran fewer forwards than the others would hang them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ZERO3 = ["--config_file", str(REPO_ROOT / "deepspeed_zero3.yaml"), "--num_processes", "2", "--mixed_precision", "no"]
DATA_PARALLEL = ["--config_file", str(REPO_ROOT / "tests" / "fixtures" / "accelerate_two_cpu.yaml")]


def launch(launcher_flags: list[str], port: int, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    launch_command = [sys.executable, "-m", "accelerate.commands.launch", *launcher_flags, "--main_process_port"]
    return subprocess.run(
        [*launch_command, str(port), *command], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=600
    )


def rank_results(result: subprocess.CompletedProcess, output_dir: Path) -> list[dict]:
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return [json.loads((output_dir / f"result-{rank}.json").read_text()) for rank in (0, 1)]


@pytest.mark.slow
@pytest.mark.parametrize(("launcher", "port"), [(DATA_PARALLEL, 29611), (ZERO3, 29612)], ids=["ddp", "zero3"])
def test_processes_with_different_kept_counts_run_the_same_micro_steps_and_finish(launcher, port, tmp_path):
    # Rank 0 keeps 1 sample (1 micro-batch), rank 1 keeps 8 (4 micro-batches): both run 4 per rollout, 2 updates.
    ranks = rank_results(launch(launcher, port, "tests/fixtures/two_process_nsr.py", str(tmp_path)), tmp_path)
    assert [entry["process_index"] for entry in ranks] == [0, 1]
    assert all(entry["num_processes"] == 2 for entry in ranks)
    assert [entry["loss_calls"] for entry in ranks] == [8, 8]
    assert [entry["updates"] for entry in ranks] == [[2.0, 2.0], [2.0, 2.0]]
    assert [entry["global_step"] for entry in ranks] == [4, 4]


@pytest.mark.slow
def test_main_trains_the_tiny_vision_language_model_under_zero3_on_two_processes(tmp_path):
    result = launch(
        ZERO3, 29613, "main.py", "--mode", "nsr", "--vlm-name", "tiny", "--no-lora",
        "--disable-gradient-checkpointing",
        "--subset-size", "8", "--max-steps", "2", "--max-completion-length", "8", "--report-to", "none",
        "--logging-steps", "1", "--prompt-style", "direct", "--reward-funcs", "accuracy_reward",
        "--rollout-prompts", "2", "--update-prompts", "1", "--num-generations", "4", "--batch-size", "2",
        "--save-steps", "2", "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "NSR [step 1]: 8/8 negative samples kept" in result.stdout  # one rollout of 2 prompts x 4 samples
    assert "2 update slots of 4 completions; 2 process(es)" in result.stdout
    assert (tmp_path / "checkpoint-2" / "trainer_state.json").is_file()
    assert (tmp_path / "model.safetensors").is_file()
