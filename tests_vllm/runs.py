"""Running the project's scripts from the vLLM tests, and the warm-started model they share."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# Two-digit addition after a short supervised warm start of tiny-arith (head size 32, which vLLM's CPU attention
# takes): right often enough that the per-problem correct counts differ between problems.
ARITHMETIC = ["--task", "arithmetic", "--dataset-name", "addition"]
WARM_START = [
    "--mode", "sft", "--model", "tiny-arith", *ARITHMETIC, "--learning-rate", "1e-3", "--batch-size", "256",
    "--gradient-accumulation-steps", "1", "--warmup", "100", "--lr-scheduler-type", "constant_with_warmup",
    "--max-steps", "150", "--seed", "2025", "--logging-steps", "50", "--save-steps", "1000", "--no-lora",
    "--disable-gradient-checkpointing", "--report-to", "none",
]  # fmt: skip


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A project script in this interpreter, from the repository root; it must succeed."""
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, env=env
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result


def warm_arith_model_path() -> Path:
    """tiny-arith after WARM_START, built once and kept under $RLVR_CACHE like the tiny models."""
    from rlvr.models.tiny import cache_root, tiny_arith_model_path

    recipe = json.dumps([tiny_arith_model_path().name, WARM_START])
    folder = cache_root() / "models" / f"tiny-arith-warm-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if not (folder / "config.json").exists():
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        run_script("main.py", *WARM_START, "--output-dir", str(staging))
        staging.rename(folder)
    return folder
