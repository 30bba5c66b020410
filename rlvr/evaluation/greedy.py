"""--mode eval: greedy answers on a dataset, scored by relaxed accuracy and exact match, one JSON per dataset."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from datasets import Dataset
from tqdm import tqdm

from rlvr.generation import encode_prompts, generate_completions
from rlvr.tasks.base import Task, score_completions

EVAL_BATCH_SIZE = 8


def evaluate_greedy(task: Task, model, processor, dataset: Dataset, args: argparse.Namespace, output_dir: str) -> dict:
    model.eval()
    if args.max_eval_samples:
        dataset = dataset.select(range(min(args.max_eval_samples, len(dataset))))
    examples = []
    for start in tqdm(range(0, len(dataset), EVAL_BATCH_SIZE), desc=f"eval {args.dataset_name}"):
        rows = [dataset[index] for index in range(start, min(start + EVAL_BATCH_SIZE, len(dataset)))]
        encoded = encode_prompts(processor, task, rows, args.prompt_style, model.device)
        completions = generate_completions(model, processor, encoded, max_new_tokens=args.max_completion_length)
        for row, completion in zip(rows, completions, strict=True):
            correct = score_completions(task, [completion], row, args.reward_threshold)[0]
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
        "dataset": args.dataset_name,
        "split": args.split,
        "model": args.model,
        "num_examples": len(examples),
        "relaxed_accuracy": sum(example["relaxed_correct"] for example in examples) / count,
        "exact_match": sum(example["exact_correct"] for example in examples) / count,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": examples,
    }
    path = Path(output_dir) / f"eval-{args.dataset_name}-{args.split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(
        f"EVAL {args.dataset_name}/{args.split}: relaxed accuracy {report['relaxed_accuracy']:.3f} | exact match "
        f"{report['exact_match']:.3f} | {len(examples)} examples -> {path}",
        flush=True,
    )
    return report
