"""Rollouts that fill the GPU: the geometry in the paper's words, sequences per generate call, the micro-batch.

The number of sequences one ``generate`` call decodes together sets the speed of transformers generation; the
per-device micro-batch only splits an update into forwards that fit the memory. The recommended one-GPU command
rolls out 64 prompts x 4 completions, so 256 sequences per generate call.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import Qwen2_5_VLConfig

from rlvr.models.real_sizes import QWEN25_VL_3B, decoder_config, vision_config
from trainers.config import RunConfig
from trainers.config_parser import parse_run_config
from trainers.geometry import batch_geometry
from trainers.micro_batch import (
    CPU_MICRO_BATCH,
    micro_batch_for_memory,
    model_dims,
    model_state_bytes,
    update_bytes_per_sequence,
    with_micro_batch,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
GIB = 1024**3
RECOMMENDED = ["--rollout-prompts", "64", "--update-prompts", "16", "--num-generations", "4"]


def test_the_recommended_rollout_decodes_256_sequences_per_generate_call_on_one_gpu():
    geometry = batch_geometry(parse_run_config([*RECOMMENDED, "--batch-size", "16"]), processes=1)
    assert geometry.sequences_per_generate_call == 256
    assert geometry.completions_per_update == 64 and geometry.update_slots_per_rollout == 4
    assert geometry.generation_line() == (
        "Generation: 256 sequences per generate call on each of 1 process(es) (64 prompts x 4 per rollout)"
    )


@pytest.mark.parametrize("batch_size", [1, 4, 16, 64])
def test_the_micro_batch_changes_the_update_split_not_the_rollout(batch_size):
    geometry = batch_geometry(parse_run_config([*RECOMMENDED, "--batch-size", str(batch_size)]), processes=1)
    assert geometry.sequences_per_generate_call == 256
    assert geometry.accumulation_steps * batch_size == 64


def test_more_processes_share_the_rollout():
    geometry = batch_geometry(parse_run_config([*RECOMMENDED, "--batch-size", "8"]), processes=4)
    assert geometry.sequences_per_generate_call == 64
    assert geometry.completions_per_rollout == 256


def test_an_omitted_micro_batch_is_the_small_cpu_default_without_a_gpu():
    config = parse_run_config(RECOMMENDED)
    assert config.batch_size is None
    assert with_micro_batch(config, 1, is_multimodal=True).batch_size == CPU_MICRO_BATCH
    assert batch_geometry(config, 1).per_device_batch == CPU_MICRO_BATCH


def test_the_micro_batch_from_memory_divides_the_update_and_fits():
    assert micro_batch_for_memory(80 * GIB, 10 * GIB, 2 * GIB, completions=64) == 16  # 29 fit -> divisor 16
    assert micro_batch_for_memory(139 * GIB, 10 * GIB, 2 * GIB, completions=64) == 32  # 50 fit
    assert micro_batch_for_memory(16 * GIB, 15 * GIB, 2 * GIB, completions=64) == 1  # none fits: 1
    assert micro_batch_for_memory(139 * GIB, 0, 1, completions=48) == 48


def test_vl_3b_at_the_default_cap_gets_a_real_micro_batch_on_an_h200(monkeypatch):
    """With the real sizes: the logits over 151,936 entries dominate a sequence's memory."""
    config = Qwen2_5_VLConfig(text_config=decoder_config(QWEN25_VL_3B), vision_config=vision_config(QWEN25_VL_3B))
    dims = model_dims(config)
    assert dims.layers == 36 and dims.vocab == 151_936
    per_sequence = update_bytes_per_sequence(dims, 512 + 768, checkpointing=True)
    assert 2 * GIB < per_sequence < 3 * GIB
    lora, full = model_state_bytes(dims, lora=True), model_state_bytes(dims, lora=False)
    assert micro_batch_for_memory(139 * GIB, lora, per_sequence, 64) == 32
    assert micro_batch_for_memory(80 * GIB, full, per_sequence, 64) == 8  # full fine-tune on an 80 GB GPU


def test_on_a_gpu_the_omitted_micro_batch_comes_from_its_memory(monkeypatch):
    class H200:
        total_memory = 139 * GIB

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: H200)
    chosen = with_micro_batch(parse_run_config(["--model", "tiny", *RECOMMENDED]), 1, is_multimodal=True)
    assert chosen.batch_size == 64  # a tiny model: the whole update per process in one micro-step
    given = with_micro_batch(parse_run_config(["--model", "tiny", *RECOMMENDED, "--batch-size", "4"]), 1, True)
    assert given.batch_size == 4
    trl_knobs = with_micro_batch(RunConfig(model="tiny"), 1, is_multimodal=True)
    assert trl_knobs.batch_size == CPU_MICRO_BATCH  # without --update-prompts the micro-batch also sets the rollout


def test_main_prints_the_sequences_per_generate_call(tmp_path):
    command = [
        sys.executable, str(REPO_ROOT / "main.py"), "--model", "tiny-text", "--task", "countdown", "--max-steps", "1",
        "--rollout-prompts", "4", "--update-prompts", "2", "--num-generations", "2", "--max-completion-length", "4",
        "--report-to", "none", "--subset-size", "8", "--output-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Generation: 8 sequences per generate call on each of 1 process(es) (4 prompts x 2 per rollout)" in (
        result.stdout
    )


def readme_gpu_command() -> list[str]:
    """The flags of the README's one-GPU training command (a `python main.py` line and its continuation)."""
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("python main.py"))
    command = lines[start].rstrip("\\") + " " + lines[start + 1]
    return command.split()[2:]


@pytest.mark.parametrize("source", ["README", "configs/chart-vl3b-nsr.yaml"])
def test_the_recommended_gpu_command_fills_the_gpu(source):
    flags = readme_gpu_command() if source == "README" else ["--config", str(REPO_ROOT / source)]
    config = parse_run_config(flags)
    assert config.model == "qwen2-5-3b"
    geometry = batch_geometry(config, processes=1)
    assert geometry.sequences_per_generate_call >= 256
    assert geometry.completions_per_rollout // config.num_generations >= 64 and config.num_generations >= 4
