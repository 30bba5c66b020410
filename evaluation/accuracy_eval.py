"""--mode eval: one answer per problem, scored by relaxed accuracy and exact match, one JSON per dataset.

The answer is sampled at ``--eval-temperature`` (0.6) and ``--eval-top-p`` (0.95), the paper's evaluation settings
and generate_samples.py's defaults, so the accuracy is an estimate of that Pass@1; ``--eval-temperature 0`` decodes
greedily. The problems are those main.py loads by ``rlvr.tasks.load_held_out`` (``--max-eval-samples``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from datasets import Dataset
from tqdm import tqdm

from rlvr.files import write_atomically
from rlvr.generation import encode_prompts, generate_completions
from rlvr.tasks.base import Task, score_completions

EVAL_BATCH_SIZE = 8


@dataclass(frozen=True)
class AccuracySettings:
    """What names and decides an evaluation."""

    model: str
    dataset_name: str
    split: str
    prompt_style: str
    max_new_tokens: int
    reward_threshold: float
    temperature: float  # 0: greedy
    top_p: float
    report_path: Path  # main.py's --output-dir/eval-{dataset}-{split}.json, claimed before the model loaded


def evaluate_accuracy(task: Task, model, processor, dataset: Dataset, settings: AccuracySettings) -> dict:
    """One answer per problem of ``dataset``, scored by relaxed accuracy and exact match; the report goes to
    ``report_path`` (written whole, see rlvr/files.py). Sampling draws from torch's random state (main.py seeds it)."""
    model.eval()
    sampling = {
        "do_sample": settings.temperature > 0,
        "temperature": settings.temperature or 1.0,
        "top_p": settings.top_p,
    }
    examples = []
    for start in tqdm(range(0, len(dataset), EVAL_BATCH_SIZE), desc=f"eval {settings.dataset_name}"):
        rows = [dataset[index] for index in range(start, min(start + EVAL_BATCH_SIZE, len(dataset)))]
        encoded = encode_prompts(processor, task, rows, settings.prompt_style, model.device)
        completions = generate_completions(
            model, processor, encoded, max_new_tokens=settings.max_new_tokens, **sampling
        )
        for row, completion in zip(rows, completions, strict=True):
            correct = score_completions(task, [completion], row, settings.reward_threshold)[0]
            exact = task.exact_match(completion, row) if task.exact_match else correct
            examples.append(
                {
                    "question": row[task.question_column],
                    "answer": row[task.answer_column],
                    "completion": completion,
                    "relaxed_correct": correct,
                    "exact_correct": exact,
                }
            )
    count = max(len(examples), 1)
    report = {
        "dataset": settings.dataset_name,
        "split": settings.split,
        "model": settings.model,
        "num_examples": len(examples),
        "temperature": settings.temperature,
        "top_p": settings.top_p if settings.temperature > 0 else None,
        "relaxed_accuracy": sum(example["relaxed_correct"] for example in examples) / count,
        "exact_match": sum(example["exact_correct"] for example in examples) / count,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": examples,
    }
    path = settings.report_path
    write_atomically(path, json.dumps(report, indent=2, default=str) + "\n")
    print(
        f"EVAL {settings.dataset_name}/{settings.split}: relaxed accuracy {report['relaxed_accuracy']:.3f} | "
        f"exact match {report['exact_match']:.3f} | {len(examples)} examples -> {path}",
        flush=True,
    )
    return report
