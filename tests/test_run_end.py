"""The end of a training run is atomic (trainers/run_end.py).

Specified here, on real main.py runs of the tiny text model (marked slow: each test trains; in this process, a kill
simulated by making the Trainer's save stop part way through, after it wrote part of the files):
- a run killed while its final model is written, or just after its last checkpoint, is finished by the same
  command without training a step more: its final weights are those of an uninterrupted run, whether the run ends
  at --max-steps or after --num-epochs, and the last step falls inside an epoch (where the Trainer, resumed, would
  take one step more);
- finished.json is written after the final model, and records the run's last step, never one past it;
- the same command on a finished run says so in one line and stops before it loads anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import Trainer

import main as train_main

WEIGHTS = "adapter_model.safetensors"
# Six problems are three steps of four completions: step 4 falls inside the second epoch.
RUN = [
    "--mode", "nsr", "--model", "tiny-text", "--task", "countdown", "--report-to", "none", "--subset-size", "6",
    "--num-generations", "2", "--max-completion-length", "6", "--save-steps", "2", "--save-total-limit", "1",
]  # fmt: skip
ENDS = {"--max-steps 4": ["--max-steps", "4"], "--num-epochs 1.5": ["--max-steps", "-1", "--num-epochs", "1.5"]}
LAST_STEP = {"--max-steps 4": 4, "--num-epochs 1.5": 5}  # 1.5 epochs of three steps: five steps


class Killed(BaseException):
    """Stands for SIGKILL: no handler of main.py or the Trainer catches it."""


def run_main(output_dir: Path, end: str) -> None:
    train_main.main([*RUN, *ENDS[end], "--output-dir", str(output_dir)])


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / WEIGHTS)


def kill_while_saving_into(monkeypatch, folder: Path, write_part: bool) -> None:
    """The Trainer's next save into ``folder`` stops there: after writing half of the weights file, or at once."""
    save_model = Trainer.save_model

    def killed_save(trainer, output_dir=None, _internal_call=False):
        if Path(output_dir) != folder:
            return save_model(trainer, output_dir, _internal_call)
        if write_part:
            save_model(trainer, output_dir, _internal_call)
            data = (folder / WEIGHTS).read_bytes()
            (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
        raise Killed

    monkeypatch.setattr(Trainer, "save_model", killed_save)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, Path]:
    """One uninterrupted run folder per way of ending, trained on first use."""
    runs: dict[str, Path] = {}

    def get(end: str) -> Path:
        if end not in runs:
            runs[end] = tmp_path_factory.mktemp("uninterrupted") / "run"
            run_main(runs[end], end)
        return runs[end]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("end", "write_part"),
    [("--max-steps 4", True), ("--max-steps 4", False), ("--num-epochs 1.5", True)],
    ids=[
        "max-steps, killed mid final model",
        "max-steps, killed after the last checkpoint",
        "epochs, mid final model",
    ],
)
def test_a_run_killed_at_its_end_is_finished_by_the_same_command_without_another_step(
    end, write_part, uninterrupted, tmp_path, monkeypatch, capsys
):
    last = LAST_STEP[end]
    reference = uninterrupted(end)
    run = tmp_path / "run"
    with monkeypatch.context() as patched:
        kill_while_saving_into(patched, run, write_part)
        with pytest.raises(Killed):
            run_main(run, end)
    assert not (run / "finished.json").exists()
    assert [path.name for path in run.glob("checkpoint-*")] == [f"checkpoint-{last}"]
    capsys.readouterr()

    run_main(run, end)
    assert f"checkpoint-{last} is at the run's last step, {last}: nothing to train" in capsys.readouterr().out
    assert json.loads((run / "finished.json").read_text()) == {"global_step": last}
    assert [path.name for path in run.glob("checkpoint-*")] == [f"checkpoint-{last}"]
    expected, got = weights(reference), weights(run)
    assert expected.keys() == got.keys() and all(torch.equal(expected[name], got[name]) for name in expected)


@pytest.mark.slow
def test_finished_json_comes_after_the_final_model_and_names_the_last_step(uninterrupted):
    run = uninterrupted("--max-steps 4")
    finished = run / "finished.json"
    assert json.loads(finished.read_text()) == {"global_step": 4}
    written_before = [path for path in run.iterdir() if path.is_file() and path != finished]
    assert {WEIGHTS, "adapter_config.json", "tokenizer_config.json"} <= {path.name for path in written_before}
    assert all(path.stat().st_mtime_ns <= finished.stat().st_mtime_ns for path in written_before)


@pytest.mark.slow
def test_the_same_command_on_a_finished_run_stops_at_once_in_one_line(uninterrupted, monkeypatch, capsys):
    run = uninterrupted("--max-steps 4")
    before = {path: path.stat().st_mtime_ns for path in run.rglob("*")}

    def load_nothing(*args, **kwargs):
        raise AssertionError("a finished run loaded its data or model")

    monkeypatch.setattr(train_main, "run", load_nothing)
    run_main(run, "--max-steps 4")
    assert capsys.readouterr().out.splitlines() == [
        f"{run} holds this run, finished at step 4; nothing to train (raise --max-steps to train on, or --no-resume "
        "--overwrite to start over)"
    ]
    assert {path: path.stat().st_mtime_ns for path in run.rglob("*")} == before
