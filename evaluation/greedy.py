"""--mode eval: greedy answers on a dataset, scored by relaxed accuracy and exact match, one JSON per dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from datasets import Dataset
from tqdm import tqdm

from rlvr.generation import encode_prompts, generate_completions
from rlvr.tasks.base import Task, score_completions

EVAL_BATCH_SIZE = 8


@dataclass(frozen=True)
class GreedySettings:
    """What names and decides a greedy evaluation."""

    model: str
    dataset_name: str
    split: str
    prompt_style: str
    max_new_tokens: int
    reward_threshold: float
    max_examples: int | None
    output_dir: str


def evaluate_greedy(task: Task, model, processor, dataset: Dataset, settings: GreedySettings) -> dict:
    """Greedy answers on ``dataset``, scored by relaxed accuracy and exact match; the report goes to
    ``{output_dir}/eval-{dataset}-{split}.json``."""
    model.eval()
    if settings.max_examples:
        dataset = dataset.select(range(min(settings.max_examples, len(dataset))))
    examples = []
    for start in tqdm(range(0, len(dataset), EVAL_BATCH_SIZE), desc=f"eval {settings.dataset_name}"):
        rows = [dataset[index] for index in range(start, min(start + EVAL_BATCH_SIZE, len(dataset)))]
        encoded = encode_prompts(processor, task, rows, settings.prompt_style, model.device)
        completions = generate_completions(model, processor, encoded, max_new_tokens=settings.max_new_tokens)
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
        "relaxed_accuracy": sum(example["relaxed_correct"] for example in examples) / count,
        "exact_match": sum(example["exact_correct"] for example in examples) / count,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": examples,
    }
    path = Path(settings.output_dir) / f"eval-{settings.dataset_name}-{settings.split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(
        f"EVAL {settings.dataset_name}/{settings.split}: relaxed accuracy {report['relaxed_accuracy']:.3f} | "
        f"exact match {report['exact_match']:.3f} | {len(examples)} examples -> {path}",
        flush=True,
    )
    return report
