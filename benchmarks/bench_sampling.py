"""Samples per second of generate_samples.py's sampling (each prompt read once into a KV cache shared by its samples,
problems batched into one call where the batch size allows, progress file and scoring included) against a plain
loop of one model.generate call with all n samples per problem, on the tiny models.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_sampling [--problems 4] [--repeats 3] [--max-new-tokens 16]

The tiny models are random and small, so the figures measure the overhead per call and the gain from batching,
not what a 3B model does on a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from datasets import Dataset

from benchmarks.common import machine_line, median_and_spread, timed
from evaluation.batching import CPU_BATCH_SIZE, choose_batch_size
from evaluation.progress import ProgressWriter, SamplingSettings
from evaluation.sampling import sample_problems
from rlvr.generation import encode_prompts, generate_completions
from rlvr.models.checkpoints import LoadedCheckpoint, load_checkpoint
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from rlvr.tasks.base import Task

CPU = torch.device("cpu")
# (model, task): the vision-language tiny model on charts, the text one on countdown.
CASES = (("tiny", "chart"), ("tiny-text", "countdown"))


def plain_loop(checkpoint: LoadedCheckpoint, task: Task, dataset: Dataset, settings: SamplingSettings) -> None:
    """What one would write without generate_samples.py: a generate call with all n samples of each problem."""
    for index in range(len(dataset)):
        encoded = encode_prompts(checkpoint.processor, task, [dataset[index]], settings.prompt_style, CPU)
        torch.manual_seed(settings.seed + index)
        generate_completions(
            checkpoint.model,
            checkpoint.processor,
            encoded,
            num_return_sequences=settings.num_samples,
            do_sample=True,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_new_tokens=settings.max_new_tokens,
        )


def batched(
    checkpoint: LoadedCheckpoint, task: Task, dataset: Dataset, settings: SamplingSettings, batch_size: int
) -> None:
    """generate_samples.py's loop, writing its progress file into a temporary folder."""
    with (
        tempfile.TemporaryDirectory() as folder,
        ProgressWriter(Path(folder) / "progress.jsonl", settings, None) as progress,
    ):
        model, processor, owned = checkpoint.model, checkpoint.processor, range(len(dataset))
        sample_problems(model, processor, task, dataset, owned, settings, batch_size, progress, done={})


def compare(
    checkpoint: LoadedCheckpoint,
    task: Task,
    dataset: Dataset,
    settings: SamplingSettings,
    batch_size: int,
    repeats: int,
) -> list[str]:
    """Samples/s of the plain loop and of generate_samples.py's loop, and the ratio of their median times."""
    total = len(dataset) * settings.num_samples
    loop_seconds = timed(lambda: plain_loop(checkpoint, task, dataset, settings), repeats)
    ours_seconds = timed(lambda: batched(checkpoint, task, dataset, settings, batch_size), repeats)
    speedup = statistics.median(loop_seconds) / statistics.median(ours_seconds)
    return [
        median_and_spread([total / seconds for seconds in loop_seconds], "", 0),
        median_and_spread([total / seconds for seconds in ours_seconds], "", 0),
        f"{speedup:.2f}x",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--samples", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--batch-size", type=int, help="sequences per call (default: as generate_samples.py picks)")
    args = parser.parse_args(argv)
    print(f"### Sampling, {args.problems} problems, {args.max_new_tokens} new tokens per sample\n")
    print(machine_line() + "\n")
    print("| model | task | n | plain loop (samples/s) | generate_samples (samples/s) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model_name, task_name in CASES:
        task = get_task(task_name)
        checkpoint = load_checkpoint(model_name, CPU)
        dataset = task.load_dataset("synthetic", "test", None, args.problems, HELD_OUT_DATASET_SEED)
        for num_samples in args.samples:
            settings = SamplingSettings(
                checkpoint=model_name, task=task_name, dataset="synthetic", dataset_path=None, split="test",
                max_problems=args.problems, prompt_style=task.default_prompt_style, num_samples=num_samples,
                temperature=1.0, top_p=0.95, max_new_tokens=args.max_new_tokens, seed=2025, reward_threshold=0.5,
            )  # fmt: skip
            # As generate_samples.py picks it: 32 on a CPU, from the memory on a GPU.
            batch_size = args.batch_size or choose_batch_size(checkpoint.model, CPU, num_samples, 1024)
            row = compare(checkpoint, task, dataset, settings, batch_size, args.repeats)
            print("| " + " | ".join([model_name, task_name, str(num_samples), *row]) + " |")
    chosen = args.batch_size or f"{CPU_BATCH_SIZE} (the CPU default)"
    print(f"\ngenerate_samples.py path: --batch-size {chosen}; medians over {args.repeats} repeats,")
    print("smallest-largest in brackets.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
