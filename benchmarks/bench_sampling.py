"""Samples per second of generate_samples.py's sampling (each prompt read once into a KV cache shared by its samples,
problems batched into one call where the batch size allows, progress file and scoring included) against a plain
loop of one model.generate call with all n samples per problem, on the tiny models.

    python -m benchmarks.bench_sampling [--problems 4] [--repeats 5] [--max-new-tokens 16]

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

from benchmarks.common import interleaved, machine_line, ratios, spread, timed
from evaluation.batching import choose_batch_size
from evaluation.progress import ProgressWriter, SamplingSettings
from evaluation.sampling import sample_problems
from rlvr.generation import encode_prompts, generate_completions, prefill_prompts
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


def drawing_seconds(
    checkpoint: LoadedCheckpoint, task: Task, dataset: Dataset, settings: SamplingSettings, repeats: int
) -> list[float]:
    """Seconds to draw every problem's n samples from its prompt cache: the token-by-token work both loops do,
    with nothing of the prompt reading, scoring or saving that generate_samples.py adds or saves."""
    caches = []
    for index in range(len(dataset)):
        encoded = encode_prompts(checkpoint.processor, task, [dataset[index]], settings.prompt_style, CPU)
        caches.append((encoded, prefill_prompts(checkpoint.model, encoded)))

    def draw_everything() -> None:
        for index, (encoded, cache) in enumerate(caches):
            torch.manual_seed(settings.seed + index)
            generate_completions(
                checkpoint.model, checkpoint.processor, encoded, num_return_sequences=settings.num_samples,
                do_sample=True, temperature=settings.temperature, top_p=settings.top_p,
                max_new_tokens=settings.max_new_tokens, prompt_cache=cache,
            )  # fmt: skip

    draw_everything()  # warm-up
    return timed(draw_everything, repeats)


def compare(
    checkpoint: LoadedCheckpoint,
    task: Task,
    dataset: Dataset,
    settings: SamplingSettings,
    batch_size: int,
    repeats: int,
) -> list[str]:
    """Samples/s of the plain loop and of generate_samples.py's loop, run in turn after a warm-up round, and the
    speed-up round by round."""
    total = len(dataset) * settings.num_samples
    cases = {
        "plain": lambda: timed(lambda: plain_loop(checkpoint, task, dataset, settings), 1)[0],
        "ours": lambda: timed(lambda: batched(checkpoint, task, dataset, settings, batch_size), 1)[0],
    }
    seconds = interleaved(cases, repeats)
    plain = statistics.median(seconds["plain"])
    ceiling = plain / statistics.median(drawing_seconds(checkpoint, task, dataset, settings, repeats))
    return [
        spread([total / value for value in seconds["plain"]], "", 0),
        spread([total / value for value in seconds["ours"]], "", 0),
        spread(ratios(seconds["plain"], seconds["ours"]), "x"),
        f"{ceiling:.2f}x",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--samples", type=int, nargs="+", default=[64])
    parser.add_argument("--batch-size", type=int, help="sequences per call (default: as generate_samples.py picks)")
    args = parser.parse_args(argv)
    # One thread, as bench_training: on a shared machine, two threads per process contend with the other load.
    torch.set_num_threads(1)
    print(f"### Sampling, {args.problems} problems, {args.max_new_tokens} new tokens per sample\n")
    print(machine_line() + "\n")
    print("| model | task | n | plain loop (samples/s) | generate_samples (samples/s) | speed-up | ceiling | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
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
            # As generate_samples.py picks it: n on a CPU (memory allowing), from the memory on a GPU.
            batch_size = args.batch_size or choose_batch_size(checkpoint.model, CPU, num_samples, 1024)
            row = compare(checkpoint, task, dataset, settings, batch_size, args.repeats)
            print("| " + " | ".join([model_name, task_name, str(num_samples), *row, "at least 3x"]) + " |")
    chosen = args.batch_size or "n (the CPU default: one problem per call)"
    print(f"\ngenerate_samples.py path: --batch-size {chosen}; one torch thread per process. The two loops in")
    print(
        f"turn after a warm-up round, {args.repeats} rounds; smallest / median / largest, the speed-up taken round by"
    )
    print("round. Ceiling: the plain loop's median time over the median time of drawing the same samples from each")
    print("prompt's cache alone (the token-by-token work both loops do), the most any saving on prompts, scoring or")
    print("saving could reach.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
