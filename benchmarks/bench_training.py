"""Training-step cost: our grpo against TRL's plain GRPOTrainer, and psr / nsr against grpo at kept fractions.

    python -m benchmarks.bench_training

Same tiny text model, prompts, geometry and seed for every trainer. A stand-in verifiable reward marks a fixed
fraction of each rollout correct (by sample position, so the fraction is exact), which sets what PSR and NSR keep.
Two times per rollout: all of it (generation included), and the update alone (the micro-steps' forward and
backward, generation and scoring excluded), which is where dropping samples can save. Prints a markdown section.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from benchmarks.common import machine_line, median_and_spread
from rlvr.models.tiny import tiny_text_model_path
from trainers.builders import objective_config
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer

ROLLOUTS, REPEATS = 3, 3
GEOMETRY = {
    "per_device_train_batch_size": 16,
    "gradient_accumulation_steps": 2,
    "steps_per_generation": 8,  # rollouts of 128 completions, 4 update slots of 32
    "num_generations": 8,
    "max_completion_length": 24,
}


def fraction_correct(fraction: float):
    def accuracy_reward(completions, **kwargs):
        return [float(index % 8 < round(8 * fraction)) for index in range(len(completions))]

    return accuracy_reward


class Timed:
    """Adds up the seconds a trainer spends generating and scoring, and in total."""

    def __init__(self, trainer) -> None:
        self.generation = 0.0
        generate = trainer._generate_and_score_completions

        def timed_generate(inputs):
            started = time.perf_counter()
            output = generate(inputs)
            self.generation += time.perf_counter() - started
            return output

        trainer._generate_and_score_completions = timed_generate


def run_once(mode: str | None, fraction: float, output_dir: str) -> tuple[float, float]:
    """(seconds per rollout, update seconds per rollout); mode None is TRL's own GRPOTrainer."""
    torch.manual_seed(0)
    path = tiny_text_model_path()
    slots = GEOMETRY["steps_per_generation"] // GEOMETRY["gradient_accumulation_steps"]
    args = GRPOConfig(
        output_dir=output_dir, report_to=[], use_cpu=True, bf16=False, activation_checkpointing=False,
        max_steps=ROLLOUTS * slots, logging_steps=1000, save_strategy="no", seed=0, learning_rate=1e-5,
        disable_tqdm=True,
        **GEOMETRY,
    )  # fmt: skip
    common = {
        "model": AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
        "reward_funcs": [fraction_correct(fraction)],
        "args": args,
        "train_dataset": Dataset.from_list(
            [{"prompt": [{"role": "user", "content": f"{i}+{i}="}]} for i in range(64)]
        ),
        "processing_class": AutoTokenizer.from_pretrained(path, padding_side="left"),
    }
    # The trainers' own log lines would land in the report, which is this script's standard output.
    with contextlib.redirect_stdout(io.StringIO()):
        if mode is None:
            trainer = GRPOTrainer(**common)
        else:
            run = RunConfig(mode=mode, model="tiny-text")
            trainer = DecomposedGRPOTrainer(**common, objective=objective_config(run, "accuracy_reward"))
        timer = Timed(trainer)
        started = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - started
    return total / ROLLOUTS, (total - timer.generation) / ROLLOUTS


def measure(mode: str | None, fraction: float) -> tuple[list[float], list[float]]:
    import tempfile

    totals, updates = [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as folder:
            total, update = run_once(mode, fraction, folder)
        totals.append(total)
        updates.append(update)
    return totals, updates


def main() -> None:
    torch.set_num_threads(1)
    print("## Training steps (benchmarks/bench_training.py)\n")
    print(machine_line() + "\n")
    print(
        f"Tiny text model, rollouts of 128 completions (16 prompts x 8), 4 update slots of 32, {ROLLOUTS} rollouts "
        f"per run, {REPEATS} runs each; seconds per rollout, medians with the smallest-largest.\n"
    )
    plain_total, plain_update = measure(None, 0.5)
    ours_total, ours_update = measure("grpo", 0.5)
    ratio = statistics.median(ours_total) / statistics.median(plain_total)
    print("| trainer | per rollout | update part |\n|---|---|---|")
    print(f"| TRL GRPOTrainer | {median_and_spread(plain_total)} | {median_and_spread(plain_update)} |")
    print(f"| ours, --mode grpo | {median_and_spread(ours_total)} | {median_and_spread(ours_update)} |")
    print(f"\nOurs / TRL, whole rollout: **{ratio:.3f}** (target at most 1.02).\n")
    print("| mode | kept fraction | per rollout | update part | update time / grpo's | target |")
    print("|---|---|---|---|---|---|")
    grpo_update = statistics.median(ours_update)
    for mode in ("psr", "nsr"):
        for kept in (0.25, 0.5, 0.75):
            fraction = kept if mode == "psr" else 1 - kept
            total, update = measure(mode, fraction)
            update_ratio = statistics.median(update) / grpo_update
            print(
                f"| {mode} | {kept:.2f} | {median_and_spread(total)} | {median_and_spread(update)} | "
                f"{update_ratio:.2f} | at most {kept + 0.10:.2f} |"
            )
    print()


if __name__ == "__main__":
    main()
