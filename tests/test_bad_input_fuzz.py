"""Fuzzing every command's file inputs: random bytes, JSON nested to any depth and random YAML each give one line
``error: ...`` and exit code 2, never a traceback and never a hang.

Seeded, so a failure reproduces; in-process and bounded to a few seconds in all (a handful of inputs per command
and kind). A huge image, the one input a reader cannot bound by its size on disk, has its own test.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from bad_input import assert_refused, write

import generate_samples
import main as train_main
import monitor_training
from evaluation import compare, merge_samples, pass_at_k, plotting
from trainers import monitor_log

INPUTS_PER_KIND = 6
OPTION_NAMES = ["mode", "task", "seed", "learning_rate", "reward_funcs", "num_generations", "lora", "beta", "split"]


def random_bytes(rng: random.Random) -> bytes:
    alphabet = rng.choice([range(256), b'{}[]":,0123456789 \n\\-eE.tfnrul' + b"\xff\xfe"])
    return bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))


def deep_json(rng: random.Random) -> str:
    depth = rng.choice([3, 50, 5_000, 200_000])
    opener, closer = rng.choice([("[", "]"), ('{"problems": ', "}"), ('[{"log_history": ', "}]")])
    middle = rng.choice(["", "1", '"x"', "null", "{}"])
    return opener * depth + middle + closer * depth


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "float", "bool", "none"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return rng.choice(["", "--no-resume", "nsr", "chart", "-1", "x" * rng.randrange(1, 30), "\u00e9\u4e2d"])
    if kind == "int":
        return rng.choice([-(2**70), -1, 0, 1, 7, 2**40])
    if kind == "float":
        return rng.choice([float("nan"), float("inf"), -0.5, 1e-300, 3.5])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def random_key(rng: random.Random) -> Any:
    return rng.choice([*OPTION_NAMES, "--mode", "no_resume", 3, "x-y", True])


def random_yaml(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(["a: [", "{{", ": :", "- - -", "!!python/object:os.system x", "a: &x [*x]", "\t-"])
    return yaml.safe_dump(random_value(rng) if rng.random() < 0.3 else {random_key(rng): random_value(rng)})


COMMANDS = [
    "pass_at_k.py", "plotting.py", "monitor_training.py", "main.py", "main.py --preference-data", "merge_samples.py",
    "generate_samples.py", "compare.py", "plotting.py --differences",
]  # fmt: skip
KINDS: dict[str, Callable[[random.Random], str | bytes]] = {
    "random bytes": random_bytes,
    "deep JSON": deep_json,
    "random YAML": random_yaml,
}


def entry_points(tmp: Path, file: Path) -> dict[str, tuple[Callable[[list[str]], object], list[str]]]:
    """Each command with ``file`` as the input it reads."""
    return {
        "pass_at_k.py": (pass_at_k.main, ["--samples-path", str(file), "--output", str(tmp / "out.json")]),
        "plotting.py": (plotting.main, ["--results", str(file), "--output", str(tmp / "plot")]),
        "plotting.py --differences": (plotting.main, ["--differences", str(file), "--output", str(tmp / "plot")]),
        "compare.py": (compare.main, ["--samples-paths", str(file), str(file), "--labels", "A", "B"]),
        "monitor_training.py": (monitor_training.main, ["--checkpoint-dir", str(file), "--output", str(tmp / "mon")]),
        # A config that parses is still refused, for the model: the fuzz reaches every check of the file.
        "main.py": (train_main.main, ["--config", str(file), "--vlm-name", "./no-such-model", "--report-to", "none"]),
        "main.py --preference-data": (
            train_main.main,
            [
                "--mode",
                "dpo",
                "--beta",
                "0.1",
                "--preference-data",
                str(file),
                "--output-dir",
                str(tmp / "dpo"),
                "--report-to",
                "none",
            ],
        ),
        "merge_samples.py": (merge_samples.main, [str(file), "--output-path", str(tmp / "merged.json")]),
        "generate_samples.py": (
            generate_samples.main,
            [
                "--checkpoint-path",
                "tiny-text",
                "--task",
                "countdown",
                "--dataset-path",
                str(file),
                "--output",
                str(tmp / "samples.json"),
            ],
        ),
    }


@pytest.fixture
def no_waiting_and_no_model(monkeypatch):
    monkeypatch.setattr(monitor_log.time, "sleep", lambda seconds: None)  # the retry of a half-written state

    def no_model(*args, **kwargs):
        raise AssertionError("a fuzzed input got as far as loading the model")

    monkeypatch.setattr("rlvr.models.checkpoints.load_checkpoint", no_model)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_fuzzed_input_files_are_refused_in_one_line(command, kind, tmp_path, capsys, no_waiting_and_no_model):
    rng = random.Random(f"{command} {kind}")
    suffix = ".yaml" if command == "main.py" else ".json"
    for number in range(INPUTS_PER_KIND):
        content = KINDS[kind](rng)
        file = write(tmp_path / f"input{number}{suffix}", content)
        entry, argv = entry_points(tmp_path, file)[command]
        assert_refused(entry, argv, "", capsys)


def huge_png(path: Path, side: int) -> Path:
    """A PNG header claiming side x side pixels and no pixel data: what a reader sees first of a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return write(path, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


def test_a_15000_pixel_square_image_in_a_dataset_is_refused_in_one_line(tmp_path, capsys, no_waiting_and_no_model):
    huge_png(tmp_path / "data" / "c.png", 15_000)
    rows = write(
        tmp_path / "data" / "EvoChart-QA.json", json.dumps([{"imgname": "c.png", "query": "q", "label": "7"}])
    )
    argv = [
        "--checkpoint-path", "tiny", "--dataset-name", "evochart", "--dataset-path", str(rows),
        "--output", str(tmp_path / "samples.json"),
    ]  # fmt: skip
    assert_refused(generate_samples.main, argv, "too large to be read as an image", capsys)
