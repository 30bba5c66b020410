"""GRPO, PSR, NSR and W-REINFORCE on the arithmetic toy, end to end on the CPU: ``make science``.

    python experiments/objectives_toy.py            # everything, about 20 minutes on two cores
    python experiments/objectives_toy.py --base-only  # the warm start and its Pass@k, to check the difficulty

Every step is a subprocess of a user-facing command, so the experiment runs the code users run:

1. ``main.py --mode sft``: one supervised warm start of tiny-arith (shared by every RL run, so that runs differ only
   by objective and RL seed);
2. ``main.py --mode {grpo,psr,nsr,w-reinforce} --seed {0,1,2}``: the same number of RL steps from that warm start,
   saving a checkpoint every ``SAVE_EVERY`` steps;
3. ``generate_samples.py``: ``NUM_SAMPLES`` samples of each held-out problem from the base and every final model;
4. ``evaluation/pass_at_k.py``: Pass@k up to k = 64 with bootstrap intervals;
5. ``experiments/policy_entropy.py``: policy entropy of every checkpoint on fixed held-out prompts;
then the table (markdown and JSON) and the figures go to docs/results/ (toy_report.py, toy_plots.py).

Steps whose output exists are skipped, so a killed run continues where it stopped (``--force`` starts over). The
settings below were fixed before any RL run and are not tuned toward any result: the warm-up length was chosen
from the base model alone, so that its Pass@64 stays well below 1 (docs/objectives.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments.toy_plots import plot_entropy, plot_pass_at_k
from experiments.toy_report import build_summary, markdown_report
from rlvr.methods import RL_MODES

REPO_ROOT = Path(__file__).resolve().parents[1]

SEEDS = (0, 1, 2)
K_VALUES = (1, 2, 4, 8, 16, 32, 64)

# Supervised warm start: the probe's recipe (AdamW 1e-3, batch 256, 100 warm-up steps), stopped at 300 steps, where
# the held-out Pass@64 of the base is still well below 1.
SFT_ARGS = [
    "--learning-rate", "1e-3", "--batch-size", "256", "--gradient-accumulation-steps", "1", "--warmup", "100",
    "--max-steps", "300", "--subset-size", "60000", "--seed", "2025", "--logging-steps", "50", "--save-steps", "1000",
]  # fmt: skip
# RL: the learning rate the probe found stable for every objective at this scale, with a warm-up and then constant
# (the paper's schedule). 8 prompts x 8 samples per optimizer step; one rollout of 32 prompts feeds 4 optimizer steps
# (the paper's 4 mini-batches per rollout, so later steps are slightly off-policy and the 0.2 clip is active).
# No KL and no entropy bonus, so that entropy moves by the objectives alone.
RL_STEPS = 200
SAVE_EVERY = 40
RL_ARGS = [
    "--learning-rate", "3e-5", "--warmup", "20", "--lr-scheduler-type", "constant_with_warmup",
    "--num-generations", "8", "--batch-size", "64", "--gradient-accumulation-steps", "1",
    "--steps-per-generation", "4", "--max-completion-length", "8", "--temperature", "1.0",
    "--beta", "0", "--entropy-coef", "0", "--lambda-psr", "0.1", "--logging-steps", "10",
    "--save-total-limit", "20",
]  # fmt: skip
# Evaluation: the paper's sampling protocol (temperature 0.6, top-p 0.95), n = 64 on 200 held-out problems.
NUM_PROBLEMS = 200
NUM_SAMPLES = 64
SAMPLING_ARGS = ["--temperature", "0.6", "--top-p", "0.95", "--max-new-tokens", "8", "--batch-size", "64"]
ENTROPY_ARGS = ["--num-prompts", "128", "--samples-per-prompt", "16", "--max-new-tokens", "8"]
COMMON_ARGS = ["--task", "arithmetic", "--no-lora", "--disable-gradient-checkpointing", "--report-to", "none"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The decomposed objectives on the arithmetic toy, end to end.")
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs" / "objectives_toy", help="checkpoints")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "docs" / "results", help="table, figures")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--modes", nargs="+", choices=RL_MODES, default=list(RL_MODES))
    parser.add_argument("--rl-steps", type=int, default=RL_STEPS, help="smaller only for a smoke run")
    parser.add_argument("--num-problems", type=int, default=NUM_PROBLEMS, help="held-out problems for Pass@k")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per step (1: on a shared 2-core machine two threads fight for one core)",
    )
    parser.add_argument("--base-only", action="store_true", help="stop after the warm start's Pass@k")
    parser.add_argument("--force", action="store_true", help="delete --run-dir and start over")
    return parser


class StepRunner:
    """Runs each step as a subprocess with its log under ``run_dir/logs``, skipping steps already done."""

    def __init__(self, run_dir: Path, threads: int) -> None:
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "WANDB_MODE": "disabled",
            "OMP_NUM_THREADS": str(threads),
            "PYTHONUNBUFFERED": "1",
        }
        self.seconds: dict[str, float] = {}
        self.skipped: list[str] = []

    def run(self, name: str, command: Sequence[str], done: Path) -> None:
        if done.exists():
            self.skipped.append(name)
            print(f"[skip] {name}: {done} exists", flush=True)
            return
        log_path = self.logs / f"{name}.log"
        started = time.perf_counter()
        with open(log_path, "w") as log:
            result = subprocess.run(
                [sys.executable, *command], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.seconds[name] = round(time.perf_counter() - started, 1)
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} failed (exit {result.returncode}); log {log_path}:\n{tail}")
        print(f"[done] {name}: {self.seconds[name]:.0f} s", flush=True)


def run_name(mode: str, seed: int) -> str:
    return f"{mode}-seed{seed}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_dir: Path = args.run_dir.resolve()
    if args.force and run_dir.exists():
        shutil.rmtree(run_dir)
    started, load_before = time.perf_counter(), os.getloadavg()
    steps = StepRunner(run_dir, args.threads)
    sft_dir, samples_dir, results_dir = run_dir / "sft", run_dir / "samples", run_dir / "pass_at_k"

    # 1. Supervised warm start (once)
    steps.run(
        "sft",
        ["main.py", "--mode", "sft", "--model", "tiny-arith", *COMMON_ARGS, *SFT_ARGS, "--output-dir", str(sft_dir)],
        sft_dir / "model.safetensors",
    )

    # 2. RL: every objective from the same warm start, seeds 0, 1, 2
    runs = {} if args.base_only else {run_name(m, s): (m, s) for s in args.seeds for m in args.modes}
    for name, (mode, seed) in runs.items():
        steps.run(
            name,
            ["main.py", "--mode", mode, "--model", str(sft_dir), *COMMON_ARGS, *RL_ARGS, "--seed", str(seed),
             "--max-steps", str(args.rl_steps), "--save-steps", str(min(SAVE_EVERY, args.rl_steps)),
             "--output-dir", str(run_dir / name)],
            run_dir / name / "model.safetensors",
        )  # fmt: skip

    # 3. Samples of the held-out problems from the base and every final model
    models = {"base": sft_dir, **{name: run_dir / name for name in runs}}
    for name, model_dir in models.items():
        steps.run(
            f"samples-{name}",
            ["generate_samples.py", "--checkpoint-path", str(model_dir), "--task", "arithmetic",
             "--num-samples", str(NUM_SAMPLES), "--max-problems", str(args.num_problems), *SAMPLING_ARGS,
             "--output-path", str(samples_dir / f"samples_{name}.json"), "--overwrite"],
            samples_dir / f"samples_{name}.json",
        )  # fmt: skip

    # 4. Pass@k with bootstrap intervals, every model in one call
    steps.run(
        "pass-at-k",
        ["evaluation/pass_at_k.py", "--samples-path", *(str(samples_dir / f"samples_{n}.json") for n in models),
         "--method-name", *models, "--output-path", *(str(results_dir / f"results_{n}.json") for n in models),
         "--k-values", *(str(k) for k in K_VALUES), "--baseline", "base", "--overwrite"],
        results_dir / f"results_{list(models)[-1]}.json",
    )  # fmt: skip

    # 5. Policy entropy of the base and of every saved checkpoint, on the same held-out prompts
    run_checkpoints = (folder for name in runs for folder in (run_dir / name).glob("checkpoint-*"))
    checkpoints = [sft_dir, *sorted(run_checkpoints, key=lambda f: (f.parent.name, int(f.name.split("-")[1])))]
    entropy_path = run_dir / ("entropy_base.json" if args.base_only else "entropy.json")
    steps.run(
        "entropy",
        ["experiments/policy_entropy.py", "--task", "arithmetic", *ENTROPY_ARGS,
         "--checkpoints", *(str(folder) for folder in checkpoints), "--output-path", str(entropy_path)],
        entropy_path,
    )  # fmt: skip

    # 6. Table and figures
    summary = build_summary(
        pass_at_k={name: json.loads((results_dir / f"results_{name}.json").read_text()) for name in models},
        samples_paths={name: samples_dir / f"samples_{name}.json" for name in models},
        entropy=json.loads(entropy_path.read_text()),
        base_dir=sft_dir,
        runs=runs,
    )
    summary["settings"] = {
        "sft_args": SFT_ARGS, "rl_args": RL_ARGS, "rl_steps": args.rl_steps, "save_every": SAVE_EVERY,
        "sampling_args": SAMPLING_ARGS, "num_samples": NUM_SAMPLES, "num_problems": args.num_problems,
        "entropy_args": ENTROPY_ARGS, "seeds": args.seeds, "modes": args.modes, "threads": args.threads,
    }  # fmt: skip
    summary["runtime"] = {
        "total_seconds": round(time.perf_counter() - started, 1),
        "step_seconds": steps.seconds,
        "steps_skipped_as_done": steps.skipped,
        "load_average_at_start": [round(value, 2) for value in load_before],
        "cpu_count": os.cpu_count(),
    }
    stem = "objectives_toy_base" if args.base_only else "objectives_toy"
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.results_dir / f"{stem}.md").write_text(markdown_report(summary))
    if not args.base_only:
        plot_pass_at_k(summary, args.results_dir / "objectives_toy_pass_at_k.png")
        plot_entropy(summary, args.results_dir / "objectives_toy_entropy.png")
    print(markdown_report(summary))
    print(f"wrote {args.results_dir / stem}.md and .json in {summary['runtime']['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
