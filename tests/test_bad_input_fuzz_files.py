"""Fuzzing the content of every file input (test_bad_input_fuzz.py fuzzes whole files): dataset pictures (random
bytes, cut-short or damaged PNGs, extreme shapes), dataset cells (jsonl, csv and parquet rows with a random value in
one cell), model folders (a truncated weights file, a missing file, random bytes or other JSON in a file),
trainer_state.json fields and counts-file lines. Each input either is accepted or gives one line ``error: ...``
naming it and exit code 2: never a traceback, never a partial output file.

An accepted dataset or model meets a stand-in for the model loader that refuses in one line, so every case ends
before torch; an accepted model folder is then given to the real loader, which must load it or raise UserError.
Seeded, so a failure reproduces.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
import torch
from bad_input import write
from PIL import Image

import generate_samples
import monitor_training
from evaluation import pass_at_k
from rlvr.errors import UserError
from rlvr.models.checkpoints import load_checkpoint as real_load_checkpoint
from rlvr.models.registry import resolve_model
from trainers import monitor_log

CASES = 5
ACCEPTED = "the input was accepted"
ODD_VALUES: list[Any] = [
    None, "", " ", "x", "5", "-3", "1e400", True, 0, -1, 2**63, -(2**70), 1.5, float("nan"), float("inf"), [], ["5"],
    [1, "a"], {}, {"a": [1]}, "\u00e9\u4e2d", "[1, 2]", "\\boxed{", "\x00",
]  # fmt: skip


def outcome(entry: Callable[[list[str]], object], argv: list[str], capsys, output: Path) -> str:
    """Run ``entry``: either it returns, or it exits with code 2 and one 'error: ' line and ``output`` absent."""
    try:
        entry(argv)
        return "accepted"
    except SystemExit as exited:
        assert exited.code == 2, exited.code
    error_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("error: "), error_lines
    assert not output.exists(), f"{output} left behind"
    return error_lines[0]


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise UserError(ACCEPTED)

    monkeypatch.setattr("rlvr.models.checkpoints.load_checkpoint", refuse)
    monkeypatch.setattr(monitor_log.time, "sleep", lambda seconds: None)


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def random_picture(rng: random.Random) -> bytes:
    good = png(rng.randint(1, 60), rng.randint(1, 60), rng.choice(["RGB", "L", "P", "RGBA", "I;16", "1"]))
    kind = rng.choice(["random", "cut", "flipped", "shape"])
    if kind == "random":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    if kind == "cut":
        return good[: rng.randrange(0, len(good))]
    if kind == "flipped":
        position = rng.randrange(8, len(good))
        return good[:position] + bytes([good[position] ^ 0xFF]) + good[position + 1 :]
    return png(*rng.choice([(6000, 12), (1, 300), (201, 1), (200, 1)]))


def test_fuzzed_pictures_in_a_parquet(tmp_path, capsys):
    rng = random.Random("pictures")
    for number in range(CASES):
        pictures = [png(8, 8), random_picture(rng)]
        rows = {"image": [{"bytes": p, "path": None} for p in pictures], "query": ["q", "q"], "label": ["1", "2"]}
        data = tmp_path / f"charts{number}.parquet"
        pq.write_table(datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image()).data.table, data)
        output = tmp_path / "samples.json"
        argv = ["--checkpoint-path", "tiny", "--dataset-name", "chartqa", "--dataset-path", str(data),
                "--output", str(output)]  # fmt: skip
        line = outcome(generate_samples.main, argv, capsys, output)
        assert ACCEPTED in line or f"{data}: row 1: " in line, line


def dataset_file(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        return write(path, "".join(json.dumps(row) + "\n" for row in rows))
    if path.suffix == ".csv":  # a cell holds text as it is, anything else as its JSON
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(rows[0])
        writer.writerows(
            [cell if isinstance(cell, str) else json.dumps(cell) for cell in row.values()] for row in rows
        )
        return write(path, buffer.getvalue())
    columns = {name: [json.dumps(row[name]) for row in rows] for name in rows[0]}  # parquet cells: text
    pq.write_table(datasets.Dataset.from_dict(columns).data.table, path)
    return path


TASK_ROWS = {
    "math": lambda: {"problem": "What is 1 + 1?", "answer": "2"},
    "countdown": lambda: {"nums": [1, 2, 3], "target": 6},
}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("task", TASK_ROWS)
def test_fuzzed_dataset_cells(task, suffix, tmp_path, capsys):
    rng = random.Random(f"{task} {suffix}")
    for number in range(CASES):
        rows = [TASK_ROWS[task]() for _ in range(3)]
        column = rng.choice(list(rows[0]))
        rows[2][column] = rng.choice(ODD_VALUES)
        data = dataset_file(tmp_path / f"rows{number}{suffix}", rows)
        output = tmp_path / "samples.json"
        argv = ["--checkpoint-path", "tiny-text", "--task", task, "--dataset-path", str(data), "--output", str(output)]
        line = outcome(generate_samples.main, argv, capsys, output)
        assert ACCEPTED in line or str(data) in line, line


def damaged_model(folder: Path, rng: random.Random) -> None:
    files = sorted(path for path in folder.iterdir() if path.is_file())
    victim = rng.choice(files)
    kind = rng.choice(["cut", "missing", "random", "other JSON"])
    if kind == "cut":
        victim.write_bytes(victim.read_bytes()[: rng.randrange(0, victim.stat().st_size)])
    elif kind == "missing":
        victim.unlink()
    elif kind == "random":
        victim.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))))
    else:
        victim.write_text(rng.choice(["{}", "[]", '{"model": 5}', "x", '{"added_tokens": {}}', "null"]))


def test_fuzzed_model_folders(tmp_path, capsys):
    rng = random.Random("model folders")
    source = resolve_model("tiny-text").source  # built on first use: its progress bars are not the command's
    capsys.readouterr()
    for number in range(CASES * 3):
        folder = tmp_path / f"model{number}"
        shutil.copytree(source, folder)
        damaged_model(folder, rng)
        output = tmp_path / "samples.json"
        argv = ["--checkpoint-path", str(folder), "--task", "countdown", "--output", str(output)]
        line = outcome(generate_samples.main, argv, capsys, output)
        assert ACCEPTED in line or str(folder) in line, line
        if ACCEPTED in line:  # past the checks without torch: the real loader loads it or refuses it in one line
            with contextlib.suppress(UserError):
                real_load_checkpoint(str(folder), torch.device("cpu"))
            capsys.readouterr()  # the loader's progress bars


TRAINER_STATE = {
    "global_step": 3, "max_steps": 4, "logging_steps": 1, "epoch": 0.5, "best_metric": None,
    "log_history": [{"loss": 0.5, "grad_norm": 1.0, "step": 1}, {"loss": 0.4, "grad_norm": 0.9, "step": 2}],
}  # fmt: skip


def test_fuzzed_trainer_state_fields(tmp_path, capsys):
    rng = random.Random("trainer state")
    for number in range(CASES * 2):
        state = json.loads(json.dumps(TRAINER_STATE))
        target = state if rng.random() < 0.5 else rng.choice(state["log_history"])
        target[rng.choice([*target, "extra"])] = rng.choice(ODD_VALUES)
        run = tmp_path / f"run{number}"
        write(run / "checkpoint-3" / "trainer_state.json", json.dumps(state))
        output = tmp_path / f"monitor{number}"
        argv = ["--checkpoint-dir", str(run), "--output", str(output)]
        line = outcome(monitor_training.main, argv, capsys, output)
        assert line == "accepted" or "trainer_state.json: " in line, line


def test_fuzzed_counts_file_lines(tmp_path, capsys):
    rng = random.Random("counts")
    header = json.dumps({"format": "rlvr sample counts 1", "metadata": {}})
    for number in range(CASES * 2):
        lines = [{"problem_id": index, "num_correct": 1, "num_total": 4} for index in range(3)]
        line = rng.choice(lines)
        line[rng.choice([*line, "dataset"])] = rng.choice(ODD_VALUES)
        counts = write(tmp_path / f"counts{number}.jsonl", "\n".join([header, *map(json.dumps, lines)]) + "\n")
        output = tmp_path / f"pass{number}.json"
        said = outcome(pass_at_k.main, ["--samples-path", str(counts), "--output", str(output)], capsys, output)
        assert said == "accepted" or str(counts) in said, said
