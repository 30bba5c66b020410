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
    # Rows agree across processes at each micro-step (TRL's loss gathers per-row statistics): rank 0 pads.
    assert [entry["rows_per_loss_call"] for entry in ranks] == [[2] * 8, [2] * 8]
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


@pytest.mark.slow
def test_two_machines_on_the_loopback_address_train_together(tmp_path):
    # Two accelerate "machines" with one CPU process each, as two nodes would run (docs/training.md, multi-node).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "accelerate.commands.launch", *DATA_PARALLEL, "--num_machines", "2", "--num_processes",
        "2", "--main_process_ip", "127.0.0.1", "--main_process_port", "29614", "main.py", "--mode", "nsr", "--task",
        "countdown", "--vlm-name", "tiny-text", "--subset-size", "8", "--max-steps", "2", "--max-completion-length",
        "8", "--report-to", "none", "--logging-steps", "1", "--num-generations", "4", "--batch-size", "2",
        "--gradient-accumulation-steps", "1", "--save-steps", "1", "--output-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    machines = [
        subprocess.Popen(
            [*command[:3], "--machine_rank", str(rank), *command[3:]],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    outputs = [machine.communicate(timeout=600) for machine in machines]
    for machine, (stdout, stderr) in zip(machines, outputs, strict=True):
        assert machine.returncode == 0, (stdout + stderr)[-4000:]
    console = "".join(stdout for stdout, _ in outputs)
    assert console.count("NSR [step 2]:") == 1  # the global main process reports for both machines
    assert "4 completions per rollout (1 prompts x 4), 1 update slots of 4 completions; 2 process(es)" in console
    run = tmp_path / "run"
    assert sorted(folder.name for folder in run.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert json.loads((run / "checkpoint-2" / "trainer_state.json").read_text())["global_step"] == 2
    assert not list(run.glob("**/*.tmp"))  # every file written once, whole
