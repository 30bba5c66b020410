"""A trainer_state.json whose values are of the wrong kind (a string, a list, NaN or null where a number is meant)
is refused in one line naming the file and the field: by monitor_training.py before it plots, and by main.py before
it resumes (transformers would build its TrainerState from it). A NaN loss stays a value the monitor shows."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from bad_input import assert_refused, write

import main as train_main
import monitor_training
from trainers.config_parser import parse_run_config
from trainers.micro_batch import with_micro_batch
from trainers.trainer_state import FIELDS

GOOD = {"global_step": 2, "logging_steps": 1, "epoch": 0.5, "log_history": [{"loss": 0.5, "step": 1}]}
BAD_VALUES = {"a string": "5", "a list": [5], "NaN": math.nan, "null": None}


def bad_states() -> list[tuple[dict, str]]:
    """(state, the field its message names) for each bad value in a top-level field and in a log entry."""
    cases = []
    for value in BAD_VALUES.values():
        cases.append(({**GOOD, "global_step": value}, "'global_step' must be"))
        cases.append(({**GOOD, "log_history": [{"loss": 0.5, "step": value}]}, "log_history[0]: 'step' must be"))
        if not (isinstance(value, float) and math.isnan(value)):  # a NaN loss is a diverged run, shown as one
            cases.append(({**GOOD, "log_history": [{"loss": value, "step": 1}]}, "log_history[0]: 'loss' must be"))
    return cases


@pytest.mark.parametrize(("state", "field"), bad_states())
def test_the_monitor_names_the_field_of_the_wrong_kind(state, field, tmp_path, capsys):
    write(tmp_path / "run" / "checkpoint-2" / "trainer_state.json", json.dumps(state))
    argv = ["--checkpoint-dir", str(tmp_path / "run"), "--output", str(tmp_path / "monitor")]
    assert_refused(monitor_training.main, argv, f"checkpoint-2/trainer_state.json: {field}", capsys)
    assert not (tmp_path / "monitor").exists()


def test_a_nan_loss_is_shown_not_refused(tmp_path, capsys):
    state = {**GOOD, "log_history": [{"loss": math.nan, "step": 1}, {"loss": 0.4, "step": 2}]}
    write(tmp_path / "run" / "checkpoint-2" / "trainer_state.json", json.dumps(state))
    monitor_training.main(["--checkpoint-dir", str(tmp_path / "run"), "--output", str(tmp_path / "monitor")])
    assert "loss is NaN or infinite" in (tmp_path / "monitor" / "summary.txt").read_text()


class ModelLoaded(Exception):
    """Raised in place of loading the data and the model: main.py got past every check of its folder."""


@pytest.mark.parametrize(
    ("state", "field"),
    [*bad_states(), ({**GOOD, "unheard_of": 1}, "unknown field 'unheard_of'")],
)
def test_resuming_names_the_field_of_the_wrong_kind(state, field, tmp_path, capsys, monkeypatch):
    def stop(*args, **kwargs):
        raise ModelLoaded

    monkeypatch.setattr(train_main, "run", stop)
    run = tmp_path / "run"
    flags = ["--mode", "nsr", "--output-dir", str(run), "--report-to", "none"]
    config = with_micro_batch(parse_run_config(flags), processes=1, is_multimodal=True)
    write(run / "run_config.json", json.dumps({**config.as_dict(), "segments": []}))
    write(run / "checkpoint-2" / "trainer_state.json", json.dumps(state))
    assert_refused(train_main.main, flags, f"checkpoint-2/trainer_state.json: {field}", capsys)


def test_the_fields_are_those_of_transformers_trainer_state():
    from transformers.trainer_callback import TrainerState

    assert set(FIELDS) == {field.name for field in dataclasses.fields(TrainerState)}


def test_a_state_transformers_writes_passes(tmp_path):
    from transformers.trainer_callback import TrainerState

    from trainers.trainer_state import check_trainer_state

    state = TrainerState(global_step=3, max_steps=4, log_history=[{"loss": 0.1, "step": 3, "epoch": 0.2}])
    state.save_to_json(str(tmp_path / "trainer_state.json"))
    written = json.loads(Path(tmp_path / "trainer_state.json").read_text())
    assert check_trainer_state(written, tmp_path, resuming=True) == written
