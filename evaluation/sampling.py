"""Many samples per problem for Pass@k: drawing and scoring one problem's samples, and many problems in shared
generate calls, each finished problem saved to the progress file (evaluation/progress.py) at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from tqdm import tqdm

from evaluation.batching import call_groups, problems_per_call
from evaluation.progress import ProgressWriter, SamplingSettings
from rlvr.generation import encode_prompts, generate_completions, prefill_prompts
from rlvr.tasks.base import Task, answer_for_json, score_completions

# ---------------------------------------------------------------------------------------------------------------
# One problem


def problem_record(
    task: Task, row: Mapping, problem_id: int, samples: list[str], settings: SamplingSettings
) -> dict[str, Any]:
    """One problem of the samples file (evaluation/samples_file.py), each sample marked by the reward that decides
    correctness in training."""
    correct = score_completions(task, samples, row, settings.reward_threshold)
    record: dict[str, Any] = {
        "problem_id": problem_id,
        "question": str(row[task.question_column]),
        "answer": answer_for_json(row[task.answer_column]),
        "samples": samples,
        "correct": correct,
        "num_correct": sum(correct),
        "num_total": len(samples),
    }
    if isinstance(row.get("question_type"), str):
        record["question_type"] = row["question_type"]
    record["dataset"] = row["dataset"] if isinstance(row.get("dataset"), str) else settings.dataset
    return record


def problem_seed(settings: SamplingSettings, problem_index: int) -> int:
    return settings.seed + problem_index


def draw_samples(
    model, processor, task: Task, row: Mapping, settings: SamplingSettings, problem_index: int, batch_size: int
) -> list[str]:
    """``settings.num_samples`` completions of one problem, the prompt encoded once and sampled in chunks.

    The random state is set from the problem's own seed, so its samples do not depend on which problems ran
    before it in this process: a resumed run writes what an uninterrupted one would have.
    """
    encoded = encode_prompts(processor, task, [dict(row)], settings.prompt_style, model.device)
    prompt_cache = prefill_prompts(model, encoded)  # the prompt is read once, not once per sample
    torch.manual_seed(problem_seed(settings, problem_index))
    samples: list[str] = []
    while len(samples) < settings.num_samples:
        samples += generate_completions(
            model,
            processor,
            encoded,
            num_return_sequences=min(batch_size, settings.num_samples - len(samples)),
            do_sample=True,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_new_tokens=settings.max_new_tokens,
            prompt_cache=prompt_cache,
        )
    return samples


def draw_group_samples(
    model, processor, task: Task, rows: Sequence[Mapping], settings: SamplingSettings, first_index: int
) -> list[list[str]]:
    """``settings.num_samples`` completions of each of several problems in one generate call.

    The prompts are padded into one batch and each repeated n times (``num_return_sequences``), so the model
    reads every prompt once and samples all of them together. The call is seeded from its first problem's index:
    its problems are a fixed block of indices (evaluation/batching.py), so a rerun or a resumed run draws the same.
    """
    encoded = encode_prompts(processor, task, [dict(row) for row in rows], settings.prompt_style, model.device)
    prompt_cache = prefill_prompts(model, encoded)
    torch.manual_seed(problem_seed(settings, first_index))
    flat = generate_completions(
        model,
        processor,
        encoded,
        num_return_sequences=settings.num_samples,
        do_sample=True,
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        prompt_cache=prompt_cache,
    )
    n = settings.num_samples
    return [flat[position * n : (position + 1) * n] for position in range(len(rows))]


# ---------------------------------------------------------------------------------------------------------------
# Many problems


def sample_problems(
    model,
    processor,
    task: Task,
    dataset: Sequence[Mapping],
    owned: Sequence[int],
    settings: SamplingSettings,
    batch_size: int,
    progress: ProgressWriter,
    done: dict[int | str, dict],
) -> None:
    """Sample each pending problem of ``owned``, adding its record to ``done`` and to the progress file.

    Problems share a generate call in fixed blocks of indices (evaluation/batching.py). A block with some problems
    already saved is drawn whole again, so the pending ones get exactly the samples an uninterrupted run gave them.
    """
    per_call = problems_per_call(batch_size, settings.num_samples)
    groups = [group for group in call_groups(owned, per_call) if any(index not in done for index in group)]
    pending = sum(index not in done for index in owned)
    samples_drawn, seconds = 0, 0.0
    with tqdm(total=len(owned), initial=len(owned) - pending, unit="problem", desc="sampling") as bar:
        for group in groups:
            rows = [dataset[index] for index in group]
            started = time.perf_counter()
            if per_call == 1:  # n >= batch size: one problem, in chunks of batch_size samples
                drawn = [draw_samples(model, processor, task, rows[0], settings, group[0], batch_size)]
            else:
                drawn = draw_group_samples(model, processor, task, rows, settings, group[0])
            seconds += time.perf_counter() - started
            samples_drawn += sum(len(samples) for samples in drawn)
            for index, row, samples in zip(group, rows, drawn, strict=True):
                if index in done:
                    continue
                done[index] = problem_record(task, row, index, samples, settings)
                progress.append(done[index])
                bar.update()
            bar.set_postfix(samples_per_s=f"{samples_drawn / seconds:.1f}", refresh=False)
