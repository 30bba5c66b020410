"""Real-scale throughput: main.py's rollouts on randomly initialised Qwen2.5-VL-3B and Qwen2.5-Math-1.5B.

    python -m benchmarks.bench_gpu                 # on a GPU: one prepared run of at most --budget-s seconds
    python -m benchmarks.bench_gpu --dry           # the same code at tiny sizes on the CPU (in the test suite)
    python -m benchmarks.bench_gpu --cpu-profile   # where a decode step's time goes, VL-3B depth (CPU)

Each case (benchmarks/gpu_cases.py) runs in its own subprocess under its own timeout, so a hang costs that case
only; ZeRO-3 cases run under ``accelerate launch --config_file deepspeed_zero3.yaml --num_processes 1``. Per
rollout it prints the generation and the rest (scoring, old log-probabilities, the update), the sequences per
generate call, decoded tokens per second, peak memory, and what one epoch over 10,000 prompts costs at a
768-token cap, extrapolated from the measured cap (random weights run every completion to its cap; the per-step
cost grows with the context, so the extrapolation is a lower bound). Markdown on standard output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import machine_line
from benchmarks.gpu_cases import (
    CASES_BY_NAME,
    DRY_CASES,
    EPOCH_CAP,
    EPOCH_PROMPTS,
    GPU_CASES,
    RESULT_PREFIX,
    Case,
    run_worker,
)
from rlvr.files import write_atomically

REPO_ROOT = Path(__file__).resolve().parents[1]
GPU_CASE_TIMEOUT_S, DRY_CASE_TIMEOUT_S = 150, 240
ZERO3_CONFIG = "deepspeed_zero3.yaml"
DEFAULT_BUDGET_S = 470  # the whole GPU run, under 8 minutes with the model builds


def worker_command(names: list[str], dry: bool, zero3: bool) -> list[str]:
    worker = ["-m", "benchmarks.bench_gpu", "--worker", *names, *(["--dry"] if dry else [])]
    if not zero3:
        return [sys.executable, *worker]
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(REPO_ROOT / "deepspeed_zero3.yaml"),
    ]
    launch += ["--num_processes", "1", "--main_process_port", "29631"]
    if dry:
        launch += ["--mixed_precision", "no"]
    return [*launch, "--module", *worker[1:]]


def run_group(cases: list[Case], dry: bool, timeout_s: float) -> list[dict]:
    """Run ``cases`` in one worker process; a case that did not report gets a result saying why."""
    command = worker_command([case.name for case in cases], dry, cases[0].zero3)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", "WANDB_MODE": "disabled"}
    if dry:
        env["OMP_NUM_THREADS"] = "1"  # tiny matrices: extra threads only wait, ten times slower on 2 busy cores
    try:
        finished = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, env=env, check=False
        )
        stdout, stderr, why = finished.stdout, finished.stderr, f"exit {finished.returncode}"
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout or ""
        stderr, why = "", f"timed out after {timeout_s:.0f} s"
    results = [
        json.loads(line[len(RESULT_PREFIX) :]) for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)
    ]
    reported = {result["case"] for result in results}
    tail = (stderr or "").strip().splitlines()[-1:] or [""]
    for case in cases:
        if case.name not in reported:
            results.append({"case": case.name, "error": f"{why}; {tail[0][:300]}"})
    return results


def run_cases(cases: tuple[Case, ...], dry: bool, budget_s: float, results_dir: Path | None = None) -> list[dict]:
    """GPU: one subprocess per case, skipped once the budget cannot hold another. Dry: plain and ZeRO-3 groups.
    Each group's results go to ``results_dir`` (when given) as soon as the group ends."""
    if dry:
        plain = [case for case in cases if not case.zero3]
        zero3 = [case for case in cases if case.zero3]
        groups, timeout_s = [group for group in (plain, zero3) if group], DRY_CASE_TIMEOUT_S
    else:
        groups, timeout_s = [[case] for case in cases], GPU_CASE_TIMEOUT_S
    results, started = [], time.perf_counter()
    for group in groups:
        left = budget_s - (time.perf_counter() - started)
        if left < 60:
            why = f"skipped: {left:.0f} s of the {budget_s:.0f} s budget left"
            finished = [{"case": case.name, "error": why} for case in group]
        else:
            finished = run_group(group, dry, min(timeout_s, left))
        if results_dir is not None:
            save_results(finished, results_dir)
        results.extend(finished)
    return results


def epoch_hours(result: dict) -> float:
    """One epoch over EPOCH_PROMPTS prompts at an EPOCH_CAP-token cap, from this rollout's measured parts.

    Generation: the prefill plus EPOCH_CAP decode steps at the measured step time. The rest (scoring, old
    log-probabilities, forward and backward) in proportion to the tokens per sequence.
    """
    generation = result["prefill_seconds"] + EPOCH_CAP * result["decode_step_seconds"]
    rest = result["rollout_seconds"] - result["generation_seconds"]
    measured_tokens = result["prompt_tokens"] + result["completion_tokens"]
    rest *= (result["prompt_tokens"] + EPOCH_CAP) / measured_tokens
    return math.ceil(EPOCH_PROMPTS / result["rollout_prompts"]) * (generation + rest) / 3600


TABLE_HEADER = (
    "| case | micro-batch | rollout (s) | generation (s) | rest (s) | sequences / generate | decode step (ms) "
    "| tokens/s | peak memory | KV cache | epoch at 768 (h) |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def markdown_row(result: dict) -> str:
    """One case's row of the table: its figures, or why it has none."""
    if "error" in result:
        return f"| {result['case']} | {result['error']} |" + " |" * 9
    memory = f"{result['peak_gpu_gb']:.1f} GB" if result["peak_gpu_gb"] else f"{result['peak_rss_mb']:.0f} MB RSS"
    tokens_per_second = result["generated_tokens"] / result["generation_seconds"]
    cache = "used" if not result["cache_problems"] else "NOT used: " + "; ".join(result["cache_problems"])
    return (
        f"| {result['case']} | {result['micro_batch']} | {result['rollout_seconds']:.2f} "
        f"| {result['generation_seconds']:.2f} | {result['rollout_seconds'] - result['generation_seconds']:.2f} "
        f"| {result['sequences_per_generate_call']} | {1000 * (result['decode_step_seconds'] or 0):.1f} "
        f"| {tokens_per_second:.0f} | {memory} | {cache} | {epoch_hours(result):.1f} |"
    )


def markdown(results: list[dict], dry: bool) -> str:
    lines = [TABLE_HEADER, *(markdown_row(result) for result in results)]
    first = next((result for result in results if "error" not in result), None)
    if first:
        lines.append(
            f"\nSizes: {first['layers']} layers, hidden {first['hidden']}, vocabulary {first['vocab']}; "
            f"{first['rollout_prompts']} prompts x 4 per rollout, {first['completion_tokens']}-token cap measured; "
            f"second rollout reported (first, warm-up: {first['first_rollout_seconds']:.1f} s for the first case)."
        )
    if dry:
        lines.append("\nDry run: tiny sizes on the CPU, figures say nothing about a GPU.")
    return "\n".join(lines)


def save_results(results: list[dict], folder: Path) -> None:
    """Each case's result as ``<case>.json`` and ``<case>.md`` (its table row), written as soon as the case ends."""
    for result in results:
        write_atomically(folder / f"{result['case']}.json", json.dumps(result, indent=1) + "\n")
        write_atomically(folder / f"{result['case']}.md", markdown_row(result) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--cases", nargs="+", help="case names (default: all of the mode's cases)")
    parser.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S, help="GPU run: stop starting cases after")
    parser.add_argument("--cpu-profile", action="store_true", help="decode-step cost at VL-3B depth on the CPU")
    parser.add_argument("--results-dir", type=Path, help="each case's JSON and table row, as soon as it ends")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.dry)
        return 0
    if args.cpu_profile:
        from benchmarks.decode_profile import main as profile_main

        profile_main()
        return 0
    import torch

    if not args.dry and not torch.cuda.is_available():
        print("error: no GPU here; run with --dry for the CPU check", file=sys.stderr)
        return 2
    cases = DRY_CASES if args.dry else GPU_CASES
    if args.cases:
        known = CASES_BY_NAME
        unknown = [name for name in args.cases if name not in known]
        if unknown:
            print(f"error: unknown case(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        cases = tuple(known[name] for name in args.cases)
    device = "CPU (dry run)" if args.dry else torch.cuda.get_device_name(0)
    print("## Real-scale rollouts (benchmarks/bench_gpu.py)\n")
    print(f"{machine_line()}; device: {device}; torch {torch.__version__}\n")
    results = run_cases(cases, args.dry, args.budget_s, args.results_dir)
    print(markdown(results, args.dry))
    return 1 if any("error" in result for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
