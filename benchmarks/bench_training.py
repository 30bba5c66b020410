"""Training-step cost: our grpo against TRL's plain GRPOTrainer, and psr / nsr against grpo at kept fractions.

    python -m benchmarks.bench_training [--repeats 7] [--rollouts 3]

Same tiny text model, prompts, geometry and seed for every trainer. A stand-in verifiable reward marks an exact
number of each rollout's samples correct, which sets what PSR and NSR keep. Every configuration runs once per
round, in the same order, after a warm-up round; ratios are taken within a round. A run is timed from the start of
its first rollout to the end of its last optimizer step, so model loading, the trainer's set-up and what train()
does before the first step (accelerate's free_memory and its gc.collect) are left out. Two times per rollout: all
of it, and the update part, which leaves out generating and scoring the rollout (and the no-gradient pass for the
rollout policy's log-probabilities, which TRL runs over every sample while scoring and psr/nsr over kept samples
only). Prints a markdown section.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from benchmarks.common import interleaved, load_line, machine_line, ratios, spread
from rlvr.models.tiny import tiny_text_model_path
from trainers.builders import objective_config
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer
from trainers.rollout import micro_batch_sizes

ROLLOUT_SIZE = 128
GEOMETRY = {
    "per_device_train_batch_size": 16,
    "gradient_accumulation_steps": 2,
    "steps_per_generation": 8,  # rollouts of 128 completions, 4 update slots of 32
    "num_generations": 8,
    "max_completion_length": 24,
}
KEPT_COUNTS = (32, 64, 96, 43)  # fractions 0.25, 0.5, 0.75, and an odd count that fills no micro-batch evenly
NEIGHBOUR_KEEPS_MORE = 16  # one micro-batch more: the padded case's neighbour process


def exactly_correct(count: int) -> Callable[..., list[float]]:
    """A reward marking ``count`` of the rollout's samples correct, spread over the groups."""

    def accuracy_reward(completions, **kwargs) -> list[float]:
        total = len(completions)
        # i * count mod total takes each multiple of gcd(count, total) equally often: exactly `count` fall below.
        return [float(index * count % total < count) for index in range(total)]

    return accuracy_reward


@dataclass(frozen=True)
class Case:
    label: str
    mode: str | None  # None: TRL's own GRPOTrainer
    correct: int
    padded: bool = False  # laid out as beside a process that keeps NEIGHBOUR_KEEPS_MORE samples more

    @property
    def kept(self) -> int:
        return {"psr": self.correct, "nsr": ROLLOUT_SIZE - self.correct}.get(self.mode or "", ROLLOUT_SIZE)


class Clock(TrainerCallback):
    """When the first rollout started, when the last optimizer step ended, and the seconds spent scoring rollouts."""

    def __init__(self, trainer) -> None:
        self.first_rollout: float | None = None
        self.last_step_end = 0.0
        self.scoring = 0.0
        self._wrap(trainer, "_generate_and_score_completions")
        if hasattr(trainer, "_rollout_policy_logps"):
            self._wrap(trainer, "_rollout_policy_logps")

    def _wrap(self, trainer, name: str) -> None:
        method = getattr(trainer, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            if self.first_rollout is None:
                self.first_rollout = started
            output = method(*args, **kwargs)
            self.scoring += time.perf_counter() - started
            return output

        setattr(trainer, name, timed)

    def on_step_end(self, args, state, control, **kwargs) -> None:
        self.last_step_end = time.perf_counter()


def pad_as_beside_a_process_keeping(more: int, trainer: DecomposedGRPOTrainer) -> None:
    """Lay out every rollout as on a process whose neighbour keeps ``more`` samples more: this process then pads its
    micro-batches with dropped samples at zero weight to the neighbour's sizes (trainers/rollout.py)."""
    compact = trainer._compact_rollout

    def compact_beside_a_neighbour(scored):
        gather = trainer.accelerator.gather  # the gather of the kept counts answers for two processes
        trainer.accelerator.gather = lambda tensor: torch.cat([gather(tensor), gather(tensor) + more])
        try:
            return compact(scored)
        finally:
            trainer.accelerator.gather = gather

    trainer._compact_rollout = compact_beside_a_neighbour


def run_once(case: Case, rollouts: int) -> tuple[float, float]:
    """(seconds per rollout, update seconds per rollout) of one training run."""
    torch.manual_seed(0)
    path = tiny_text_model_path()
    slots = GEOMETRY["steps_per_generation"] // GEOMETRY["gradient_accumulation_steps"]
    with tempfile.TemporaryDirectory() as output_dir, contextlib.redirect_stdout(io.StringIO()):
        # (the trainers' own log lines would land in the report, which is this script's standard output)
        args = GRPOConfig(
            output_dir=output_dir, report_to=[], use_cpu=True, bf16=False, activation_checkpointing=False,
            max_steps=rollouts * slots, logging_steps=1000, save_strategy="no", seed=0, learning_rate=1e-5,
            disable_tqdm=True, **GEOMETRY,
        )  # fmt: skip
        common = {
            "model": AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
            "reward_funcs": [exactly_correct(case.correct)],
            "args": args,
            "train_dataset": Dataset.from_list(
                [{"prompt": [{"role": "user", "content": f"{i}+{i}="}]} for i in range(64)]
            ),
            "processing_class": AutoTokenizer.from_pretrained(path, padding_side="left"),
        }
        if case.mode is None:
            trainer = GRPOTrainer(**common)
        else:
            objective = objective_config(RunConfig(mode=case.mode, model="tiny-text"), "accuracy_reward")
            trainer = DecomposedGRPOTrainer(**common, objective=objective)
        if case.padded:
            pad_as_beside_a_process_keeping(NEIGHBOUR_KEEPS_MORE, trainer)
        clock = Clock(trainer)
        trainer.add_callback(clock)
        trainer.train()
    total = clock.last_step_end - clock.first_rollout
    return total / rollouts, (total - clock.scoring) / rollouts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds of every configuration")
    parser.add_argument("--rollouts", type=int, default=3, help="rollouts per run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cases = [Case("TRL GRPOTrainer", None, 64), Case("ours, --mode grpo", "grpo", 64)]
    for mode in ("psr", "nsr"):
        for kept in KEPT_COUNTS:
            cases.append(Case(mode, mode, kept if mode == "psr" else ROLLOUT_SIZE - kept))
    odd = KEPT_COUNTS[-1]
    cases.append(Case("psr, padded", "psr", odd, padded=True))
    print("## Training steps (benchmarks/bench_training.py)\n")
    print(machine_line() + "\n")
    runs = interleaved({case: (lambda case=case: run_once(case, args.rollouts)) for case in cases}, args.repeats)
    print(
        f"Tiny text model, rollouts of {ROLLOUT_SIZE} completions (16 prompts x 8), 4 update slots of 32 "
        f"(micro-batches of 16), {args.rollouts} rollouts per run. Every configuration once per round, in the "
        f"order of the tables and reversed in every other round, after a warm-up round; {args.repeats} rounds. "
        "Seconds per rollout, smallest / median / largest; ratios taken within each round. Machine load when the "
        "runs ended: "
        f"{load_line()}.\n"
    )
    totals = {case: [run[0] for run in measured] for case, measured in runs.items()}
    updates = {case: [run[1] for run in measured] for case, measured in runs.items()}
    plain, grpo = cases[0], cases[1]
    print("| trainer | per rollout | update part |\n|---|---|---|")
    for case in (plain, grpo):
        print(f"| {case.label} | {spread(totals[case])} | {spread(updates[case])} |")
    print(f"\nOurs / TRL per rollout: **{spread(ratios(totals[grpo], totals[plain]), '')}** (goal: at most 1.02).\n")
    print("| mode | kept | per rollout | update part | update / grpo's | goal | per rollout / grpo's |")
    print("|---|---|---|---|---|---|---|")
    for case in cases[2:-1]:
        fraction = case.kept / ROLLOUT_SIZE
        update_ratio = ratios(updates[case], updates[grpo])
        total_ratio = ratios(totals[case], totals[grpo])
        met = "met" if statistics.median(update_ratio) <= fraction + 0.05 else "missed"
        goal = f"at most {fraction + 0.05:.2f}: {met}"
        if case.kept == ROLLOUT_SIZE // 2:
            met = "met" if statistics.median(total_ratio) <= 0.75 else "missed"
            total_goal = f" (goal at most 0.75: {met})"
        else:
            total_goal = ""
        print(
            f"| {case.mode} | {case.kept}/{ROLLOUT_SIZE} ({fraction:.2f}) | {spread(totals[case])} | "
            f"{spread(updates[case])} | {spread(update_ratio, '')} | {goal} | {spread(total_ratio, '')}{total_goal} |"
        )
    padded, unpadded = cases[-1], next(case for case in cases if case.mode == "psr" and case.kept == odd)
    extra = [with_pad - without for with_pad, without in zip(updates[padded], updates[unpadded], strict=True)]
    padding = sum(micro_batch_sizes([odd, odd + NEIGHBOUR_KEEPS_MORE], GEOMETRY["per_device_train_batch_size"])) - odd
    print(
        f"\nWhat padding costs: psr at {odd}/{ROLLOUT_SIZE} laid out as on a process whose neighbour keeps "
        f"{NEIGHBOUR_KEEPS_MORE} samples more, so that it forwards and back-propagates {padding} dropped samples at "
        f"zero weight per rollout: update part {spread(updates[padded])}, {spread(extra)} more per rollout than "
        f"without ({spread(ratios(extra, updates[grpo]), '')} of grpo's update part). On one process no sample is "
        "padded.\n"
    )


if __name__ == "__main__":
    main()
