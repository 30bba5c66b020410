"""The base of the toy experiment reproduces: two supervised warm starts with the same seed give the same weights,
and another seed gives other weights (the experiment's SFT seeds are real draws, not copies)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO_ROOT = Path(__file__).resolve().parents[1]


def warm_start(output: Path, seed: int) -> dict:
    command = [
        sys.executable, "main.py", "--mode", "sft", "--model", "tiny-carry", "--task", "carry", "--no-lora",
        "--disable-gradient-checkpointing", "--report-to", "none", "--learning-rate", "3e-3", "--batch-size", "32",
        "--gradient-accumulation-steps", "1", "--max-steps", "4", "--subset-size", "256", "--save-steps", "100",
        "--seed", str(seed), "--output-dir", str(output),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return load_file(output / "model.safetensors")


@pytest.mark.slow
def test_two_warm_starts_with_one_seed_give_identical_weights(tmp_path):
    first, second, other = (warm_start(tmp_path / name, seed) for name, seed in (("a", 5), ("b", 5), ("c", 6)))
    assert first.keys() == second.keys()
    assert all(first[name].equal(second[name]) for name in first)
    assert not all(first[name].equal(other[name]) for name in first)
