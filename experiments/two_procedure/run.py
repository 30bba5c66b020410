"""GRPO, PSR, NSR and W-REINFORCE on two-procedure addition, against controls, end to end on the CPU:
``make science-two-procedure``.

    python -m experiments.two_procedure.run          # everything, under an hour on two idle cores
    python -m experiments.two_procedure.run --smoke  # every stage with tiny settings, a few minutes (tested)

The toy (rlvr/tasks/carry) mixes a common strategy X that forgets the carry with a rare one Y that always adds
right, independently of the problem. One tag shared by every problem makes Pass@1 and Pass@64 rise together with
P(Y), so the paper's large-k claims cannot come out against it here (docs/objectives.md, "What this toy could not
test"; the three-strategy experiment is the one that can). Every step is a subprocess of a user-facing
command, so the experiment runs the code users run:

1. ``main.py --mode sft`` for each SFT seed: the base models (tiny-carry, 10% of the supervised rows show Y);
2. the mechanism gate's measurements on every base: ``generate_samples.py`` (n = 256 per held-out problem) and
   ``python -m experiments.two_procedure.probe`` (exact P(Y), entropy, KL);
3. the learning-rate sweep, largest first: the controls (rewards shuffled within each rollout, or replaced by coin
   flips at the rollout's own rate) on the first SFT and RL seed; the first rate at which every control keeps
   Pass@1 and Pass@64 inside the base's 95% interval at every checkpoint is taken (gate.py);
4. the coupling probe (gate d): a few PSR steps on problems without a carry only, at the chosen rate;
5. every objective and control for every SFT seed x RL seed at the chosen rate, and the same run at learning rate 0,
   each evaluated like the base at its middle checkpoint and at the end;
6. the report: gate, rate, claims with verdicts, tables and figures in docs/results/ (report.py),
   and every headline number against the report committed at HEAD (reproduction.py).

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
from experiments.two_procedure.arms import ARMS, Arm, Settings, smoke_settings
from experiments.two_procedure.gate import choose_learning_rate
from experiments.two_procedure.plots import plot_all
from experiments.two_procedure.report import markdown_report
from experiments.two_procedure.reproduction import compare_runs, published_summary
from experiments.two_procedure.results import build_summary, load_point
from rlvr.files import claim_output, write_atomically

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMON_ARGS = ["--task", "carry", "--no-lora", "--disable-gradient-checkpointing", "--report-to", "none"]


def build_parser() -> argparse.ArgumentParser:
    return experiment_parser(
        "The decomposed objectives against controls on two-procedure addition.", "objectives_toy", REPO_ROOT
    )


class Experiment:
    """The commands of the experiment and the folders they write."""

    def __init__(self, settings: Settings, run_dir: Path, jobs: int) -> None:
        self.settings, self.run_dir, self.jobs = settings, run_dir, jobs
        self.steps = StepRunner(run_dir, REPO_ROOT)

    def sft_dir(self, sft_seed: int) -> Path:
        return self.run_dir / f"sft-{sft_seed}"

    def warm_start(self, sft_seed: int) -> None:
        output = self.sft_dir(sft_seed)
        command = [
            "main.py",
            "--mode",
            "sft",
            "--model",
            "tiny-carry",
            *COMMON_ARGS,
            *self.settings.sft_args,
            "--seed",
            str(sft_seed),
            "--output-dir",
            str(output),
        ]
        self.steps.run(f"sft-{sft_seed}", command, output / "model.safetensors")

    def measure(self, name: str, sft_seed: int, models: Sequence[Path]) -> list[dict]:
        """Samples of every held-out problem from each model, and its probe (P(Y), entropy, KL to its base)."""
        points = []
        probe = self.run_dir / "probe" / f"{name}.json"
        self.steps.run(
            f"probe-{name}",
            [
                "-m",
                "experiments.two_procedure.probe",
                "--reference",
                str(self.sft_dir(sft_seed)),
                "--checkpoints",
                *map(str, models),
                "--output-path",
                str(probe),
                *self.settings.probe_args,
            ],
            probe,
        )
        for index, model in enumerate(models):
            samples = self.run_dir / "samples" / f"{name}@{step_of(model)}.json"
            self.steps.run(
                f"samples-{name}@{step_of(model)}",
                [
                    "generate_samples.py",
                    "--checkpoint-path",
                    str(model),
                    "--task",
                    "carry",
                    *self.settings.sampling_args,
                    "--output-path",
                    str(samples),
                    "--overwrite",
                ],
                samples,
            )
            points.append(load_point(samples, probe, index, step_of(model)))
        return points

    def train(self, name: str, arm: Arm, sft_seed: int, rl_seed: int, learning_rate: str, rollouts: int) -> Path:
        output = self.run_dir / name
        slots = rollouts * self.settings.slots_per_rollout
        command = [
            "main.py",
            "--mode",
            arm.mode,
            "--model",
            str(self.sft_dir(sft_seed)),
            *COMMON_ARGS,
            *self.settings.rl_args,
            "--learning-rate",
            learning_rate,
            *arm.flags,
            "--seed",
            str(rl_seed),
            "--max-steps",
            str(slots),
            "--save-steps",
            str(max(slots // 2, 1)),
            "--output-dir",
            str(output),
        ]
        self.steps.run(name, command, output / "model.safetensors")
        return output

    def run_arm(self, arm: Arm, sft_seed: int, rl_seed: int, learning_rate: str, rollouts: int) -> dict:
        name, learning_rate = run_name(arm, sft_seed, rl_seed, learning_rate)
        output = self.train(name, arm, sft_seed, rl_seed, learning_rate, rollouts)
        models = [*checkpoints_of(output)[:-1], output]  # the last checkpoint is the final model
        record = {"name": name, "arm": arm.label, "sft_seed": sft_seed, "rl_seed": rl_seed, "lr": learning_rate}
        record["updates"] = self.steps.updates_of(name, rollouts * self.settings.slots_per_rollout)
        record["positive_frac"] = positive_fracs(output)
        return record | {"points": self.measure(name, sft_seed, models)}

    def run_all(self, jobs: Sequence[tuple[Arm, int, int, str, int]]) -> list[dict]:
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return [future.result() for future in [pool.submit(self.run_arm, *job) for job in jobs]]


def run_name(arm: Arm, sft_seed: int, rl_seed: int, learning_rate: str) -> tuple[str, str]:
    """A run's folder name and the rate it trains at: the sweep's, unless the arm fixes its own (then in its label)."""
    if arm.learning_rate is not None:
        return f"{arm.label}-sft{sft_seed}-rl{rl_seed}", arm.learning_rate
    return f"{arm.label}-lr{learning_rate}-sft{sft_seed}-rl{rl_seed}", learning_rate


def step_of(model: Path) -> int:
    return int(model.name.split("-")[1]) if model.name.startswith("checkpoint-") else -1  # -1: the final model


def checkpoints_of(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("checkpoint-*"), key=step_of)


def positive_fracs(run_dir: Path) -> list[float]:
    """The share of correct samples in each logged window of a run (trainer_state of its last checkpoint)."""
    checkpoints = checkpoints_of(run_dir)
    if not checkpoints:
        return []
    history = json.loads((checkpoints[-1] / "trainer_state.json").read_text())["log_history"]
    return [entry["objective/positive_frac"] for entry in history if "objective/positive_frac" in entry]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = smoke_settings() if args.smoke else Settings()
    run_dir = (
        args.run_dir or REPO_ROOT / "runs" / ("objectives_toy_smoke" if args.smoke else "objectives_toy")
    ).resolve()
    if args.force and run_dir.exists():
        shutil.rmtree(run_dir)
    started, load_before = time.perf_counter(), os.getloadavg()
    experiment = Experiment(settings, run_dir, args.jobs)

    # 1-2. The bases and their measurements
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(experiment.warm_start, settings.sft_seeds))
        bases = {
            seed: {
                "name": f"base-sft{seed}",
                "arm": "base",
                "sft_seed": seed,
                "rl_seed": None,
                "lr": None,
                "points": points,
            }
            for seed, points in zip(
                settings.sft_seeds,
                pool.map(lambda s: experiment.measure(f"base-sft{s}", s, [experiment.sft_dir(s)]), settings.sft_seeds),
                strict=True,
            )
        }

    # 3. The learning rate: largest first, the first at which every control stays at the base
    first_sft, first_rl = settings.sft_seeds[0], settings.rl_seeds[0]
    controls = [ARMS[label] for label in settings.controls]
    sweep: dict[str, list[dict]] = {}
    for rate in settings.learning_rates:
        sweep[rate] = experiment.run_all([(arm, first_sft, first_rl, rate, settings.rollouts) for arm in controls])
        choice = choose_learning_rate(bases[first_sft], sweep, settings.learning_rates)
        if choice["chosen"] == rate:
            break
    learning_rate = choice["chosen"] or settings.learning_rates[-1]

    # 4. The coupling probe: PSR on problems without a carry only
    coupling = experiment.run_all(
        [
            (arm, sft, rl, learning_rate, settings.coupling_rollouts)
            for arm in (Arm("coupling-psr", "psr", ("--dataset-name", "no-carry")),)
            for sft in settings.sft_seeds
            for rl in settings.rl_seeds[:2]
        ]
    )

    # 5. Every arm, every seed
    main_runs = experiment.run_all(
        [
            (arm, sft, rl, learning_rate, settings.rollouts)
            for sft in settings.sft_seeds
            for rl in settings.rl_seeds
            for arm in [*(ARMS[label] for label in (*settings.objectives, *settings.nulls)), *controls]
        ]
    )

    # 6. The report
    summary = build_summary(settings, list(bases.values()), main_runs, sweep, coupling, choice, learning_rate)
    summary["runtime"] = {
        **commit_of(REPO_ROOT),
        "total_seconds": round(time.perf_counter() - started, 1),
        "steps_run": len(experiment.steps.seconds),
        "step_seconds_all_sessions": experiment.steps.seconds_all_sessions(),
        "steps_skipped_as_done": len(experiment.steps.skipped),
        "load_average_at_start": [round(value, 2) for value in load_before],
        "cpu_count": os.cpu_count(),
        "smoke": args.smoke,
    }
    results_dir = args.results_dir if not args.smoke or args.results_dir != REPO_ROOT / "docs" / "results" else run_dir
    # The results are rewritten on each run, from a check of the published ones to the last plot under one lock
    outputs = [results_dir / "objectives_toy.json", results_dir / "objectives_toy.md"]
    with claim_output(outputs, "--results-dir", overwrite=True) as (json_path, report_path):
        published = published_summary(json_path, REPO_ROOT)
        if published is not None and not args.smoke:
            summary["reproduction"] = compare_runs(published, summary)
        write_atomically(json_path, json.dumps(summary, indent=1) + "\n")
        report = markdown_report(summary)
        write_atomically(report_path, report)
        plot_all(summary, results_dir)
    print(report)
    print(
        f"wrote {results_dir}/objectives_toy.md, .json and figures in "
        f"{summary['runtime']['total_seconds'] / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
