"""Preference pairs for ``--mode dpo`` from verifiable samples: chosen from the correct, rejected from the incorrect.

DPO on verifiable pairs learns from the same correct/incorrect split as PSR and NSR, offline. Everything here is a
pure function of the samples-file problems (the schema of evaluation/samples_file.py, read by main.py) and a seed,
so the same file and seed always give the same pairs, whatever order the problems come in.

Problems are joined to dataset rows by ``problem_id``: generate_samples.py and main.py's own drawing both number
problems by their index in the dataset they loaded. Question text alone is no key (synthetic charts ask the same
question of many charts), so the index is the key and the question and answer are the check: a file drawn on other
rows stops the run with one line instead of training on prompts its samples never answered.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datasets import Dataset

from rlvr.errors import UserError
from rlvr.tasks.base import Task
from trainers.config import CHOSEN_FROM_CHOICES


@dataclass(frozen=True)
class PreferencePair:
    """One pair: the problem's dataset row index, a chosen and a rejected completion."""

    row_index: int
    chosen: str
    rejected: str


@dataclass(frozen=True)
class PairSet:
    """The pairs, and how many problems gave none (no incorrect sample, or no chosen completion)."""

    pairs: list[PreferencePair]
    num_problems: int
    without_pair: int

    def describe(self) -> str:
        paired = self.num_problems - self.without_pair
        return (
            f"{len(self.pairs)} preference pairs from {paired} of {self.num_problems} problems; "
            f"{self.without_pair} without a usable pair (no incorrect sample, or nothing to choose)"
        )


def _distinct(texts: Sequence[str]) -> list[str]:
    """The texts in first-seen order, each once: repeated samples would otherwise repeat a pair."""
    return list(dict.fromkeys(texts))


def candidates(problem: Mapping[str, Any], chosen_from: str, reference: str | None) -> tuple[list[str], list[str]]:
    """(chosen pool, rejected pool) of one problem.

    ``samples``: the correct samples. ``reference``: the reference completion alone (the original CLI's DPO).
    ``both``: the correct samples, or the reference when the model got none right.
    """
    if chosen_from not in CHOSEN_FROM_CHOICES:
        raise UserError(f"--chosen-from must be one of {', '.join(CHOSEN_FROM_CHOICES)}, got {chosen_from!r}")
    correct = [text for text, ok in zip(problem["samples"], problem["correct"], strict=True) if ok]
    incorrect = [text for text, ok in zip(problem["samples"], problem["correct"], strict=True) if not ok]
    if chosen_from == "reference" or (chosen_from == "both" and not correct):
        chosen = [reference] if reference is not None else []
    else:
        chosen = correct
    return _distinct(chosen), _distinct(incorrect)


def build_pairs(
    problems: Sequence[Mapping[str, Any]],
    pairs_per_problem: int,
    chosen_from: str,
    seed: int,
    references: Mapping[Any, str] | None = None,
) -> PairSet:
    """Up to ``pairs_per_problem`` distinct (chosen, rejected) pairs per problem, drawn without replacement.

    Each problem draws from its own generator, seeded by ``seed`` and its id, so a problem's pairs do not depend on
    the problems before it. ``references`` maps problem ids to reference completions (needed for ``reference`` and
    ``both``). ``row_index`` of a pair is the problem id, the row it was drawn from.
    """
    if pairs_per_problem < 1:
        raise UserError(f"--pairs-per-problem must be a positive integer, got {pairs_per_problem}")
    references = references or {}
    pairs: list[PreferencePair] = []
    without_pair = 0
    for problem in problems:
        problem_id = problem["problem_id"]
        chosen, rejected = candidates(problem, chosen_from, references.get(problem_id))
        combinations = len(chosen) * len(rejected)
        if combinations == 0:
            without_pair += 1
            continue
        rng = random.Random(f"{seed}:{problem_id}")
        for flat in rng.sample(range(combinations), min(pairs_per_problem, combinations)):
            pairs.append(PreferencePair(problem_id, chosen[flat // len(rejected)], rejected[flat % len(rejected)]))
    return PairSet(pairs, len(problems), without_pair)


def reference_completions(task: Task, dataset: Dataset, problem_ids: Sequence[int], style: str) -> dict[int, str]:
    """The task's reference completion of each problem's row, formatted as the prompt style asks (as SFT trains)."""
    return {problem_id: task.sft_completion(dataset[problem_id], style) for problem_id in problem_ids}


def preference_rows(task: Task, dataset: Dataset, pairs: Sequence[PreferencePair], style: str) -> Dataset:
    """TRL's conversational preference rows: ``prompt``, ``chosen``, ``rejected`` (and the chart's ``image``)."""
    if not pairs:
        raise UserError(
            "no preference pairs: every problem lacks an incorrect sample or a chosen completion (with no correct "
            "samples, --chosen-from both uses the reference answer)"
        )
    rows = dataset.select([pair.row_index for pair in pairs])

    def assistant(text: str) -> list[dict]:
        return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]

    def to_example(row: dict, index: int) -> dict:
        pair = pairs[index]
        prompt = task.build_prompt(row, style)
        return {"prompt": prompt, "chosen": assistant(pair.chosen), "rejected": assistant(pair.rejected)}

    keep = ["image"] if task.is_multimodal else []
    drop = [column for column in rows.column_names if column not in keep]
    return rows.map(to_example, with_indices=True, remove_columns=drop, desc="preference pairs")


def dpo_dataset(
    task: Task,
    dataset: Dataset,
    problems: Sequence[Mapping[str, Any]],
    pairs_per_problem: int,
    chosen_from: str,
    seed: int,
    style: str,
) -> tuple[Dataset, PairSet]:
    """The DPOTrainer's rows, and the pair count, from problems already joined to ``dataset`` (the join is checked
    in evaluation/preference_samples.py)."""
    references = None
    if chosen_from != "samples":
        references = reference_completions(task, dataset, [problem["problem_id"] for problem in problems], style)
    pair_set = build_pairs(problems, pairs_per_problem, chosen_from, seed, references)
    return preference_rows(task, dataset, pair_set.pairs, style), pair_set


def preference_dataset(config, task: Task, dataset: Dataset, problems: Sequence[Mapping[str, Any]]) -> Dataset:
    """DPOTrainer's rows from the problems' samples (a RunConfig's pair options), saying how many gave no pair."""
    rows, pair_set = dpo_dataset(
        task, dataset, problems, config.pairs_per_problem, config.chosen_from, config.seed, config.prompt_style
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"Preference data: {pair_set.describe()}", flush=True)
    return rows
