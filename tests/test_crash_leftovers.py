"""What a crashed command leaves is recognised as its own by a mark, so the same command goes on; a user's files
are still refused (trainers/resume.py). And a YAML key named like any flag of an option is that option
(trainers/config_file.py).

Specified here:
- main.py killed, or failed on a full disk, while saving its first checkpoint leaves TRL's model card (README.md)
  beside its run_config.json and part of the checkpoint; the same command is accepted, trains from the start and
  ends with the weights of an uninterrupted run;
- run_config.json is the mark: the same leftovers beside a file of the user's, or a README.md, a model's files or a
  run_config.json of another tool without main.py's run_config.json, are refused without --overwrite;
- a config file may name an option as any of its flags does (``output:`` for ``--output``, ``torch_dtype:``,
  ``no_lora: true``); two keys naming one option are refused in one line.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest
import torch
from bad_input import assert_refused, write
from safetensors.torch import load_file
from transformers import Trainer

import main as train_main
from rlvr.errors import UserError
from trainers.config_parser import parse_run_config

WEIGHTS = "adapter_model.safetensors"
RUN = [
    "--mode", "nsr", "--model", "tiny-text", "--task", "countdown", "--report-to", "none", "--subset-size", "4",
    "--num-generations", "2", "--max-completion-length", "6", "--max-steps", "2", "--save-steps", "1",
]  # fmt: skip
REFUSED = "holds files main.py did not write"


class Killed(BaseException):
    """Stands for SIGKILL: no handler of main.py or the Trainer catches it."""


def fail_while_saving(monkeypatch, folder: Path, failure: BaseException) -> None:
    """The Trainer's save into ``folder`` writes half of the weights file, then ``failure`` stops it."""
    save_model = Trainer.save_model

    def failing_save(trainer, output_dir=None, _internal_call=False):
        save_model(trainer, output_dir, _internal_call)
        if Path(output_dir) == folder:
            data = (folder / WEIGHTS).read_bytes()
            (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
            raise failure

    monkeypatch.setattr(Trainer, "save_model", failing_save)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run."""
    run = tmp_path_factory.mktemp("reference") / "run"
    train_main.main([*RUN, "--output-dir", str(run)])
    return run


@pytest.fixture(scope="module")
def crashed_start(tmp_path_factory) -> Path:
    """A run folder as main.py leaves it when killed while saving its first checkpoint."""
    run = tmp_path_factory.mktemp("crashed") / "run"
    with pytest.MonkeyPatch.context() as patched:
        fail_while_saving(patched, run / "checkpoint-1", Killed())
        with pytest.raises(Killed):
            train_main.main([*RUN, "--output-dir", str(run)])
    return run


@pytest.mark.slow
def test_a_kill_during_the_first_checkpoint_leaves_the_model_card_and_part_of_the_checkpoint(crashed_start):
    names = {path.name for path in crashed_start.iterdir() if not path.name.startswith(".")}
    assert names == {"run_config.json", "README.md", "checkpoint-1"}
    assert not (crashed_start / "checkpoint-1" / "trainer_state.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "failure",
    [Killed(), OSError(errno.ENOSPC, "No space left on device")],
    ids=["killed", "full disk"],
)
def test_the_same_command_goes_on_after_a_crash_in_the_first_checkpoint(failure, reference, tmp_path, monkeypatch):
    run = tmp_path / "run"
    with monkeypatch.context() as patched:
        fail_while_saving(patched, run / "checkpoint-1", failure)
        # A full disk is a traceback or one line (exit 2); either way the run stops where the save failed.
        with pytest.raises((type(failure), SystemExit)):
            train_main.main([*RUN, "--output-dir", str(run)])
    assert (run / "README.md").is_file() and not (run / "finished.json").exists()

    train_main.main([*RUN, "--output-dir", str(run)])
    assert json.loads((run / "finished.json").read_text()) == {"global_step": 2}
    expected, got = load_file(reference / WEIGHTS), load_file(run / WEIGHTS)
    assert expected.keys() == got.keys() and all(torch.equal(expected[name], got[name]) for name in expected)


class ModelLoaded(Exception):
    """Raised in place of loading the data and the model: the command got past every check of its folder."""


@pytest.fixture
def checks_only(monkeypatch):
    def stop(*args, **kwargs):
        raise ModelLoaded

    monkeypatch.setattr(train_main, "run", stop)


@pytest.mark.slow
def test_the_leftovers_alone_are_accepted_but_not_beside_a_file_of_the_users(
    crashed_start, tmp_path, checks_only, capsys
):
    run = tmp_path / "run"
    shutil.copytree(crashed_start, run)
    with pytest.raises(ModelLoaded):
        train_main.main([*RUN, "--output-dir", str(run)])
    write(run / "notes.txt", "mine")
    assert_refused(train_main.main, [*RUN, "--output-dir", str(run)], f"{REFUSED} (notes.txt)", capsys)


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({"README.md": "# my notes\n"}, "README.md"),
        ({"config.json": "{}", WEIGHTS: "x"}, f"{WEIGHTS}, config.json"),
        ({"run_config.json": json.dumps({"learning_rate": 1e-5})}, "run_config.json"),
        ({"run_config.json": "not json", "README.md": "# notes\n"}, "README.md, run_config.json"),
    ],
    ids=["a README.md", "a model's files", "another tool's run_config.json", "an unreadable run_config.json"],
)
def test_files_main_py_writes_are_its_own_only_beside_its_mark(files, named, tmp_path, checks_only, capsys):
    folder = tmp_path / "folder"
    for name, text in files.items():
        write(folder / name, text)
    before = {name: (folder / name).read_text() for name in files}
    assert_refused(train_main.main, [*RUN, "--output-dir", str(folder)], f"{REFUSED} ({named})", capsys)
    assert {name: (folder / name).read_text() for name in files} == before


def test_a_config_key_may_be_any_flag_name_of_an_option(tmp_path):
    keys = "output: out\ntorch_dtype: float32\nno_lora: true\nvlm-name: tiny-text\n"
    config = write(tmp_path / "run.yaml", keys)
    parsed = parse_run_config(["--config", str(config)])
    assert (parsed.output_dir, parsed.dtype, parsed.lora, parsed.model) == ("out", "float32", False, "tiny-text")
    write(config, "no-lora: false\n")
    assert parse_run_config(["--config", str(config)]).lora is True
    write(config, keys + "use_peft: false\n")
    with pytest.raises(UserError, match="'no_lora' and 'use_peft' both set --lora"):
        parse_run_config(["--config", str(config)])


def test_two_keys_naming_one_option_are_refused_in_one_line(tmp_path, capsys):
    config = write(tmp_path / "run.yaml", "output: a\noutput_dir: b\n")
    assert_refused(
        train_main.main,
        ["--config", str(config)],
        f"config file {config}: 'output' and 'output_dir' both set --output; keep one",
        capsys,
    )
