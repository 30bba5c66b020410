"""``make bench-gpu`` in its CPU dry mode: the GPU benchmark's own code, at tiny sizes, end to end.

Every dry case (vision-language and text, grpo and nsr, LoRA and full, ZeRO-3 through ``accelerate launch``) must
train its rollouts, decode with the KV cache and report each column; the epoch extrapolation is checked by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_gpu import epoch_hours, markdown, worker_command
from benchmarks.gpu_cases import DRY_CASES

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dry_report() -> str:
    command = [sys.executable, "-m", "benchmarks.bench_gpu", "--dry"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_every_dry_case_reports_a_row_with_the_cache_in_use(dry_report):
    rows = [line for line in dry_report.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [case.name for case in DRY_CASES]
    for row in rows:
        cells = row.strip("| ").split(" | ")
        assert len(cells) == 11, row
        assert cells[5] == "8", "2 prompts x 4 completions per generate call"
        assert cells[9] == "used", row
    assert "Dry run: tiny sizes on the CPU" in dry_report


def test_zero3_cases_go_through_accelerate_launch_with_the_projects_config():
    command = worker_command(["math1.5b-nsr-full-zero3"], dry=True, zero3=True)
    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    assert str(REPO_ROOT / "deepspeed_zero3.yaml") in command and "--module" in command
    assert worker_command(["vl3b-grpo-lora"], dry=False, zero3=False)[1:] == [
        "-m", "benchmarks.bench_gpu", "--worker", "vl3b-grpo-lora",
    ]  # fmt: skip


def test_the_epoch_is_the_rollouts_of_10000_prompts_at_a_768_token_cap():
    result = {
        "rollout_prompts": 64, "prefill_seconds": 2.0, "decode_step_seconds": 0.05, "rollout_seconds": 20.0,
        "generation_seconds": 8.0, "prompt_tokens": 512, "completion_tokens": 128,
    }  # fmt: skip
    # 157 rollouts x (2 + 768 x 0.05 generation + 12 x (512 + 768) / (512 + 128) rest) = 157 x 64.4 s
    assert epoch_hours(result) == pytest.approx(157 * 64.4 / 3600)


def test_a_failed_case_is_a_row_saying_why():
    table = markdown([{"case": "vl3b-grpo-lora", "error": "timed out after 150 s"}], dry=False)
    assert "| vl3b-grpo-lora | timed out after 150 s |" in table


def test_without_a_gpu_the_real_run_refuses_in_one_line(monkeypatch, capsys):
    import torch

    from benchmarks.bench_gpu import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([]) == 2
    assert capsys.readouterr().err == "error: no GPU here; run with --dry for the CPU check\n"
    assert main(["--dry", "--cases", "vl3b-grpo-nothing"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown case(s) vl3b-grpo-nothing; known: vl3b-grpo-lora")
