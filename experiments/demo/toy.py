"""The second half of `make demo`: the objectives on two-procedure addition (rlvr/tasks/carry, docs/objectives.md).

tiny-carry learns the task from a supervised warm start in which 10% of the answers use the rare, always-right
strategy; then GRPO, PSR, NSR and W-REINFORCE train from it for 16 updates at learning rate 1e-3 (one seed). The
Pass@k plot shows each against the warm start, and the monitor's reward curves show accuracy moving during training.
One seed and no controls, at a rate where the two-procedure experiment's shuffled-reward controls moved as far as
the objectives: a demonstration that training runs and accuracy moves, not that the movement comes from the reward
(`make science` is the experiment).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from rlvr.methods import METHOD_LABELS, RL_MODES

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = ["--task", "carry", "--report-to", "none", "--no-lora", "--disable-gradient-checkpointing", "--no-resume",
          "--overwrite"]  # fmt: skip
SFT_FLAGS = [
    "--mode", "sft", "--model", "tiny-carry", "--learning-rate", "3e-3", "--batch-size", "128",
    "--gradient-accumulation-steps", "1", "--warmup", "50", "--lr-scheduler-type", "constant_with_warmup",
    "--max-steps", "600", "--logging-steps", "100", "--save-steps", "10000",
]  # fmt: skip
RL_FLAGS = [
    "--learning-rate", "1e-3", "--warmup", "2", "--lr-scheduler-type", "constant_with_warmup", "--num-generations",
    "8", "--rollout-prompts", "64", "--update-prompts", "32", "--batch-size", "64", "--max-completion-length", "6",
    "--max-steps", "16", "--save-steps", "8", "--logging-steps", "2", "--seed", "0",
]  # fmt: skip
SAMPLE_FLAGS = ["--task", "carry", "--num-samples", "64", "--temperature", "0.6", "--top-p", "1.0",
                "--max-new-tokens", "6", "--batch-size", "256", "--overwrite"]  # fmt: skip


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / script), *args]


def run_toy_demo(out: Path, run_step: Callable[[str, list[str]], None]) -> None:
    """Warm start, the four objectives, Pass@k of each against the warm start, and the monitor, under ``out``."""
    run_step("toy: supervised warm start of tiny-carry", python("main.py", *SHARED, *SFT_FLAGS, "--output-dir",
                                                                str(out / "sft")))  # fmt: skip
    for mode in RL_MODES:
        flags = ["--mode", mode, "--model", str(out / "sft"), "--output-dir", str(out / mode)]
        run_step(f"toy: {METHOD_LABELS[mode]} from the warm start", python("main.py", *SHARED, *RL_FLAGS, *flags))
    methods = ("sft", *RL_MODES)
    samples = {method: out / "samples" / f"samples_{method}.json" for method in methods}
    for method, path in samples.items():
        run_step(
            f"toy: samples of {METHOD_LABELS[method]}",
            python("generate_samples.py", "--checkpoint-path", str(out / method), *SAMPLE_FLAGS, "--output-path",
                   str(path)),
        )  # fmt: skip
    results = [out / "pass_at_k" / f"results_{method}.json" for method in methods]
    labels = [METHOD_LABELS[method] for method in methods]
    run_step(
        "toy: Pass@k with 95% intervals, against the SFT start",
        python("evaluation/pass_at_k.py", "--samples-path", *map(str, samples.values()), "--output-path",
               *map(str, results), "--method-name", *labels, "--baseline", "SFT", "--n-resamples", "2000",
               "--overwrite"),
    )  # fmt: skip
    run_step(
        "toy: Pass@k curves",
        python("evaluation/plotting.py", "--results", *map(str, results), "--labels", *labels, "--output",
               str(out / "plots" / "pass_at_k"), "--title", "tiny-carry, two-procedure addition (demo, one seed)"),
    )  # fmt: skip
    run_step(
        "toy: training monitor (reward = accuracy of each rollout)",
        python("monitor_training.py", "--compare", "--checkpoints", *(str(out / mode) for mode in RL_MODES),
               "--labels", *(METHOD_LABELS[mode] for mode in RL_MODES), "--output-dir", str(out / "monitor")),
    )  # fmt: skip
