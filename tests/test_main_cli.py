"""main.py as users run it: in a subprocess, on the tiny model and the synthetic charts, on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_RUN = [
    "--subset-size", "8", "--max-completion-length", "12", "--logging-steps", "1", "--report-to", "none",
    "--reward-funcs", "format_reward", "accuracy_reward", "num_token_reward", "chart_type_reward",
]  # fmt: skip


def run_main(*args: str, launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [*(launcher or [sys.executable]), str(REPO_ROOT / "main.py"), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=900)


def trainer_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "trainer_state.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["grpo", "psr", "nsr", "w-reinforce"])
def test_each_rl_mode_trains_saves_and_resumes_at_the_right_step(mode, tmp_path):
    output_dir = tmp_path / mode
    common = ["--mode", mode, "--output-dir", str(output_dir), "--save-steps", "2", *FAST_RUN]
    first = run_main(*common, "--max-steps", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"{mode.upper()} [step 1]:" in first.stdout
    assert (output_dir / "checkpoint-2" / "trainer_state.json").exists()
    assert (output_dir / "adapter_model.safetensors").exists() and (output_dir / "processor_config.json").exists()

    second = run_main(*common, "--max-steps", "4")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "checkpoint-2" in second.stdout
    state = trainer_state(output_dir / "checkpoint-4")
    assert state["global_step"] == 4
    logged_steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged_steps == [1, 2, 3, 4], "resumed run must continue at step 3, not start over"
    assert "objective/kept_frac" in state["log_history"][0]

    # The monitor reads what TRL and our trainer really logged.
    monitor = subprocess.run(
        [sys.executable, str(REPO_ROOT / "monitor_training.py"), "--checkpoint-dir", str(output_dir)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert monitor.returncode == 0, monitor.stderr[-3000:]
    summary = (output_dir / "monitor" / "summary.txt").read_text()
    assert "checkpoint-4" in summary and f"mode: {mode}" in summary
    assert "objective/kept_frac" in summary and "rewards/accuracy_reward/mean" in summary
    for plot in ("training_loss.png", "learning_rate.png", "gradient_norm.png", "rewards.png", "objective.png"):
        assert (output_dir / "monitor" / plot).stat().st_size > 0, plot


@pytest.mark.slow
def test_no_resume_starts_over(tmp_path):
    common = ["--mode", "nsr", "--output-dir", str(tmp_path), "--save-steps", "1", *FAST_RUN, "--max-steps", "1"]
    assert run_main(*common).returncode == 0
    refused = run_main(*common, "--no-resume")
    assert refused.returncode == 2 and "--no-resume would discard it: add --overwrite" in refused.stderr
    again = run_main(*common, "--no-resume", "--overwrite")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming from" not in again.stdout
    assert trainer_state(tmp_path / "checkpoint-1")["global_step"] == 1


@pytest.mark.slow
def test_accelerate_launch_with_a_cpu_config(tmp_path):
    launcher = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(REPO_ROOT / "tests" / "fixtures" / "accelerate_cpu.yaml"),
    ]  # fmt: skip
    result = run_main(
        "--mode", "w-reinforce", "--output-dir", str(tmp_path), "--max-steps", "1", *FAST_RUN, launcher=launcher
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "W-REINFORCE [step 1]:" in result.stdout
    assert (tmp_path / "adapter_model.safetensors").exists()


@pytest.mark.slow
def test_sft_then_eval_writes_a_report(tmp_path):
    sft_dir = tmp_path / "sft"
    sft = run_main("--mode", "sft", "--output-dir", str(sft_dir), "--max-steps", "2", "--no-lora", *FAST_RUN)
    assert sft.returncode == 0, sft.stderr[-3000:]
    assert (sft_dir / "model.safetensors").exists()
    evaluation = run_main(
        "--mode", "eval", "--vlm-name", str(sft_dir), "--output-dir", str(tmp_path / "eval"), "--max-eval-samples",
        "4", *FAST_RUN,
    )  # fmt: skip
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    report = json.loads((tmp_path / "eval" / "eval-synthetic-test.json").read_text())
    assert report["num_examples"] == 4 and (report["temperature"], report["top_p"]) == (0.6, 0.95)
    from rlvr.tasks import get_task, load_held_out

    held_out = load_held_out(get_task("chart"), "synthetic", "test", None, 4)
    assert [example["question"] for example in report["examples"]] == list(held_out["query"])
    assert 0.0 <= report["exact_match"] <= report["relaxed_accuracy"] <= 1.0 or report["relaxed_accuracy"] == 0.0
    assert "EVAL synthetic/test: relaxed accuracy" in evaluation.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mode", "nsr", "--reward-funcs", "no_such_reward"], "unknown reward function"),
        (["--mode", "nsr", "--num-generations", "3"], "not a multiple of --num-generations"),
        (["--mode", "nsr", "--loss-type", "grpo"], "token-mean loss"),
        (["--config", "/nonexistent.yaml"], "config file /nonexistent.yaml does not exist"),
        (["--mode", "nsr", "--dataset-name", "nope"], "nope"),
        (["--mode", "nsr", "--vlm-name", "not-a-model"], "short name"),
    ],
)
def test_bad_input_gives_one_clear_line(flags, message, tmp_path):
    result = run_main(
        *flags, "--output-dir", str(tmp_path), "--max-steps", "1", "--report-to", "none", "--subset-size", "4"
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_config_file_values_apply_and_the_command_line_wins(tmp_path):
    from trainers.config_parser import parse_run_config

    config = tmp_path / "run.yaml"
    config.write_text("mode: nsr\nlambda-psr: 0.3\nlearning_rate: 2.0e-6\nvlm-name: tiny-text\n")
    args = parse_run_config(["--config", str(config), "--lambda-psr", "0.5"])
    assert (args.mode, args.lambda_psr, args.learning_rate, args.model) == ("nsr", 0.5, 2e-6, "tiny-text")


def test_boolean_flags_are_real_flags():
    from trainers.config_parser import parse_run_config

    assert parse_run_config([]).lora is True
    assert parse_run_config(["--no-lora"]).lora is False
    assert parse_run_config(["--disable-gradient-checkpointing"]).disable_gradient_checkpointing is True


def test_default_output_dir_names_model_task_dataset_mode_and_seed():
    from trainers.config_parser import parse_run_config
    from trainers.setup import run_name_for

    nsr = parse_run_config(["--mode", "nsr", "--vlm-name", "qwen2-5-3b"])
    assert nsr.output_dir == "runs/qwen2-5-3b-chart-synthetic-nsr-2025"
    grpo = parse_run_config(["--vlm-name", "qwen2-5-3b", "--seed", "7", "--subset-size", "100", "--task", "countdown"])
    assert grpo.output_dir == "runs/qwen2-5-3b-countdown-synthetic-grpo-7"
    assert run_name_for(grpo) == "grpo-qwen2-5-3b-synthetic-100-7"
