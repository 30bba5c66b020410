"""`make demo`: the whole pipeline on the embedded default (tiny Qwen2.5-VL, synthetic charts, CPU), then a short
run on the two-procedure addition toy; both end with the objectives' paired differences against GRPO.

Every step runs the user-facing command in a subprocess, exactly as a user would type it:
SFT warm start -> GRPO, PSR, NSR, W-REINFORCE from it (Pass@k of held-out charts logged during training) ->
samples per problem for each -> Pass@k table against the warm start -> plots and monitor -> the before/after table
-> compare.py's differences against GRPO and their plot. The chart half lands under --output-dir (runs/demo), the
toy half under toy/.

The chart runs ask the "synthetic-kind" questions (what kind of chart is this? five answers): the randomly
initialised tiny model, warmed up by SFT, is right on some samples, so the rollouts carry reward and the weights
move. One seed and no controls: the runs show that training happens, not that a method is better, nor that the
change comes from the reward rather than from more updates. docs/objectives.md has the experiment about the science.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from experiments.demo.table import before_after_table
from experiments.demo.toy import run_toy_demo
from rlvr.errors import UserError, exit_on_user_error
from rlvr.methods import METHOD_LABELS, RL_MODES

REPO_ROOT = Path(__file__).resolve().parents[2]

# Short answers keep CPU rollouts cheap: the direct prompt asks for <answer>...</answer> only (at most 13 tokens here).
DATASET = "synthetic-kind"
SHARED = [
    "--dataset-name", DATASET, "--prompt-style", "direct", "--report-to", "none", "--no-lora",
    "--disable-gradient-checkpointing",
]  # fmt: skip
SFT_FLAGS = [
    "--mode", "sft", "--subset-size", "512", "--max-steps", "200", "--batch-size", "8",
    "--gradient-accumulation-steps", "1", "--learning-rate", "3e-3", "--warmup", "0.1", "--save-steps", "1000",
    "--logging-steps", "50", "--no-resume", "--overwrite",
]  # fmt: skip
RL_FLAGS = [
    "--subset-size", "128", "--max-steps", "12", "--num-generations", "4", "--batch-size", "8",
    "--gradient-accumulation-steps", "1", "--learning-rate", "1e-3", "--max-completion-length", "16",
    "--reward-funcs", "accuracy_reward", "--save-steps", "4", "--logging-steps", "2", "--no-resume", "--overwrite",
    "--eval-steps", "4", "--eval-num-samples", "8", "--eval-subset-size", "16", "--log-completions",
]  # fmt: skip
NUM_SAMPLES = 16
SAMPLE_FLAGS = [
    "--dataset-name", DATASET, "--split", "test", "--prompt-style", "direct", "--max-problems", "32",
    "--num-samples", str(NUM_SAMPLES), "--max-new-tokens", "16", "--batch-size", "16",
]  # fmt: skip


def run_step(title: str, command: list[str]) -> None:
    print(f"\n=== {title}\n$ {shlex.join(command)}", flush=True)
    started = time.monotonic()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, env=environment)
    if result.returncode != 0:
        raise UserError(f"demo step '{title}' failed with exit code {result.returncode}")
    print(f"=== {title}: done in {time.monotonic() - started:.0f} s", flush=True)


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / script), *args]


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="runs/demo")
    args = parser.parse_args(argv)
    out = Path(args.output_dir).resolve()
    started = time.monotonic()

    run_step("SFT warm start", python("main.py", *SHARED, *SFT_FLAGS, "--output-dir", str(out / "sft")))
    for mode in RL_MODES:
        flags = ["--mode", mode, "--vlm-name", str(out / "sft"), "--output-dir", str(out / mode)]
        run_step(f"{METHOD_LABELS[mode]} from the warm start", python("main.py", *SHARED, *RL_FLAGS, *flags))

    samples = {}
    for method in ("sft", *RL_MODES):
        samples[method] = out / "samples" / f"samples_{method}.json"
        run_step(
            f"samples: {METHOD_LABELS[method]}",
            python("generate_samples.py", "--checkpoint-path", str(out / method), *SAMPLE_FLAGS,
                   "--output-path", str(samples[method]), "--overwrite"),
        )  # fmt: skip

    results = [out / "pass_at_k" / f"results_{method}.json" for method in samples]
    run_step(
        "Pass@k with 95% intervals, against the SFT start",
        python("evaluation/pass_at_k.py", "--samples-path", *map(str, samples.values()),
               "--output-path", *map(str, results), "--method-name", *(METHOD_LABELS[m] for m in samples),
               "--baseline", "SFT", "--n-resamples", "2000", "--overwrite"),
    )  # fmt: skip
    labels = [METHOD_LABELS[method] for method in samples]
    run_step(
        "Pass@k curves",
        python("evaluation/plotting.py", "--results", *map(str, results), "--labels", *labels,
               "--output", str(out / "plots" / "pass_at_k"), "--title", "Tiny model, synthetic charts (demo)"),
    )  # fmt: skip
    run_step(
        "training monitor",
        python("monitor_training.py", "--compare", "--checkpoints", *(str(out / mode) for mode in RL_MODES),
               "--labels", *(METHOD_LABELS[mode] for mode in RL_MODES), "--output-dir", str(out / "monitor")),
    )  # fmt: skip
    table = before_after_table(dict(zip(samples, results, strict=True)), {m: out / m for m in RL_MODES}, 8)
    print(f"\n=== Charts, before (SFT) and after each objective, held-out Pass@k of {NUM_SAMPLES} samples\n{table}")
    run_toy_demo(out / "toy", run_step)
    for name, folder in (("charts", out), ("toy", out / "toy")):
        differences_against_grpo(name, folder, run_step)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s. Everything is under {out}:", flush=True)
    print("  sft/ grpo/ psr/ nsr/ w-reinforce/   checkpoints, run_config.json, final models", flush=True)
    print("  samples/ pass_at_k/                 samples per problem and Pass@k results", flush=True)
    print("  plots/pass_at_k.png  monitor/       comparison plot and training plots", flush=True)
    print("  compare/ plots/differences.png      each objective minus GRPO, with 95% intervals", flush=True)
    print("  <mode>/completions.jsonl            each rollout sampled: rewards, kept marks, advantages", flush=True)
    print("  toy/                                the same on two-procedure addition", flush=True)
    print(
        "One seed, no controls: the runs show training at work, not which objective is better (the intervals say how\n"
        "little 32 problems and one seed settle). `make science` is the experiment about the objectives.",
        flush=True,
    )


def differences_against_grpo(name: str, folder: Path, step: Callable[[str, list[str]], None]) -> None:
    """compare.py's paired differences of PSR, NSR and W-REINFORCE against GRPO on ``folder``'s samples, and their
    plot over k."""
    samples = [str(folder / "samples" / f"samples_{mode}.json") for mode in RL_MODES]
    differences = folder / "compare" / "differences.json"
    step(
        f"{name}: Pass@k differences against GRPO (paired bootstrap over problems, one seed)",
        python("evaluation/compare.py", "--samples-paths", *samples, "--labels", *(METHOD_LABELS[m] for m in RL_MODES),
               "--baseline", METHOD_LABELS["grpo"], "--output-path", str(differences), "--n-resamples", "2000",
               "--overwrite"),
    )  # fmt: skip
    step(
        f"{name}: difference plot",
        python("evaluation/plotting.py", "--differences", str(differences), "--output",
               str(folder / "plots" / "differences"), "--title", f"{name}: objective minus GRPO (demo, one seed)"),
    )  # fmt: skip


if __name__ == "__main__":
    main()
