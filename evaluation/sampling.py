"""Many samples per problem for Pass@k: loading a checkpoint, drawing and scoring one problem's samples, and the
progress file that lets a killed generate_samples.py run continue where it stopped.

The progress file ``<output-path>.partial.jsonl`` holds a header line ``{"format": ..., "settings": {...}}`` and
then one line per finished problem, each line written whole and fsynced. A kill can only tear the line being
written; reading drops such a line, so a restart redoes at most the problem that was in flight.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from evaluation.batching import call_groups, problems_per_call
from rlvr.errors import UserError
from rlvr.generation import encode_prompts, generate_completions, prefill_prompts
from rlvr.tasks.base import Task, answer_for_json, score_completions

PROGRESS_FORMAT = "rlvr generate_samples progress 1"
PROGRESS_SUFFIX = ".partial.jsonl"


@dataclass(frozen=True)
class SamplingSettings:
    """What decides a samples file's content. A progress file is resumed only under equal settings."""

    checkpoint: str
    task: str
    dataset: str
    dataset_path: str | None
    split: str
    max_problems: int | None
    prompt_style: str
    num_samples: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    reward_threshold: float
    # Which part of the dataset this file holds (evaluation/batching.py); 1 and 0 for the whole dataset.
    num_shards: int = 1
    shard_index: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SamplingSettings:
        # Files written before a field existed lack it: it then has its default.
        return cls(**{field.name: values[field.name] for field in fields(cls) if field.name in values})


def checkpoint_identity(checkpoint: str) -> str:
    """A local folder as its absolute path, so ``runs/nsr`` and ``./runs/nsr/`` resume each other; names as given."""
    folder = Path(checkpoint)
    return str(folder.resolve()) if folder.is_dir() else checkpoint


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


# ---------------------------------------------------------------------------------------------------------------
# The progress file


def progress_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + PROGRESS_SUFFIX)


@dataclass(frozen=True)
class SavedProgress:
    """What a progress file holds: finished problems by id, and how many leading bytes are intact."""

    done: dict[int | str, dict[str, Any]]
    intact_bytes: int


def read_progress(path: Path, settings: SamplingSettings) -> SavedProgress | None:
    """The problems a previous run with these settings finished; None when there is nothing to resume.

    A torn last line (the run was killed while writing it) is ignored. Other settings, or damage before the last
    line, raise UserError: resuming would mix two runs into one file.
    """
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot read the progress file ({error})") from None
    lines = data.split(b"\n")
    lines.pop()  # the text after the last newline: empty, or a line torn by the kill
    if not lines:
        return None  # killed before the header was complete: nothing was done
    header = _json_line(lines[0])
    if not isinstance(header, dict) or header.get("format") != PROGRESS_FORMAT:
        raise UserError(f"{path} is not a progress file of generate_samples.py; move it away or delete it")
    _check_same_settings(path, header.get("settings"), settings)
    intact_bytes = len(lines[0]) + 1
    done: dict[int | str, dict[str, Any]] = {}
    for number, line in enumerate(lines[1:], start=2):
        record = _json_line(line)
        if not isinstance(record, dict) or "problem_id" not in record:
            if number == len(lines):
                break  # a last line lost to a crash (e.g. zero-filled after a power cut) is the problem in flight
            raise UserError(f"{path}: line {number} is damaged; delete the file to start over")
        done[record["problem_id"]] = record
        intact_bytes += len(line) + 1
    return SavedProgress(done, intact_bytes)


def _json_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _check_same_settings(path: Path, recorded: Any, settings: SamplingSettings) -> None:
    if not isinstance(recorded, dict):
        raise UserError(f"{path} has no recorded settings; delete it to start over")
    defaults = {field.name: field.default for field in fields(SamplingSettings) if field.default is not MISSING}
    recorded = {**defaults, **recorded}  # a progress file older than a field was written with its default
    differences = [
        f"{name} {recorded.get(name)!r} there, {value!r} here"
        for name, value in settings.as_dict().items()
        if recorded.get(name) != value
    ]
    if differences:
        raise UserError(
            f"{path} was started with other settings ({'; '.join(differences)}): run the same command to resume "
            "it, or delete the file to start over"
        )


class ProgressWriter:
    """Appends finished problems to the progress file, one fsynced line each, after its settings header."""

    def __init__(self, path: Path, settings: SamplingSettings, saved: SavedProgress | None) -> None:
        self.path = path
        if saved is None:
            self._file = open(path, "wb")  # noqa: SIM115 -- stays open across problems; closed by close()
            self._write_line({"format": PROGRESS_FORMAT, "settings": settings.as_dict()})
        else:
            self._file = open(path, "r+b")  # noqa: SIM115 -- as above
            # Cut a torn last line, so the next line starts on a line of its own.
            self._file.truncate(saved.intact_bytes)
            self._file.seek(saved.intact_bytes)

    def append(self, record: dict[str, Any]) -> None:
        self._write_line(record)

    def _write_line(self, value: dict[str, Any]) -> None:
        self._file.write(json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
