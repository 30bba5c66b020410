"""GRPO, PSR, NSR, W-REINFORCE, NSR in the paper's geometry and SR alone on three-strategy addition: ``make science``.

    python -m experiments.three_strategy.run          # everything, under an hour on two idle cores
    python -m experiments.three_strategy.run --smoke  # every stage with tiny settings, a few minutes (tested)

The toy (rlvr/tasks/strategies) has three strategies, so Pass@1 can rise while coverage of the hard problems falls,
and a rare strategy that is the worst on the training mix yet the only one right on carry problems. Every training
step is main.py, the command users run:

1. ``main.py --mode sft`` for each SFT seed: the bases (tags 88% X, 10% W, 2% Y, independent of the problem);
2. on each base, before any RL: its measurements (experiments/three_strategy/measure.py), the first-order direction
   of P(Y) (first_order.py), a reward-free supervised push toward W (the gate's coupling check), and GRPO at
   learning rate 0 for a few rollouts (the determinism check: it must measure exactly like its base);
3. every arm and its shuffled control for every SFT seed at every learning rate, each measured at every checkpoint;
4. the gate, decompositions, matched comparisons and a verdict per pre-registered prediction (analysis.py,
   verdicts.py), written to docs/results/three_strategy.md and .json with figures (report.py, plots.py).

Steps whose output exists are skipped, so a killed run continues where it stopped (``--force`` starts over).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments.common.cli import experiment_parser
from experiments.common.provenance import commit_of
from experiments.common.steps import StepRunner
from experiments.three_strategy.analysis import build_summary
from experiments.three_strategy.arms import ARMS, DETERMINISM_ARM, Arm, Settings, smoke_settings
from experiments.three_strategy.plots import plot_all
from experiments.three_strategy.report import markdown_report
from rlvr.files import write_atomically

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMON_ARGS = ("--task", "strategies", "--no-lora", "--disable-gradient-checkpointing", "--report-to", "none")
DETERMINISM_ROLLOUTS = 5


def build_parser() -> argparse.ArgumentParser:
    return experiment_parser("The objectives on three-strategy addition.", "three_strategy", REPO_ROOT)


class Experiment:
    """The commands of the experiment and the folders they write."""

    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings, self.run_dir = settings, run_dir
        self.steps = StepRunner(run_dir, REPO_ROOT)

    def base(self, sft_seed: int) -> Path:
        return self.run_dir / f"sft-{sft_seed}"

    def warm_start(self, sft_seed: int) -> None:
        output = self.base(sft_seed)
        command = ["main.py", "--mode", "sft", "--model", "tiny-carry", *COMMON_ARGS, *self.settings.sft_args]
        command += ["--seed", str(sft_seed), "--output-dir", str(output)]
        self.steps.run(f"sft-{sft_seed}", command, output / "model.safetensors")

    def measure(self, name: str, sft_seed: int, models: Sequence[Path]) -> Path:
        output = self.run_dir / "measured" / f"{name}.json"
        command = ["-m", "experiments.three_strategy.measure", "--reference", str(self.base(sft_seed))]
        command += ["--checkpoints", *map(str, models), "--output-path", str(output)]
        command += ["--num-samples", str(self.settings.num_samples), "--kl-samples", str(self.settings.kl_samples)]
        self.steps.run(f"measure-{name}", command, output)
        return output

    def before_rl(self, sft_seed: int) -> dict:
        """The base's measurements, first-order direction, supervised push and determinism check."""
        base = self.base(sft_seed)
        first_order = self.run_dir / "first_order" / f"sft-{sft_seed}.json"
        command = ["-m", "experiments.three_strategy.first_order", "--model", str(base), "--output-path"]
        self.steps.run(f"first-order-{sft_seed}", [*command, str(first_order)], first_order)
        pushed = self.run_dir / f"push-w-sft{sft_seed}"
        command = ["main.py", "--mode", "sft", "--model", str(base), *COMMON_ARGS, "--dataset-name", "push-w"]
        command += ["--learning-rate", "1e-3", "--lr-scheduler-type", "constant", "--batch-size", "128"]
        command += ["--max-steps", str(self.settings.push_steps), "--save-steps", "100000", "--seed", str(sft_seed)]
        command += ["--subset-size", str(self.settings.push_steps * 128)]  # the rows it reads, no more
        self.steps.run(f"push-w-sft{sft_seed}", [*command, "--output-dir", str(pushed)], pushed / "model.safetensors")
        determinism = self.train(f"lr0-sft{sft_seed}", DETERMINISM_ARM, sft_seed, "0", DETERMINISM_ROLLOUTS)
        return {
            "sft_seed": sft_seed,
            "measured": str(self.measure(f"base-sft{sft_seed}", sft_seed, [base])),
            "pushed": str(self.measure(f"push-w-sft{sft_seed}", sft_seed, [pushed])),
            "determinism": str(self.measure(f"lr0-sft{sft_seed}", sft_seed, [determinism])),
            "first_order": str(first_order),
        }

    def train(self, name: str, arm: Arm, sft_seed: int, learning_rate: str, rollouts: int) -> Path:
        output = self.run_dir / name
        slots = rollouts * self.settings.slots_per_rollout
        command = ["main.py", "--mode", arm.mode, "--model", str(self.base(sft_seed)), *COMMON_ARGS]
        command += [*self.settings.rl_args, "--learning-rate", learning_rate, *arm.flags]
        command += ["--seed", str(self.settings.rl_seed), "--max-steps", str(slots)]
        command += ["--rollout-prompts", str(self.settings.rollout_prompts)]
        command += ["--subset-size", str(rollouts * self.settings.rollout_prompts)]  # one pass over the prompts
        command += ["--save-steps", str(min(self.settings.save_every_slots, slots)), "--output-dir", str(output)]
        self.steps.run(name, command, output / "model.safetensors")
        return output

    def run_arm(self, arm: Arm, sft_seed: int, learning_rate: str) -> dict:
        name = f"{arm.label}-lr{learning_rate}-sft{sft_seed}"
        output = self.train(name, arm, sft_seed, learning_rate, self.settings.rollouts)
        models = [*checkpoints_of(output)[:-1], output]  # the last checkpoint is the final model
        steps = [step_of(model) for model in checkpoints_of(output)]
        record = {"name": name, "arm": arm.label, "sft_seed": sft_seed, "lr": learning_rate, "steps": steps}
        record["updates"] = self.steps.updates_of(name, self.settings.rollouts * self.settings.slots_per_rollout)
        return record | {"measured": str(self.measure(name, sft_seed, models))}


def step_of(model: Path) -> int:
    return int(model.name.split("-")[1])


def checkpoints_of(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("checkpoint-*"), key=step_of)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = smoke_settings() if args.smoke else Settings()
    default_dir = REPO_ROOT / "runs" / ("three_strategy_smoke" if args.smoke else "three_strategy")
    run_dir = (args.run_dir or default_dir).resolve()
    if args.force and run_dir.exists():
        shutil.rmtree(run_dir)
    started, load_before = time.perf_counter(), os.getloadavg()
    experiment = Experiment(settings, run_dir)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(experiment.warm_start, settings.sft_seeds))
        bases = list(pool.map(experiment.before_rl, settings.sft_seeds))
        jobs = [
            (ARMS[label], sft, rate)
            for rate in settings.learning_rates
            for sft in settings.sft_seeds
            for label in settings.arms
        ]
        runs = [future.result() for future in [pool.submit(experiment.run_arm, *job) for job in jobs]]

    summary = build_summary(settings, bases, runs)
    summary["runtime"] = {
        **commit_of(REPO_ROOT),
        "total_seconds": round(time.perf_counter() - started, 1),
        "step_seconds_all_sessions": experiment.steps.seconds_all_sessions(),
        "steps_run": len(experiment.steps.seconds),
        "steps_skipped_as_done": len(experiment.steps.skipped),
        "load_average_at_start": [round(value, 2) for value in load_before],
        "cpu_count": os.cpu_count(),
        "smoke": args.smoke,
    }
    results_dir = run_dir if args.smoke and args.results_dir == REPO_ROOT / "docs" / "results" else args.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(results_dir / "three_strategy.json", json.dumps(summary, indent=1) + "\n")
    report = markdown_report(summary)
    write_atomically(results_dir / "three_strategy.md", report)
    plot_all(summary, results_dir)
    print(report)
    minutes = summary["runtime"]["total_seconds"] / 60
    print(f"wrote {results_dir}/three_strategy.md, .json and figures in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
