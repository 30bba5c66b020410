"""GRPO, PSR, NSR and W-REINFORCE against their controls on an arithmetic toy, end to end on the CPU: ``make science``.

    python experiments/objectives_toy.py              # everything, about an hour on two cores
    python experiments/objectives_toy.py --base-only  # the warm start and its Pass@k, to check the difficulty

Every step is a subprocess of a user-facing command, so the experiment runs the code users run:

1. ``main.py --mode sft``: one supervised warm start of tiny-arith, shared by every RL run;
2. for each seed, ``main.py`` with every objective, the same run with rewards shuffled within each rollout
   (``--shuffle-rewards``), and one run at learning rate 0: same data, geometry and number of rollouts;
3. ``generate_samples.py`` + ``evaluation/pass_at_k.py``: Pass@k of the base and of every final model on held-out
   problems, and Pass@k of every saved checkpoint of the objectives (the training dynamics);
4. ``experiments/policy_entropy.py``: policy entropy of every checkpoint;
5. the learning gate (experiments/toy_report.py): GRPO and PSR must raise held-out Pass@1 above the base and above
   their shuffled controls beyond the seed spread; if they do not, the report says so and compares nothing else.

Steps whose output exists are skipped, so a killed run continues where it stopped (``--force`` starts over). The
settings below were fixed before the final run; docs/objectives.md ("Choices") records each one and why.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from experiments.toy_plots import plot_dynamics, plot_entropy, plot_pass_at_k
from experiments.toy_report import build_summary, markdown_report

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
K_VALUES = (1, 2, 4, 8, 16, 32, 64)
DYNAMICS_K_VALUES = (1, 4, 16)
TASK_ARGS = ["--task", "arithmetic", "--dataset-name", "addition"]

# Supervised warm start: AdamW 1e-3, batch 256, 100 warm-up steps then constant (so a checkpoint of a longer run is
# the same model as a shorter run, which made the calibration cheap); stopped at 200 steps, where held-out Pass@1 is
# about 0.17 and Pass@64 about 0.85: room to sharpen and room to widen.
SFT_ARGS = [
    "--learning-rate", "1e-3", "--batch-size", "256", "--gradient-accumulation-steps", "1", "--warmup", "100",
    "--lr-scheduler-type", "constant_with_warmup", "--max-steps", "200", "--seed", "2025", "--logging-steps", "50",
    "--save-steps", "1000",
]  # fmt: skip
# RL: rollouts of 64 prompts x 8 samples, optimizer updates of 32 prompts (the paper's 4:1 becomes 2:1 here), a
# learning rate warmed up over 4 update slots and then constant (the paper's schedule), no KL, no entropy bonus.
ROLLOUTS = 40
SLOTS_PER_ROLLOUT = 2
SAVE_EVERY = 20  # update slots: checkpoints after rollouts 10, 20, 30 and 40
LEARNING_RATE = "1e-4"
RL_ARGS = [
    "--warmup", "4", "--lr-scheduler-type", "constant_with_warmup", "--num-generations", "8",
    "--rollout-prompts", "64", "--update-prompts", "32", "--batch-size", "64", "--max-completion-length", "8",
    "--temperature", "1.0", "--beta", "0", "--entropy-coef", "0", "--logging-steps", "2",
    "--save-total-limit", "10",
]  # fmt: skip
# Evaluation: the paper's sampling protocol (temperature 0.6, top-p 0.95), n = 64 per held-out problem.
NUM_PROBLEMS = 160
NUM_SAMPLES = 64
DYNAMICS_SAMPLES = 16
SAMPLING_ARGS = ["--temperature", "0.6", "--top-p", "0.95", "--max-new-tokens", "8", "--batch-size", "64"]
ENTROPY_ARGS = ["--num-prompts", "96", "--samples-per-prompt", "8", "--max-new-tokens", "8"]
COMMON_ARGS = [*TASK_ARGS, "--no-lora", "--disable-gradient-checkpointing", "--report-to", "none"]


@dataclass(frozen=True)
class Method:
    """One arm of the experiment: an objective, or a control of one."""

    label: str
    mode: str
    flags: tuple[str, ...] = ()
    control_of: str | None = None  # the objective this arm controls

    @property
    def is_objective(self) -> bool:
        return self.control_of is None


OBJECTIVES = (
    Method("grpo", "grpo"),
    Method("psr", "psr"),
    Method("nsr", "nsr"),
    Method("w-reinforce", "w-reinforce", ("--lambda-psr", "0.1")),
    Method("w-reinforce-1.0", "w-reinforce", ("--lambda-psr", "1.0")),
)
CONTROLS = (
    *(Method(f"{m.label}+shuffled", m.mode, (*m.flags, "--shuffle-rewards"), control_of=m.label) for m in OBJECTIVES),
    Method("lr0", "grpo", ("--learning-rate", "0"), control_of="base"),
)
METHODS = {method.label: method for method in (*OBJECTIVES, *CONTROLS)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The decomposed objectives against controls on the arithmetic toy.")
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs" / "objectives_toy", help="checkpoints")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "docs" / "results", help="table, figures")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--rollouts", type=int, default=ROLLOUTS, help="smaller only for a smoke run")
    parser.add_argument("--num-problems", type=int, default=NUM_PROBLEMS, help="held-out problems for Pass@k")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--base-only", action="store_true", help="stop after the warm start's Pass@k")
    parser.add_argument("--force", action="store_true", help="delete --run-dir and start over")
    return parser


class StepRunner:
    """Runs each step as a subprocess with its log under ``run_dir/logs``, skipping steps already done."""

    def __init__(self, run_dir: Path) -> None:
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "WANDB_MODE": "disabled",
            "PYTHONUNBUFFERED": "1",
        }
        self.seconds: dict[str, float] = {}
        self.skipped: list[str] = []

    def run(self, name: str, command: Sequence[str], done: Path, threads: int = 1) -> None:
        if done.exists():
            self.skipped.append(name)
            return
        log_path = self.logs / f"{name}.log"
        started = time.perf_counter()
        env = {**self.env, "OMP_NUM_THREADS": str(threads)}
        with open(log_path, "w") as log:
            result = subprocess.run(
                [sys.executable, *command], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.seconds[name] = round(time.perf_counter() - started, 1)
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} failed (exit {result.returncode}); log {log_path}:\n{tail}")
        print(f"[done] {name}: {self.seconds[name]:.0f} s", flush=True)


class Experiment:
    """The commands of the experiment, with the paths they write."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_dir: Path = args.run_dir.resolve()
        self.steps = StepRunner(self.run_dir)
        self.sft_dir = self.run_dir / "sft"
        self.samples_dir = self.run_dir / "samples"
        self.results_dir = self.run_dir / "pass_at_k"

    def samples_path(self, name: str) -> Path:
        return self.samples_dir / f"samples_{name}.json"

    def results_path(self, name: str) -> Path:
        return self.results_dir / f"results_{name}.json"

    def warm_start(self) -> None:
        command = ["main.py", "--mode", "sft", "--model", "tiny-arith", *COMMON_ARGS, *SFT_ARGS]
        self.steps.run("sft", [*command, "--output-dir", str(self.sft_dir)], self.sft_dir / "model.safetensors", 2)

    def train(self, name: str, method: Method, seed: int) -> Path:
        output = self.run_dir / name
        slots = self.args.rollouts * SLOTS_PER_ROLLOUT
        command = [
            "main.py", "--mode", method.mode, "--model", str(self.sft_dir), *COMMON_ARGS, *RL_ARGS,
            "--learning-rate", LEARNING_RATE, *method.flags, "--seed", str(seed), "--max-steps", str(slots),
            "--save-steps", str(min(SAVE_EVERY, slots)), "--output-dir", str(output),
        ]  # fmt: skip
        self.steps.run(name, command, output / "model.safetensors")
        return output

    def evaluate(self, name: str, model_dir: Path, num_samples: int, k_values: Sequence[int]) -> None:
        """Samples of the held-out problems, then Pass@k with bootstrap intervals."""
        samples = self.samples_path(name)
        self.steps.run(
            f"samples-{name}",
            ["generate_samples.py", "--checkpoint-path", str(model_dir), *TASK_ARGS, "--num-samples",
             str(num_samples), "--max-problems", str(self.args.num_problems), *SAMPLING_ARGS,
             "--output-path", str(samples), "--overwrite"],
            samples,
        )  # fmt: skip
        self.steps.run(
            f"pass-at-k-{name}",
            ["evaluation/pass_at_k.py", "--samples-path", str(samples), "--method-name", name,
             "--output-path", str(self.results_path(name)), "--k-values", *map(str, k_values), "--overwrite"],
            self.results_path(name),
        )  # fmt: skip

    def entropy(self, name: str, checkpoints: Sequence[Path]) -> Path:
        path = self.run_dir / "entropy" / f"entropy_{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.steps.run(
            f"entropy-{name}",
            ["experiments/policy_entropy.py", *TASK_ARGS, *ENTROPY_ARGS, "--checkpoints",
             *map(str, checkpoints), "--output-path", str(path)],
            path,
        )  # fmt: skip
        return path

    def run_arm(self, name: str, method: Method, seed: int) -> None:
        """Train one run; evaluate its final model, and for an objective its checkpoints and entropy too."""
        output = self.train(name, method, seed)
        self.evaluate(name, output, NUM_SAMPLES, K_VALUES)
        if method.is_objective:
            for checkpoint in checkpoints_of(output)[:-1]:  # the last one is the final model, evaluated above
                self.evaluate(f"{name}@{checkpoint.name}", checkpoint, DYNAMICS_SAMPLES, DYNAMICS_K_VALUES)
            self.entropy(name, checkpoints_of(output))


def checkpoints_of(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("checkpoint-*"), key=lambda folder: int(folder.name.split("-")[1]))


def run_name(label: str, seed: int) -> str:
    return f"{label}-seed{seed}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.force and args.run_dir.exists():
        shutil.rmtree(args.run_dir)
    started, load_before = time.perf_counter(), os.getloadavg()
    experiment = Experiment(args)

    # 1. Supervised warm start (once), its Pass@k and entropy
    experiment.warm_start()
    experiment.evaluate("base", experiment.sft_dir, NUM_SAMPLES, K_VALUES)
    experiment.entropy("base", [experiment.sft_dir])

    # 2-4. Every arm and seed: training, then evaluation; two runs at a time, one thread each
    # Learning rate 0 changes no weight whatever the seed, so one seed of it shows the pipeline adds nothing.
    arms = [(m, s) for s in args.seeds for m in args.methods if m != "lr0" or s == args.seeds[0]]
    runs = {} if args.base_only else {run_name(m, s): (m, s) for m, s in arms}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(experiment.run_arm, name, METHODS[m], s) for name, (m, s) in runs.items()]:
            future.result()

    # 5. Gate, claims, table and figures
    names = ["base", *runs]
    dynamics = {
        name: {
            int(path.stem.split("@checkpoint-")[1]): json.loads(path.read_text())
            for path in sorted(experiment.results_dir.glob(f"results_{name}@checkpoint-*.json"))
        }
        for name in runs
        if METHODS[runs[name][0]].is_objective
    }
    entropy_records = [
        record
        for path in sorted((experiment.run_dir / "entropy").glob("entropy_*.json"))
        for record in json.loads(path.read_text())["checkpoints"]
    ]
    summary = build_summary(
        pass_at_k={name: json.loads(experiment.results_path(name).read_text()) for name in names},
        samples_paths={name: experiment.samples_path(name) for name in names},
        entropy={"checkpoints": entropy_records},
        base_dir=experiment.sft_dir,
        runs=runs,
        dynamics=dynamics,
        controls={label: method.control_of for label, method in METHODS.items() if method.control_of},
        slots_per_rollout=SLOTS_PER_ROLLOUT,
    )
    summary["settings"] = {
        "task_args": TASK_ARGS, "sft_args": SFT_ARGS, "rl_args": RL_ARGS, "learning_rate": LEARNING_RATE,
        "rollouts": args.rollouts, "slots_per_rollout": SLOTS_PER_ROLLOUT, "save_every": SAVE_EVERY,
        "sampling_args": SAMPLING_ARGS, "num_samples": NUM_SAMPLES, "dynamics_samples": DYNAMICS_SAMPLES,
        "num_problems": args.num_problems, "entropy_args": ENTROPY_ARGS, "seeds": args.seeds,
    }  # fmt: skip
    summary["settings"]["methods"] = {label: [METHODS[label].mode, *METHODS[label].flags] for label in args.methods}
    summary["runtime"] = {
        "total_seconds": round(time.perf_counter() - started, 1),
        "step_seconds": experiment.steps.seconds,
        "steps_skipped_as_done": experiment.steps.skipped,
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
        plot_dynamics(summary, args.results_dir / "objectives_toy_dynamics.png")
    print(markdown_report(summary))
    print(f"wrote {args.results_dir / stem}.md and .json in {summary['runtime']['total_seconds'] / 60:.1f} min")
    gate = summary.get("gate")
    return 0 if args.base_only or (gate and gate["passed"]) else 3


if __name__ == "__main__":
    sys.exit(main())
