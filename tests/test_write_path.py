"""One write path for every output (rlvr/files.py ``claim_output`` and ``write_output``, rlvr/locks.py).

Specified for every command that writes an output, parametrised over them:
- a legal 250-character output name is written, and nothing is left beside it (no lock, temporary or progress
  file); a name component over 255 bytes, a byte that is not UTF-8, a folder that cannot be made (under /proc) and
  a full disk are each refused in one line naming the path, with exit code 2, no traceback and no file left behind;
- the output's lock is taken before the output is first checked and before any data or model is loaded: a run
  onto an output that another holds is refused before it loads anything;
- a file of the lock's name that is not one of the toolkit's locks (a user's ``out.json.lock``) is refused and kept.
And for main.py: an input inside what --overwrite would replace is refused, and --mode eval replaces an earlier
report only with --overwrite.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_input import problem, write

import generate_samples
import main as train_main
import monitor_training
from evaluation import compare, merge_samples, pass_at_k, plotting
from evaluation.progress import SamplingSettings
from evaluation.samples_file import write_samples_file
from rlvr.files import lock_path_for, output_path
from rlvr.locks import OutputLock
from rlvr.output_names import NAME_MAX_BYTES, companion_path
from trainers.monitor_plots import MONITOR_LOCK_FILE
from trainers.resume import LOCK_FILE


@dataclass(frozen=True)
class Command:
    """One output-writing command: how to call it onto ``output`` with the inputs in ``inputs``."""

    name: str
    entry: Callable[[list[str]], object]
    argv: Callable[[Path, Path], list[str]]  # (inputs folder, output) -> argv
    suffix: str  # how its output's name ends; "" for a folder
    loader: str  # what it loads its data with: never reached when it is refused
    written: Callable[[Path], list[Path]]  # the files it writes for ``output``
    lock_of: Callable[[Path], Path]  # the lock file of ``output``


def _files(output: Path) -> list[Path]:
    return [output]


def _figures(output: Path) -> list[Path]:
    return plotting.figure_paths(output)


def _file_lock(output: Path) -> Path:
    return lock_path_for(output_path(output))


COMMANDS = [
    Command(
        "generate_samples",
        generate_samples.main,
        lambda _, out: ["--checkpoint-path", "tiny", "--num-samples", "2", "--max-new-tokens", "4", "--max-problems",
                        "1", "--output", str(out)],
        ".json",
        "rlvr.tasks.load_held_out",
        _files,
        _file_lock,
    ),
    Command(
        "merge_samples",
        merge_samples.main,
        lambda inputs, out: [str(inputs / "shard.json"), "--output-path", str(out)],
        ".json",
        "evaluation.merge_samples.merge_shards",
        _files,
        _file_lock,
    ),
    Command(
        "pass_at_k",
        pass_at_k.main,
        lambda inputs, out: ["--samples-path", str(inputs / "shard.json"), "--output", str(out), "--n-resamples", "9"],
        ".json",
        "evaluation.pass_at_k.load_counts",
        _files,
        _file_lock,
    ),
    Command(
        "compare",
        compare.main,
        lambda inputs, out: ["--samples-paths", str(inputs / "shard.json"), str(inputs / "other.json"), "--labels",
                             "A", "B", "--output-path", str(out), "--n-resamples", "9"],
        ".json",
        "evaluation.compare.read_file_counts",
        _files,
        _file_lock,
    ),
    Command(
        "plotting",
        plotting.main,
        lambda inputs, out: ["--results", str(inputs / "results.json"), "--output", str(out)],
        ".png",
        "evaluation.plotting.load_results",
        _figures,
        lambda out: _file_lock(_figures(out)[0]),
    ),
    Command(
        "monitor_training",
        monitor_training.main,
        lambda inputs, out: ["--checkpoint-dir", str(inputs / "run"), "--output-dir", str(out)],
        "",
        "monitor_training.resolve_trainer_state",
        lambda out: [out / "summary.txt"],
        lambda out: output_path(out) / MONITOR_LOCK_FILE,
    ),
    Command(
        "main --mode eval",
        train_main.main,
        lambda _, out: ["--mode", "eval", "--vlm-name", "tiny", "--max-eval-samples", "1", "--max-completion-length",
                        "4", "--report-to", "none", "--output-dir", str(out)],
        "",
        "rlvr.tasks.load_held_out",
        lambda out: [out / "eval-synthetic-test.json"],
        lambda out: output_path(out) / LOCK_FILE,
    ),
]  # fmt: skip
BY_NAME = {command.name: command for command in COMMANDS}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A samples file of a whole run (a shard of one), another one, a results file, and a run with a log."""
    folder = tmp_path_factory.mktemp("inputs")
    settings = SamplingSettings(
        checkpoint="tiny", task="chart", dataset="synthetic", dataset_path=None, split="test", max_problems=2,
        prompt_style="structured", num_samples=2, temperature=0.6, top_p=0.95, max_new_tokens=4, seed=1,
        reward_threshold=0.5,
    )  # fmt: skip
    write_samples_file(folder / "shard.json", settings, [problem(0), problem(1)])
    write_samples_file(folder / "other.json", settings, [problem(0), problem(1)])
    assert (
        pass_at_k.main(["--samples-path", str(folder / "shard.json"), "--output", str(folder / "results.json")]) == 0
    )
    log = [{"step": step, "loss": 0.1 * step, "learning_rate": 1e-5, "reward": 0.5} for step in (1, 2)]
    write(folder / "run" / "trainer_state.json", json.dumps({"global_step": 2, "log_history": log}))
    return folder


def assert_one_line(entry: Callable[[list[str]], object], argv: list[str], fragment: str, capsys) -> str:
    """``entry(argv)`` exits with code 2; its last line on stderr, the only one starting 'error: ', names the
    problem; no traceback (progress bars of a model that ran may come before it)."""
    with pytest.raises(SystemExit) as exited:
        entry(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and [line for line in lines if line.startswith("error: ")] == lines[-1:], lines
    assert fragment in lines[-1], lines[-1]
    return lines[-1]


def leftovers(folder: Path) -> list[Path]:
    """Every file under ``folder``: what a refused or failed command must not leave."""
    return sorted(path for path in folder.rglob("*") if not path.is_dir()) if folder.exists() else []


def named(command: Command, stem: str) -> str:
    return stem + command.suffix


# ---------------------------------------------------------------------------------------------------------------
# Path names and file-system refusals, in every command


@pytest.mark.parametrize("name", BY_NAME)
def test_a_legal_250_character_name_is_written_with_nothing_left_beside_it(name, inputs, tmp_path, tiny_vl_path):
    command = BY_NAME[name]
    output = tmp_path / "out" / named(command, "o" * (250 - len(command.suffix)))
    assert len(output.name) == 250
    assert not command.entry(command.argv(inputs, output))  # 0, or None from main.py
    for path in command.written(output):
        assert path.stat().st_size > 0
    written = {path.name for path in command.written(output)}
    others = [path.name for path in leftovers(tmp_path / "out") if path.name not in written]
    if command.suffix:
        assert others == []  # no lock, temporary or progress file
    else:
        assert not any(part.startswith(".") or "tmp" in part or "lock" in part for part in others), others


PATH_CASES = {
    "component over 255 bytes": (lambda root: root / ("é" * 128), "over the file system's limit of 255"),
    "byte that is not UTF-8": (lambda root: root / os.fsdecode(b"out\xff"), "byte 0xff is not UTF-8"),
    "folder that cannot be made": (lambda root: Path("/proc/x") / "out", "cannot write /proc/x/"),
}


@pytest.mark.parametrize("case", PATH_CASES)
@pytest.mark.parametrize("name", BY_NAME)
def test_a_path_no_file_can_be_written_at_is_refused_in_one_line(name, case, inputs, tmp_path, capsys, monkeypatch):
    command = BY_NAME[name]
    monkeypatch.setattr(command.loader, lambda *args, **kwargs: pytest.fail("loaded data for an unwritable path"))
    make_path, fragment = PATH_CASES[case]
    output = Path(str(make_path(tmp_path / "out")) + command.suffix)
    assert_one_line(command.entry, command.argv(inputs, output), fragment, capsys)
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("name", BY_NAME)
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(
    name, inputs, tmp_path, capsys, monkeypatch, tiny_vl_path
):
    command = BY_NAME[name]
    output = tmp_path / "out" / named(command, "full")

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)  # every write of the toolkit is fsynced before its rename
    line = assert_one_line(command.entry, command.argv(inputs, output), "No space left on device", capsys)
    assert str(tmp_path / "out") in line
    assert leftovers(tmp_path / "out") == []


def test_companion_names_fit_and_differ_for_long_names(tmp_path):
    first, second = tmp_path / ("a" * 250 + "x"), tmp_path / ("a" * 250 + "y")
    for prefix, suffix in [("", ".lock"), (".", f".{os.getpid()}.tmp.json"), ("", ".partial.jsonl")]:
        names = [companion_path(path, prefix, suffix).name for path in (first, second)]
        assert all(len(name.encode()) <= NAME_MAX_BYTES and name.endswith(suffix) for name in names)
        assert names[0] != names[1]
    assert companion_path(tmp_path / "out.json", "", ".lock").name == "out.json.lock"  # short names as before
    cut = companion_path(tmp_path / ("é" * 127), ".", ".tmp").name  # never half a character
    assert len(cut.encode()) <= NAME_MAX_BYTES and cut.encode().decode("utf-8")


# ---------------------------------------------------------------------------------------------------------------
# The lock comes first: taken before the output is checked or any data is loaded, held to the final rename


@pytest.mark.parametrize("name", BY_NAME)
def test_a_run_onto_a_held_output_is_refused_before_it_loads_anything(name, inputs, tmp_path, capsys, monkeypatch):
    command = BY_NAME[name]
    monkeypatch.setattr(command.loader, lambda *args, **kwargs: pytest.fail("loaded data before taking the lock"))
    output = tmp_path / "out" / named(command, "held")
    with OutputLock(command.lock_of(output), "the other run"):
        fragment = "is being written by another running command"
        assert_one_line(command.entry, command.argv(inputs, output), fragment, capsys)
        assert not any(path.exists() for path in command.written(output))


class SlowLoad(Exception):
    """Ends the first run while it loads its data, once the second run has been tried."""


def test_a_faster_second_run_started_during_the_first_runs_data_load_is_refused(inputs, tmp_path, capsys, monkeypatch):
    """generate_samples.py: the first run holds its output from before it loads data, so a second run started then
    cannot write the file the first would later replace (the lock used to come only after the load)."""
    argv = BY_NAME["generate_samples"].argv(inputs, tmp_path / "samples.json")
    second: list[object] = []

    def load_while_a_second_run_starts(*args, **kwargs):
        with pytest.raises(SystemExit) as exited:
            generate_samples.main(argv)
        second.append(exited.value.code)
        raise SlowLoad

    monkeypatch.setattr("rlvr.tasks.load_held_out", load_while_a_second_run_starts)
    with pytest.raises(SlowLoad):
        generate_samples.main(argv)
    assert second == [2] and "is being written by another running command" in capsys.readouterr().err
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------------
# Files the command did not write


@pytest.mark.parametrize("name", BY_NAME)
def test_a_users_file_of_the_locks_name_is_refused_and_kept(name, inputs, tmp_path, capsys, monkeypatch):
    command = BY_NAME[name]
    monkeypatch.setattr(command.loader, lambda *args, **kwargs: pytest.fail("loaded data past a foreign lock file"))
    output = tmp_path / "out" / named(command, "mine")
    users = write(command.lock_of(output), "my notes\n")
    assert_one_line(command.entry, command.argv(inputs, output), "is not a lock of this toolkit", capsys)
    assert users.read_text() == "my notes\n"


class Started(Exception):
    """Raised in place of main.py's run: every check of its folder passed."""


@pytest.fixture
def stop_main_after_checks(monkeypatch):
    def stop(*args, **kwargs):
        raise Started

    monkeypatch.setattr(train_main, "run", stop)


@pytest.mark.parametrize(("config_name", "fragment"), [(LOCK_FILE, "is not a lock"), ("README.md", "would replace")])
def test_main_never_replaces_or_deletes_its_config_inside_the_run_folder(
    config_name, fragment, tmp_path, capsys, stop_main_after_checks
):
    run = tmp_path / "run"
    config = write(run / config_name, "mode: nsr\nreport_to: none\n")
    argv = ["--config", str(config), "--output-dir", str(run), "--overwrite"]
    assert_one_line(train_main.main, argv, fragment, capsys)
    assert config.read_text() == "mode: nsr\nreport_to: none\n"


def test_mode_eval_replaces_an_earlier_report_only_with_overwrite(tmp_path, capsys, stop_main_after_checks):
    run = tmp_path / "run"
    report = write(run / "eval-synthetic-test.json", '{"relaxed_accuracy": 0.5}')
    argv = ["--mode", "eval", "--output-dir", str(run), "--report-to", "none"]
    assert_one_line(train_main.main, argv, "eval-synthetic-test.json already exists", capsys)
    assert report.read_text() == '{"relaxed_accuracy": 0.5}'
    with pytest.raises(Started):
        train_main.main([*argv, "--overwrite"])
