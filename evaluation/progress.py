"""The settings that decide a samples file, and the progress file that lets a killed generate_samples.py run
continue where it stopped. No torch here: generate_samples.py checks its settings and resumes before importing it.

The progress file ``<output-path>.partial.jsonl`` holds a header line ``{"format": ..., "settings": {...}}`` and
then one line per finished problem, each line written whole and fsynced. A kill can only tear the line being
written; reading drops such a line, so a restart redoes at most the problem that was in flight. A file holding
only its header is a start that failed before its first problem, and blocks nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from evaluation.run_identity import model_change, rows_change, unchecked_identity, without_identity
from rlvr.errors import UserError
from rlvr.output_names import companion_path, write_failure

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
    system_prompt: str | None = None  # --system-prompt: the task's own system turn when None
    # The run's identity (rlvr/run_identity.py): the model folder's step and weights fingerprint, and the hash of
    # the dataset rows loaded (every shard's rows, so that the shards of one run agree). None: not recorded (a
    # file written before these existed, or a model given by name), and then not checked.
    model_step: int | None = None
    model_fingerprint: str | None = None
    data_hash: str | None = None

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


def progress_path_for(output_path: Path) -> Path:
    return companion_path(output_path, "", PROGRESS_SUFFIX)


@dataclass(frozen=True)
class SavedProgress:
    """What a progress file holds: finished problems by id, how many leading bytes are intact, and what of the
    run's identity it does not record (a file written before it was), so resuming could not check."""

    done: dict[int | str, dict[str, Any]]
    intact_bytes: int
    unchecked: tuple[str, ...] = ()


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
    if len(lines) == 1:
        return None  # a start that failed before its first problem (e.g. a model that did not load): nothing to keep
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
    return SavedProgress(done, intact_bytes, tuple(unchecked_identity(header["settings"])))


def _json_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _check_same_settings(path: Path, recorded: Any, settings: SamplingSettings) -> None:
    if not isinstance(recorded, dict):
        raise UserError(f"{path} has no recorded settings; delete it to start over")
    current = settings.as_dict()
    model = model_change(recorded, current)
    if model is not None:
        raise UserError(
            f"{path} was sampled from another model ({model[0]} there; {model[1]} here): the checkpoint changed "
            "since; delete the file to sample this model from the start, or write to another --output"
        )
    rows = rows_change(recorded, current)
    if rows is not None:
        raise UserError(
            f"{path} was sampled from other dataset rows (rows {rows[0]} there, {rows[1]} here): the dataset "
            "changed since; delete the file to start over on these rows, or write to another --output"
        )
    defaults = {field.name: field.default for field in fields(SamplingSettings) if field.default is not MISSING}
    recorded = {**defaults, **recorded}  # a progress file older than a field was written with its default
    differences = [
        f"{name} {recorded.get(name)!r} there, {value!r} here"
        for name, value in without_identity(current).items()
        if recorded.get(name) != value
    ]
    if differences:
        raise UserError(
            f"{path} was started with other settings ({'; '.join(differences)}): run the same command to resume "
            "it, or delete the file to start over"
        )


class ProgressWriter:
    """Appends finished problems to the progress file, one fsynced line each, after its settings header.

    A file system's refusal (a full disk...) stops the run with one line naming the file; what was saved stays for
    the rerun, and a file this run started that holds no problem yet is removed.
    """

    def __init__(self, path: Path, settings: SamplingSettings, saved: SavedProgress | None) -> None:
        self.path = path
        self._started_here = saved is None
        self._file = None
        with self._failures_as_one_line():
            if saved is None:
                self._file = open(path, "wb")  # noqa: SIM115 -- stays open across problems; closed by close()
                self._write_line({"format": PROGRESS_FORMAT, "settings": settings.as_dict()})
            else:
                self._file = open(path, "r+b")  # noqa: SIM115 -- as above
                # Cut a torn last line, so the next line starts on a line of its own.
                self._file.truncate(saved.intact_bytes)
                self._file.seek(saved.intact_bytes)

    def append(self, record: dict[str, Any]) -> None:
        with self._failures_as_one_line():
            self._write_line(record)
        self._started_here = False  # it holds a problem now: a rerun goes on from it

    def _write_line(self, value: dict[str, Any]) -> None:
        self._file.write(json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    @contextmanager
    def _failures_as_one_line(self) -> Iterator[None]:
        try:
            yield
        except (OSError, UnicodeEncodeError) as error:
            self.close()
            if self._started_here:
                with suppress(OSError):
                    self.path.unlink(missing_ok=True)
            raise write_failure(self.path, error) from None

    def close(self) -> None:
        if self._file is not None:
            with suppress(OSError):  # a full disk refuses the flush of what close() would write: already reported
                self._file.close()
            self._file = None

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
