"""main.py's output folder: a resumed run may change only the settings that do not change what is trained, a
--no-resume never discards a run without --overwrite, a folder of other files is not written into unasked, a start
that failed before its first checkpoint blocks nothing, and one main.py writes a folder at a time.

All of it is decided before the data and the model are loaded: the fixture stops a command that gets past the
checks there. docs/errors.md lists the messages; trainers/run_record.py lists the settings that may change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_input import assert_refused, write

import main as train_main
from rlvr.locks import OutputLock
from trainers.config_parser import parse_run_config
from trainers.micro_batch import with_micro_batch
from trainers.resume import LOCK_FILE
from trainers.run_record import SAFE_TO_CHANGE


class ModelLoaded(Exception):
    """Raised in place of loading the data and the model: the command got past every check of its folder."""


@pytest.fixture(autouse=True)
def stop_after_the_checks(monkeypatch):
    def stop(*args, **kwargs):
        raise ModelLoaded

    monkeypatch.setattr(train_main, "run", stop)


def existing_run(folder: Path, *flags: str) -> Path:
    """A run folder as main.py leaves it after its first checkpoint, started with ``flags``."""
    parsed = parse_run_config(["--mode", "nsr", "--output-dir", str(folder), "--report-to", "none", *flags])
    config = with_micro_batch(parsed, processes=1, is_multimodal=True)  # recorded as main.py resolves it
    write(folder / "checkpoint-2" / "trainer_state.json", json.dumps({"global_step": 2, "log_history": []}))
    write(folder / "run_config.json", json.dumps({**config.as_dict(), "segments": []}))
    return folder


def argv_for(run: Path, *flags: str) -> list[str]:
    return ["--mode", "nsr", "--output-dir", str(run), "--report-to", "none", *flags]


@pytest.mark.parametrize(
    ("flags", "difference"),
    [
        (["--learning-rate", "2e-5"], "learning_rate 1e-05 -> 2e-05"),
        (["--seed", "7"], "seed 2025 -> 7"),
        (["--subset-size", "16"], "subset_size unset -> 16"),
        (["--num-generations", "2"], "num_generations 4 -> 2"),
        (["--temperature", "0.7"], "temperature 1.0 -> 0.7"),
        (["--max-completion-length", "64"], "max_completion_length 768 -> 64"),
        (["--lora-rank", "16"], "lora_rank 8 -> 16"),
        (["--epsilon", "0.3"], "epsilon 0.2 -> 0.3"),
        (["--batch-size", "4"], "batch_size 2 -> 4"),
        (["--num-iterations", "2"], "num_iterations 1 -> 2"),
        (["--max-steps", "1"], "max_steps 3 -> 1 (it may only be raised)"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_resuming_under_a_setting_that_changes_training_is_refused(flags, difference, tmp_path, capsys):
    run = existing_run(tmp_path / "run", "--max-steps", "3")
    before = (run / "run_config.json").read_text()
    argv = argv_for(run, "--max-steps", "3", *flags) if "--max-steps" not in flags else argv_for(run, *flags)
    assert_refused(train_main.main, argv, f"holds another run ({difference}); resume it with its settings", capsys)
    assert (run / "run_config.json").read_text() == before


def test_every_difference_is_named(tmp_path, capsys):
    run = existing_run(tmp_path / "run")
    argv = argv_for(run, "--learning-rate", "2e-5", "--seed", "7")
    assert_refused(train_main.main, argv, "(seed 2025 -> 7, learning_rate 1e-05 -> 2e-05)", capsys)


def test_safe_settings_may_change_on_resume(tmp_path):
    run = existing_run(tmp_path / "run", "--max-steps", "3")
    flags = ["--max-steps", "6", "--save-steps", "7", "--logging-steps", "1", "--report-to", "tensorboard"]
    with pytest.raises(ModelLoaded):
        train_main.main(argv_for(run, *flags))
    assert {"max_steps", "save_steps", "logging_steps", "report_to", "num_epochs"} <= set(SAFE_TO_CHANGE)


def test_no_resume_over_a_run_needs_overwrite(tmp_path, capsys):
    run = existing_run(tmp_path / "run")
    assert_refused(train_main.main, argv_for(run, "--no-resume"), "--no-resume would discard it", capsys)
    assert (run / "checkpoint-2").is_dir()
    with pytest.raises(ModelLoaded):
        train_main.main(argv_for(run, "--no-resume", "--overwrite"))
    assert (run / "checkpoint-2").is_dir()  # discarded only once the new run has loaded its model


def test_a_folder_of_other_files_needs_overwrite(tmp_path, capsys):
    notes = write(tmp_path / "mine" / "notes.txt", "mine")
    assert_refused(
        train_main.main, argv_for(tmp_path / "mine"), "holds files main.py did not write (notes.txt)", capsys
    )
    with pytest.raises(ModelLoaded):
        train_main.main(argv_for(tmp_path / "mine", "--overwrite"))
    assert notes.read_text() == "mine"


def test_an_input_is_never_the_output_folder(tmp_path, capsys):
    dataset = write(tmp_path / "data" / "config.json", "[]")
    argv = [*argv_for(tmp_path / "data", "--overwrite"), "--dataset-name", "evochart", "--dataset-path", str(dataset)]
    assert_refused(train_main.main, argv, f"would replace the input {dataset}", capsys)


def test_a_start_that_failed_before_its_first_checkpoint_blocks_nothing(tmp_path):
    run = existing_run(tmp_path / "run", "--learning-rate", "1")
    (run / "checkpoint-2" / "trainer_state.json").unlink()
    (run / "checkpoint-2").rmdir()
    write(run / LOCK_FILE, "12345\n")  # left by a killed start; its flock went with the process
    write(run / "runs" / "Nov30_00-00-00_host" / "events.out.tfevents.1", b"")  # tensorboard's, at train start
    with pytest.raises(ModelLoaded):
        train_main.main(argv_for(run))


def test_a_second_main_on_the_same_folder_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    with OutputLock(run / LOCK_FILE, "run"):
        assert_refused(train_main.main, argv_for(run), "is being written by another running command", capsys)
