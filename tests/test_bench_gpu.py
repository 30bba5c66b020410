"""The prepared GPU session (benchmarks/gpu_session.sh) in its CPU dry mode: every line of it, at tiny sizes.

``bash benchmarks/gpu_session.sh --dry`` runs the epoch probe (benchmarks/epoch_probe.py) and every dry case of
``make bench-gpu`` (vision-language and text, grpo and nsr, LoRA and full, ZeRO-3 through ``accelerate launch``),
each of which must train its rollouts, decode with the KV cache, keep one input-gradient hook count over its
rollouts and report each column. What a GPU run needs is checked here: the machine's versions, a result file per
case written as the case ends, the probe's epoch lines and its verdict. The arithmetic is checked by hand below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_gpu import epoch_hours, markdown, worker_command
from benchmarks.epoch_probe import DRY_SIZES, GPU_SIZES, epoch_lines
from benchmarks.gpu_cases import DRY_CASES

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gpu-session")
    command = ["bash", "benchmarks/gpu_session.sh", "--dry"]
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_the_session_records_the_machine_and_finishes_both_parts(session):
    machine = (session / "machine.txt").read_text()
    assert "; torch " in machine and "; CUDA " in machine
    for package in ("torchvision", "transformers", "trl", "peft", "vllm"):
        assert f"\n{package} " in machine, package
    assert "GPU: none (CPU)" in machine
    assert "epoch probe exit 0" in machine and "bench-gpu exit 0" in machine


def test_the_probe_writes_each_measurement_and_an_epoch_line_per_recipe(session):
    cells = [json.loads(line) for line in (session / "probe.jsonl").read_text().splitlines()]
    decode = [cell for cell in cells if cell["kind"] == "decode"]
    assert len(decode) == 8, "2 engines x 2 batch sizes x 2 contexts"
    assert all(cell["step_seconds"] > 0 for cell in decode)
    compiled_first = [cell for cell in decode if cell["engine"] == "compiled" and cell["position"] == "start"]
    assert len(compiled_first) == 2 and all(isinstance(cell["compile_seconds"], float) for cell in compiled_first)
    assert {cell["kind"] for cell in cells} == {"build", "decode", "forward", "update"}
    report = (session / "probe.md").read_text()
    assert report.count("h per epoch**") == 3
    assert "\nverdict: HF generate " in report


def test_every_dry_case_has_its_result_file_with_the_cache_in_use_and_no_hook_leak(session):
    for case in DRY_CASES:
        result = json.loads((session / "cases" / f"{case.name}.json").read_text())
        assert "error" not in result, result
        assert len(set(result["input_grad_hooks"])) == 1, result["input_grad_hooks"]
        row = (session / "cases" / f"{case.name}.md").read_text().strip()
        cells = row.strip("| ").split(" | ")
        assert cells[0] == case.name and len(cells) == 11, row
        assert cells[5] == "8", "2 prompts x 4 completions per generate call"
        assert cells[9] == "used", row
    assert "Dry run: tiny sizes on the CPU" in (session / "bench-gpu.md").read_text()


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
    error = capsys.readouterr().err
    assert error.startswith("error: unknown case(s) vl3b-grpo-nothing; known: ") and "vl3b-grpo-lora" in error


def probe_cells(step_start: float, step_end: float, per_sequence: float, large: dict | None = None) -> list[dict]:
    """Fabricated probe measurements at the GPU sizes: every decode cell alike, unless ``large`` replaces the
    1,024-sequence cells' figures."""
    cells = [{"kind": "forward", "sequences": 8, "seconds": 8 * per_sequence / 4}]
    cells.append({"kind": "update", "sequences": 8, "seconds": 8 * per_sequence * 3 / 4})
    for engine in ("plain", "compiled"):
        for sequences in GPU_SIZES.sequences:
            for position, step in (("start", step_start), ("end", step_end)):
                cell = {"kind": "decode", "engine": engine, "sequences": sequences, "position": position}
                figures = {"step_seconds": step, "prompt_seconds": 2.0}
                cells.append({**cell, **(large if large is not None and sequences == 1024 else figures)})
    return cells


def test_the_probe_epoch_is_rollouts_times_prompt_steps_forward_and_update():
    lines = epoch_lines(probe_cells(0.05, 0.07, 0.4, large={"error": "out of memory"}), GPU_SIZES)
    # 64 prompts x 4 = 256 sequences: 157 rollouts x (2 + 768 x (0.05 + 0.07) / 2 + 256 x 0.4) s = 6.56 h
    assert lines[0].startswith("- 64-prompt rollouts, plain: 157 rollouts x (2.0 s prompt + 768 x (50.0 + 70.0) / 2")
    assert lines[0].endswith(f"**{157 * (2 + 768 * 0.06 + 256 * 0.4) / 3600:.2f} h per epoch**")
    assert lines[2] == "- 256-prompt rollouts, plain: not measured (out of memory)"
    assert lines[3].startswith("verdict: HF generate does not reach a 2-hour epoch (best, 64-prompt rollouts")
    assert lines[3].endswith("vLLM colocate is needed")


def test_the_probe_verdict_says_when_transformers_generation_is_enough():
    lines = epoch_lines(probe_cells(0.01, 0.01, 0.01), GPU_SIZES)
    # 1,024 sequences: 40 rollouts x (2 + 7.68 + 10.24) s = 0.22 h, the fastest recipe
    assert lines[-1] == "verdict: HF generate reaches a 2-hour epoch (256-prompt rollouts, plain: 0.22 h)"
    assert DRY_SIZES.sequences[0] < GPU_SIZES.sequences[0], "the dry run is small"


def test_the_probe_without_a_gpu_refuses_in_one_line(monkeypatch, capsys, tmp_path):
    import torch

    from benchmarks.epoch_probe import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["--results", str(tmp_path / "probe.jsonl")]) == 2
    assert capsys.readouterr().err == "error: no GPU here; run with --dry for the CPU check\n"
