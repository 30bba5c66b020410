"""Draw many samples per problem from a checkpoint, mark each one correct or not, and write the samples file that
evaluation/pass_at_k.py reads.

    python generate_samples.py --checkpoint-path runs/nsr --num-samples 256 --output-path samples_nsr.json

An output path ending in .jsonl writes a counts file instead (evaluation/counts_file.py): per problem only how many
samples were right, which is all pass_at_k.py needs and what scales to 100,000 problems.

Reads top to bottom: parse, check, look for a run to resume, load data and model, sample problem by problem,
write. Each finished problem is saved at once to <output-path>.partial.jsonl; the same command after a kill goes
on from there (see evaluation/sampling.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rlvr.cli import filter_known_warnings, finish_parser, forget_unused_wandb_mode
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output
from rlvr.ranges import FINITE, POSITIVE_INT, PROBABILITY_MASS, SAMPLING_TEMPERATURE, SEED, Range, check_ranges

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

    from evaluation.progress import ProgressWriter, SamplingSettings
    from rlvr.models.checkpoints import LoadedCheckpoint
    from rlvr.tasks.base import Task

INTERRUPTED_EXIT_CODE = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Sample completions per problem for Pass@k.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint-path",
        required=True,
        help="model folder, LoRA adapter folder (loaded onto its base), hub id, short name, tiny or tiny-text",
    )
    parser.add_argument("--task", default="chart", help="task")
    parser.add_argument("--dataset-name", default=None, help="(default: the task's embedded dataset)")
    parser.add_argument("--dataset-path", default=None, help="local copy of the dataset")
    parser.add_argument("--split", default="test", help="dataset split")
    parser.add_argument("--prompt-style", default=None, help="(default: the task's first prompt style)")
    parser.add_argument(
        "--system-prompt", default=None, help="replaces the task's system turn, as main.py's (default: the task's own)"
    )
    parser.add_argument("--num-samples", type=int, default=256, help="samples per problem, n")
    parser.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (the paper's Pass@k)")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling threshold")
    parser.add_argument("--max-new-tokens", type=int, default=768, help="tokens per sample at most")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="sequences per generate call; problems share a call when n is smaller (default: fit the GPU; n on CPU)",
    )
    parser.add_argument("--max-problems", type=int, default=None, help="the task's seeded subset of this many")
    parser.add_argument(
        "--seed", type=int, default=2025, help="a generate call is seeded with seed + the index of its first problem"
    )
    parser.add_argument("--reward-threshold", type=float, default=0.5, help="correct when reward >= this")
    parser.add_argument(
        "--output",
        "--output-path",
        dest="output_path",
        type=Path,
        default=Path("samples.json"),
        help="samples JSON file to write; a name ending in .jsonl writes a counts file without the samples",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    parser.add_argument(
        "--allow-outside-images",
        action="store_true",
        help="let a local dataset's image paths point outside its folder",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "transformers", "vllm"),
        default="auto",
        help="auto: vLLM when installed with a GPU, else transformers; vllm: also on the CPU (adapters merged first)",
    )
    parser.add_argument("--num-shards", type=int, default=1, help="split the problems into this many shards")
    parser.add_argument(
        "--shard-index", type=int, default=0, help="this run's shard, 0..num-shards-1 (evaluation/merge_samples.py)"
    )
    return finish_parser(parser)


# The range of each numeric option (rlvr/ranges.py). --max-new-tokens against the model's context, --max-problems
# against the problems the task can generate and --reward-threshold against the correctness reward's range are
# checked once the model name and task are read (trainers/run_limits.py).
OPTION_RANGES = {
    **dict.fromkeys(("num_samples", "max_new_tokens", "batch_size", "max_problems", "num_shards"), POSITIVE_INT),
    "shard_index": Range(low=0, integer=True),
    "temperature": SAMPLING_TEMPERATURE,
    "top_p": PROBABILITY_MASS,
    # a generate call is seeded with seed + the index of its first problem
    "seed": SEED,
    "reward_threshold": FINITE,
}


def check_arguments(args: argparse.Namespace) -> None:
    check_ranges(vars(args), OPTION_RANGES)
    if not args.shard_index < args.num_shards:
        raise UserError(f"--shard-index must lie in 0..{args.num_shards - 1} for {args.num_shards} shards")


def check_limits(args: argparse.Namespace, task: Task, settings: SamplingSettings) -> None:
    """The options whose range depends on the model or the task: tokens against the model's context, problems
    against what a generated dataset holds, the threshold against the correctness reward's range."""
    from rlvr.models.context import check_tokens_fit
    from rlvr.tasks.base import check_problem_count
    from rlvr.tasks.reward_ranges import check_threshold, declared_range

    check_tokens_fit(args.checkpoint_path, args.max_new_tokens, "--max-new-tokens")
    check_problem_count(task, settings.dataset, settings.split, args.dataset_path, args.max_problems, "--max-problems")
    judge = task.correctness_reward
    what = f"the correctness reward {judge}"
    check_threshold(args.reward_threshold, declared_range(task.reward_functions[judge]), what)


def settings_for(args: argparse.Namespace, task: Task) -> SamplingSettings:
    from evaluation.progress import SamplingSettings, checkpoint_identity
    from rlvr.run_identity import model_step, weights_fingerprint

    prompt_style = args.prompt_style or task.default_prompt_style
    if prompt_style not in task.prompt_styles:
        valid = ", ".join(task.prompt_styles)
        raise UserError(f"unknown prompt style {prompt_style!r} for task {task.name}; valid: {valid}")
    return SamplingSettings(
        checkpoint=checkpoint_identity(args.checkpoint_path),
        task=task.name,
        dataset=args.dataset_name or task.default_dataset,
        dataset_path=str(Path(args.dataset_path).resolve()) if args.dataset_path else None,
        split=args.split,
        max_problems=args.max_problems,
        prompt_style=prompt_style,
        num_samples=args.num_samples,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        reward_threshold=args.reward_threshold,
        num_shards=args.num_shards,
        shard_index=args.shard_index,
        system_prompt=args.system_prompt,
        model_step=model_step(args.checkpoint_path),
        model_fingerprint=weights_fingerprint(args.checkpoint_path),
    )


def batch_size_for(
    args: argparse.Namespace,
    checkpoint: LoadedCheckpoint,
    task: Task,
    dataset: Dataset,
    settings: SamplingSettings,
    device: torch.device,
) -> int:
    """--batch-size, or one chosen from the device's memory for problem 0's prompt (every shard sees the same)."""
    from evaluation.batching import choose_batch_size
    from rlvr.generation import encode_prompts

    if args.batch_size is not None:
        return args.batch_size
    encoded = encode_prompts(checkpoint.processor, task, [dict(dataset[0])], settings.prompt_style, device)
    # A quarter more than problem 0's prompt leaves room for longer prompts in the same call.
    sequence_tokens = int(1.25 * encoded["input_ids"].shape[1]) + settings.max_new_tokens
    batch_size = choose_batch_size(checkpoint.model, device, settings.num_samples, sequence_tokens)
    print(f"Batch size {batch_size} sequences per generate call (--batch-size to choose another)")
    return batch_size


def sample_pending(
    args: argparse.Namespace,
    task: Task,
    dataset: Dataset,
    owned: Sequence[int],
    settings: SamplingSettings,
    progress: ProgressWriter,
    done: dict[int | str, dict],
    with_vllm: bool,
) -> None:
    """Load the model and sample what is left: through vLLM (evaluation/vllm_sampling.py) or through transformers
    (evaluation/sampling.py)."""
    import torch

    from evaluation.sampling import sample_problems
    from evaluation.vllm_sampling import load_llm, sample_problems_vllm
    from rlvr.models.checkpoints import full_model_source, load_checkpoint

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if with_vllm:
        # vLLM loads a full model from files: an adapter is merged into a temporary model folder for as long as
        # the engine runs. The settings keep naming the adapter folder (settings.checkpoint), never that folder.
        with full_model_source(args.checkpoint_path) as full_model:
            if full_model.adapter_base:
                print(f"Merged the LoRA adapter {settings.checkpoint} into {full_model.adapter_base} for vLLM")
                print(f"Merged model in {full_model.source} (removed when sampling ends)")
            print("Sampling with vLLM: one request of n samples per problem")
            pending = [index for index in owned if index not in done]
            llm = load_llm(full_model.source, settings.seed, device.type == "cuda")
            sample_problems_vllm(llm, full_model.processor, task, dataset, pending, settings, progress, done)
        return
    checkpoint = load_checkpoint(args.checkpoint_path, device)
    if checkpoint.adapter_base:
        print(f"Loaded the LoRA adapter {settings.checkpoint} onto {checkpoint.adapter_base}, merged")
    batch_size = batch_size_for(args, checkpoint, task, dataset, settings, device)
    model, processor = checkpoint.model, checkpoint.processor
    sample_problems(model, processor, task, dataset, owned, settings, batch_size, progress, done)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    # Parse and check all that needs no torch (task, prompt style, model name, output, dataset rows), so that a bad
    # input is refused in seconds; torch and transformers are imported only to sample
    args = build_parser().parse_args(argv)
    check_arguments(args)
    # One run per output at a time: its lock is taken before the output is first checked and held until the file
    # is written, so no other run can write it in between (a finished file is never replaced unasked)
    inputs = [Path(path) for path in (args.dataset_path, args.checkpoint_path) if path and Path(path).exists()]
    with claim_output([args.output_path], "--output", inputs=inputs, overwrite=args.overwrite) as (output_path,):
        args.output_path = output_path
        return check_load_and_sample(args)


def check_load_and_sample(args: argparse.Namespace) -> int:
    """Everything after the output is claimed: the task and data checks, then sampling and the file."""
    filter_known_warnings()
    forget_unused_wandb_mode()
    from evaluation.batching import shard_indices
    from rlvr.data.local import allow_outside_images
    from rlvr.models.names import check_model_for_task
    from rlvr.run_identity import rows_hash
    from rlvr.tasks import get_task, load_held_out
    from rlvr.tasks.system_prompt import with_system_prompt

    task = with_system_prompt(get_task(args.task), args.system_prompt)
    settings = settings_for(args, task)
    check_model_for_task(args.checkpoint_path, task.name, task.is_multimodal, "--checkpoint-path")
    check_limits(args, task, settings)
    task.startup_check([task.correctness_reward])

    # Load data (images are checked here, before the model is loaded)
    allow_outside_images(args.allow_outside_images)
    dataset = load_held_out(task, settings.dataset, settings.split, args.dataset_path, args.max_problems)
    if len(dataset) == 0:
        raise UserError(f"{settings.dataset} ({settings.split}) has no problems")
    # The rows' hash covers every shard's rows, so that the shards of one run record the same one.
    settings = dataclasses.replace(settings, data_hash=rows_hash(dataset))
    owned = shard_indices(len(dataset), settings.num_shards, settings.shard_index)
    if len(owned) == 0:
        raise UserError(f"shard {settings.shard_index} of {settings.num_shards}: none of the {len(dataset)} problems")
    return sample_and_write(args, task, settings, dataset, owned)


def sample_and_write(
    args: argparse.Namespace, task: Task, settings: SamplingSettings, dataset: Dataset, owned: Sequence[int]
) -> int:
    """Resume the progress file (one with other settings stops here) or start it, sample what is left, then write
    the samples file."""
    from evaluation.counts_file import is_counts_path, write_counts_file
    from evaluation.progress import ProgressWriter, progress_path_for, read_progress
    from evaluation.samples_file import write_samples_file

    output_path: Path = args.output_path
    progress_path = progress_path_for(output_path)
    saved = read_progress(progress_path, settings)
    done = dict(saved.done) if saved else {}
    pending = [index for index in owned if index not in done]
    if done:
        print(f"Resuming from {progress_path}: {len(owned) - len(pending)} of {len(owned)} problems done")
    if saved is not None and done and saved.unchecked:
        unchecked = " or ".join(saved.unchecked)
        print(f"Note: {progress_path} does not record {unchecked} (an older file): resumed without checking them")

    # Sample problem by problem, saving each as it finishes; the model is loaded only when some are left
    if pending:
        import torch

        from evaluation.vllm_sampling import uses_vllm

        # An engine that cannot run stops before the progress file is started.
        with_vllm = uses_vllm(args.engine, torch.cuda.is_available())
        with ProgressWriter(progress_path, settings, saved) as progress:
            try:
                sample_pending(args, task, dataset, owned, settings, progress, done, with_vllm)
            except KeyboardInterrupt:
                print(f"\nInterrupted; {len(done)} of {len(owned)} problems are saved in {progress_path}.")
                print("Run the same command again to continue.")
                return INTERRUPTED_EXIT_CODE

    # Write the samples file, then drop the progress file it replaces
    problems = [done[index] for index in owned]
    write_file = write_counts_file if is_counts_path(output_path) else write_samples_file
    write_file(output_path, settings, problems)
    progress_path.unlink(missing_ok=True)
    correct = sum(problem["num_correct"] for problem in problems)
    total = sum(problem["num_total"] for problem in problems)
    summary = f"{len(problems)} problems x {settings.num_samples} samples, {correct / total:.1%} correct"
    print(f"Wrote {output_path}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
