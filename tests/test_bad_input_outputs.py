"""No command replaces a file it did not write: outputs are checked on the path as the file system will see it
(``newdir/../x`` is ``x``), an output never equals an input or replaces a file inside an input folder, views
(plots, the monitor's summary) replace only their own earlier versions, and one output has one writer at a time.

The matrix continues tests/test_bad_input.py; docs/errors.md lists the messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input import assert_refused, problem, write

import generate_samples
import monitor_training
from evaluation import merge_samples, pass_at_k, plotting
from evaluation.progress import SamplingSettings, read_progress
from rlvr.errors import UserError
from rlvr.locks import OutputLock

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def samples(tmp_path) -> Path:
    return write(tmp_path / "good.json", json.dumps({"problems": [problem(0), problem(1)]}))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Relative paths resolve under tmp_path, as a user's do under their working folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_pass_at_k_refuses_its_input_spelt_through_a_missing_folder(samples, in_tmp, capsys):
    before = samples.read_bytes()
    argv = ["--samples-path", "good.json", "--output-path", "newdir/../good.json", "--n-resamples", "10"]
    assert_refused(pass_at_k.main, argv, "is also an input", capsys)
    assert samples.read_bytes() == before
    assert not (in_tmp / "newdir").exists()


def test_pass_at_k_writes_to_the_normalised_path(samples, in_tmp):
    assert (
        pass_at_k.main(["--samples-path", "good.json", "--output", "newdir/../results.json", "--n-resamples", "5"])
        == 0
    )
    assert "pass_at_k" in json.loads((in_tmp / "results.json").read_text())
    assert not (in_tmp / "newdir").exists()


@pytest.fixture
def refuse_model_loading(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr("rlvr.models.checkpoints.load_checkpoint", no_model)


def test_generate_samples_refuses_its_dataset_spelt_through_a_missing_folder(in_tmp, capsys, refuse_model_loading):
    dataset = write(in_tmp / "ds" / "ok2.json", json.dumps([{"imgname": "c.png", "query": "q", "label": "7"}]))
    before = dataset.read_bytes()
    argv = [
        "--checkpoint-path", "tiny", "--dataset-name", "evochart", "--dataset-path", "ds/ok2.json",
        "--output", "ds/newdir/../ok2.json", "--overwrite",
    ]  # fmt: skip
    assert_refused(generate_samples.main, argv, "is also an input", capsys)
    assert dataset.read_bytes() == before


def test_generate_samples_never_replaces_a_file_of_the_checkpoint_folder(tmp_path, capsys, refuse_model_loading):
    checkpoint = tmp_path / "my-model"
    config = write(checkpoint / "config.json", '{"model_type": "qwen2"}')
    argv = ["--checkpoint-path", str(checkpoint), "--output", str(config), "--overwrite"]
    assert_refused(generate_samples.main, argv, "would replace a file of the input folder", capsys)
    assert config.read_text() == '{"model_type": "qwen2"}'


def results_file(samples: Path, tmp_path: Path) -> Path:
    results = tmp_path / "results.json"
    assert pass_at_k.main(["--samples-path", str(samples), "--output", str(results), "--n-resamples", "10"]) == 0
    return results


def test_plotting_refuses_to_replace_a_png_it_did_not_draw(samples, tmp_path, capsys):
    results = results_file(samples, tmp_path)
    unrelated = write(tmp_path / "fig.png", b"a figure from elsewhere")
    argv = ["--results", str(results), "--output", str(tmp_path / "fig.pdf")]
    assert_refused(plotting.main, argv, "fig.png was not written by evaluation/plotting.py; pass --overwrite", capsys)
    assert unrelated.read_bytes() == b"a figure from elsewhere"
    assert not (tmp_path / "fig.pdf").exists()
    assert plotting.main([*argv, "--overwrite"]) == 0
    assert plotting.main(argv) == 0  # its own figures are redrawn without --overwrite


def test_monitor_refuses_to_replace_a_summary_it_did_not_write(tmp_path, in_tmp, capsys):
    state = {"global_step": 1, "log_history": [{"loss": 1.0, "step": 1}]}
    write(tmp_path / "run" / "checkpoint-1" / "trainer_state.json", json.dumps(state))
    notes = write(tmp_path / "summary.txt", "my notes")
    argv = ["--checkpoint-dir", "run", "--output-dir", "."]
    assert_refused(monitor_training.main, argv, "summary.txt was not written by monitor_training.py", capsys)
    assert notes.read_text() == "my notes"
    assert not (tmp_path / "training_loss.png").exists()  # nothing is written when one file is refused
    assert monitor_training.main([*argv, "--overwrite"]) == 0
    assert monitor_training.main(argv) == 0
    assert "training_loss.png" in capsys.readouterr().out


def test_monitor_refuses_to_replace_a_plot_it_did_not_draw(tmp_path, capsys):
    state = {"global_step": 1, "log_history": [{"loss": 1.0, "step": 1}]}
    write(tmp_path / "run" / "checkpoint-1" / "trainer_state.json", json.dumps(state))
    plot = write(tmp_path / "run" / "monitor" / "training_loss.png", b"mine")
    assert_refused(monitor_training.main, ["--checkpoint-dir", str(tmp_path / "run")], "training_loss.png", capsys)
    assert plot.read_bytes() == b"mine"


def test_merge_samples_refuses_a_shard_as_output_and_an_unrelated_file(samples, in_tmp, capsys):
    before = samples.read_bytes()
    argv = ["good.json", "--output-path", "newdir/../good.json", "--overwrite"]
    assert_refused(merge_samples.main, argv, "is also an input", capsys)
    unrelated = write(in_tmp / "merged.json", "mine")
    assert_refused(merge_samples.main, ["good.json", "--output-path", "merged.json"], "already exists", capsys)
    assert samples.read_bytes() == before and unrelated.read_text() == "mine"


# ---------------------------------------------------------------------------------------------------------------
# One writer per output, and a failed start that blocks nothing


def test_a_second_generate_samples_on_the_same_output_is_refused(tmp_path, capsys, refuse_model_loading):
    output = tmp_path / "samples.json"
    with OutputLock(output.with_name("samples.json.lock"), "samples.json"):
        argv = ["--checkpoint-path", "tiny", "--max-problems", "1", "--output", str(output)]
        assert_refused(generate_samples.main, argv, "is being written by another running command", capsys)


def test_a_killed_holder_leaves_no_stuck_lock(tmp_path):
    lock_path = tmp_path / "out.json.lock"
    holder = (
        "import os, signal, sys; from pathlib import Path; from rlvr.locks import OutputLock; "
        f"lock = OutputLock(Path({str(lock_path)!r}), 'out').__enter__(); print('held', flush=True); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    killed = subprocess.run([sys.executable, "-c", holder], capture_output=True, text=True, env=env, timeout=60)
    assert killed.returncode == -signal.SIGKILL and "held" in killed.stdout
    assert lock_path.exists()  # the file stays, but the kernel released the lock with the process
    with OutputLock(lock_path, "out"), pytest.raises(UserError, match="is being written by another running command"):
        OutputLock(lock_path, "out").__enter__()
    assert not lock_path.exists()


def settings(**changes) -> SamplingSettings:
    values = dict(checkpoint="tiny", task="chart", dataset="synthetic", dataset_path=None, split="test")
    values |= dict(max_problems=1, prompt_style="structured", num_samples=2, temperature=1.0, top_p=0.95)
    values |= dict(max_new_tokens=8, seed=1, reward_threshold=0.5)
    return SamplingSettings(**(values | changes))


def progress_file(path: Path, recorded: SamplingSettings, *records: dict) -> Path:
    lines = [{"format": "rlvr generate_samples progress 1", "settings": recorded.as_dict()}, *records]
    return write(path, "".join(json.dumps(line) + "\n" for line in lines))


def test_a_start_that_failed_before_any_problem_does_not_block_the_corrected_command(tmp_path):
    path = progress_file(tmp_path / "samples.json.partial.jsonl", settings(checkpoint="typo-model"))
    assert read_progress(path, settings()) is None


def test_a_started_run_with_other_settings_still_refuses(tmp_path):
    record = {"problem_id": 0, "num_correct": 1, "num_total": 2}
    path = progress_file(tmp_path / "samples.json.partial.jsonl", settings(seed=2), record)
    with pytest.raises(UserError, match="was started with other settings"):
        read_progress(path, settings())
