"""Bad input at every entry point: one line ``error: ...``, exit code 2, no traceback, nothing written.

Each command is given each kind of bad file it reads (missing, a folder, not UTF-8, malformed JSON, the wrong
schema, nested too deeply, images that are no images or lie outside the dataset) and each bad output path (a
folder, under a file, its own input, an existing file without --overwrite). The in-process cases are fast; one
subprocess case per command checks what a user sees in the terminal. docs/errors.md lists the messages.

The matrix goes on in test_bad_input_outputs.py (paths spelt through missing folders, files a command did not
write, one writer per output), test_bad_input_resume.py (main.py's output folder and resuming),
test_bad_input_early.py (every refusal before torch is imported) and test_bad_input_fuzz.py (random inputs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input import DEEP, assert_refused, png, problem, write

import generate_samples
import main as train_main
import monitor_training
from evaluation import pass_at_k, plotting
from trainers import monitor_log as trainer_monitor_log

REPO_ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------------------------
# Input files every JSON reader meets


def bad_json_file(tmp_path: Path, case: str, good: str) -> tuple[Path, str]:
    """(path, fragment of the expected message) for one kind of bad JSON input; ``good`` is valid but wrong-schema."""
    if case == "missing":
        return tmp_path / "absent.json", "no such"
    if case == "folder":
        (tmp_path / "folder.json").mkdir()
        return tmp_path / "folder.json", "is a folder"
    if case == "not utf-8":
        return write(tmp_path / "latin.json", b'{"a": "\xe9"}'), "cannot read"
    if case == "malformed":
        return write(tmp_path / "torn.json", '{"problems": [1, '), "not valid JSON"
    if case == "wrong schema":
        return write(tmp_path / "other.json", good), "other.json"
    if case == "too deep":
        return write(tmp_path / "deep.json", DEEP), "nested too deeply"
    raise AssertionError(case)


JSON_CASES = ["missing", "folder", "not utf-8", "malformed", "wrong schema", "too deep"]


@pytest.mark.parametrize("case", JSON_CASES)
def test_pass_at_k_refuses_a_bad_samples_file(case, tmp_path, capsys):
    path, fragment = bad_json_file(tmp_path, case, good='{"rows": []}')
    output = tmp_path / "results.json"
    assert_refused(pass_at_k.main, ["--samples-path", str(path), "--output", str(output)], fragment, capsys)
    assert not output.exists()


@pytest.mark.parametrize("case", JSON_CASES)
def test_plotting_refuses_a_bad_results_file(case, tmp_path, capsys):
    path, fragment = bad_json_file(tmp_path, case, good='{"pass_at_k": {}}')
    assert_refused(plotting.main, ["--results", str(path), "--output", str(tmp_path / "plot")], fragment, capsys)
    assert not list(tmp_path.glob("plot*"))


@pytest.mark.parametrize("case", ["malformed", "wrong schema", "too deep", "not utf-8"])
def test_monitor_refuses_a_bad_trainer_state(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_monitor_log.time, "sleep", lambda seconds: None)  # the retry of a half-written file
    path, _ = bad_json_file(tmp_path, case, good='{"global_step": 3}')
    run = tmp_path / "run"
    write(run / "checkpoint-3" / "trainer_state.json", path.read_bytes())
    fragment = {"wrong schema": "no 'log_history' list", "too deep": "nested too deeply"}.get(case, "complete JSON")
    assert_refused(monitor_training.main, ["--checkpoint-dir", str(run)], fragment, capsys)
    assert not (run / "monitor").exists()


def test_monitor_refuses_a_missing_run(tmp_path, capsys):
    assert_refused(monitor_training.main, ["--checkpoint-dir", str(tmp_path / "absent")], "no such folder", capsys)


# ---------------------------------------------------------------------------------------------------------------
# Output paths


@pytest.fixture
def samples(tmp_path) -> Path:
    return write(tmp_path / "samples.json", json.dumps({"problems": [problem(0), problem(1)]}))


def test_pass_at_k_never_writes_over_its_own_samples(samples, capsys):
    before = samples.read_bytes()
    argv = ["--samples-path", str(samples), "--output-path", str(samples), "--overwrite"]
    assert_refused(pass_at_k.main, argv, "is also an input", capsys)
    assert samples.read_bytes() == before


@pytest.mark.parametrize(
    ("output", "fragment"),
    [("existing.json", "already exists; pass --overwrite"), ("a_folder", "is a folder"), ("a_file/x.json", "a file")],
)
def test_pass_at_k_refuses_an_output_it_would_lose_or_cannot_write(output, fragment, samples, tmp_path, capsys):
    write(tmp_path / "existing.json", "{}")
    (tmp_path / "a_folder").mkdir()
    write(tmp_path / "a_file", "x")
    argv = ["--samples-path", str(samples), "--output", str(tmp_path / output), "--n-resamples", "10"]
    assert_refused(pass_at_k.main, argv, fragment, capsys)
    assert (tmp_path / "existing.json").read_text() == "{}"


def test_pass_at_k_replaces_an_existing_results_file_with_overwrite(samples, tmp_path):
    output = write(tmp_path / "existing.json", "{}")
    argv = ["--samples-path", str(samples), "--output", str(output), "--n-resamples", "10", "--overwrite"]
    assert pass_at_k.main(argv) == 0
    assert "pass_at_k" in json.loads(output.read_text())


def test_plotting_refuses_an_output_under_a_file(samples, tmp_path, capsys):
    results = tmp_path / "results.json"
    assert pass_at_k.main(["--samples-path", str(samples), "--output", str(results), "--n-resamples", "10"]) == 0
    write(tmp_path / "a_file", "x")
    argv = ["--results", str(results), "--output", str(tmp_path / "a_file" / "plot")]
    assert_refused(plotting.main, argv, "which is a file", capsys)


def test_monitor_refuses_an_output_that_is_a_file(tmp_path, capsys):
    state = {"global_step": 1, "log_history": [{"loss": 1.0, "step": 1}]}
    write(tmp_path / "run" / "checkpoint-1" / "trainer_state.json", json.dumps(state))
    write(tmp_path / "plots", "x")
    argv = ["--checkpoint-dir", str(tmp_path / "run"), "--output", str(tmp_path / "plots")]
    assert_refused(monitor_training.main, argv, "is a file", capsys)


# ---------------------------------------------------------------------------------------------------------------
# generate_samples.py: everything is refused before the model is loaded, and no progress file is left


def evochart_rows(tmp_path: Path, image: str) -> Path:
    """A local EvoChart file of one row whose image is ``image`` (relative to the file's folder, or absolute)."""
    return write(tmp_path / "data" / "EvoChart-QA.json", json.dumps([{"imgname": image, "query": "q", "label": "7"}]))


@pytest.fixture
def refuse_model_loading(monkeypatch, tiny_vl_path):
    # tiny_vl_path builds the tiny model first, so its one-time build output is not mistaken for error lines.
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr("rlvr.models.checkpoints.load_checkpoint", no_model)  # imported by name when sampling starts


def generate_argv(tmp_path: Path, dataset: Path, *extra: str) -> list[str]:
    return [
        "--checkpoint-path", "tiny", "--dataset-name", "evochart", "--dataset-path", str(dataset),
        "--num-samples", "2", "--output", str(tmp_path / "out" / "samples.json"), *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda tmp: write(tmp / "data" / "c.png", b"not a png"), "not a readable image"),
        (lambda tmp: png(tmp / "elsewhere" / "c.png"), "outside the dataset folder"),
        (lambda tmp: None, "not found"),
    ],
    ids=["not an image", "outside the dataset", "missing"],
)
def test_generate_samples_checks_dataset_images_before_loading_the_model(
    setup, fragment, tmp_path, capsys, refuse_model_loading
):
    setup(tmp_path)
    image = "../elsewhere/c.png" if fragment.startswith("outside") else "c.png"
    assert_refused(generate_samples.main, generate_argv(tmp_path, evochart_rows(tmp_path, image)), fragment, capsys)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_absolute_image_path_outside_the_dataset_is_refused_too(tmp_path, capsys, refuse_model_loading):
    image = png(tmp_path / "elsewhere" / "c.png")
    dataset = evochart_rows(tmp_path, str(image))
    assert_refused(generate_samples.main, generate_argv(tmp_path, dataset), "outside the dataset folder", capsys)


def test_images_outside_the_dataset_load_when_allowed(tmp_path):
    from rlvr.data.local import allow_outside_images
    from rlvr.tasks import get_task

    image = png(tmp_path / "elsewhere" / "c.png")
    dataset_path = evochart_rows(tmp_path, str(image))
    allow_outside_images(True)
    try:
        rows = get_task("chart").load_dataset("evochart", "test", str(dataset_path), None, 0)
    finally:
        allow_outside_images(False)
    assert len(rows) == 1


@pytest.mark.parametrize("case", ["missing", "malformed", "too deep"])
def test_generate_samples_refuses_a_bad_dataset_file(case, tmp_path, capsys, refuse_model_loading):
    path, _ = bad_json_file(tmp_path, case, good="[]")
    fragment = {"missing": "no such file", "malformed": "malformed JSON", "too deep": "nested too deeply"}[case]
    assert_refused(generate_samples.main, generate_argv(tmp_path, path), fragment, capsys)


@pytest.mark.parametrize(
    ("output", "fragment"),
    [("existing.json", "already exists; pass --overwrite"), ("a_folder", "is a folder"), ("a_file/x.json", "a file")],
)
def test_generate_samples_refuses_an_output_it_would_lose(output, fragment, tmp_path, capsys, refuse_model_loading):
    write(tmp_path / "existing.json", '{"from": "another model"}')
    (tmp_path / "a_folder").mkdir()
    write(tmp_path / "a_file", "x")
    argv = ["--checkpoint-path", "tiny", "--max-problems", "1", "--output", str(tmp_path / output)]
    assert_refused(generate_samples.main, argv, fragment, capsys)
    assert (tmp_path / "existing.json").read_text() == '{"from": "another model"}'


# ---------------------------------------------------------------------------------------------------------------
# main.py: the config file, the dataset and the output folder, all before the model is loaded


@pytest.fixture
def refuse_training_model(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr("rlvr.models.registry.load_model", no_model)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("folder", "is a folder"),
        ("mode: [psr\n", "is not valid YAML"),
        ("- psr\n", "must hold a mapping"),
        ("[" * 100_000, "is not valid YAML"),
        ("modes: psr\n", "unknown option 'modes'"),
    ],
    ids=["missing", "folder", "malformed", "a list", "too deep", "wrong schema"],
)
def test_main_refuses_a_bad_config_file(content, fragment, tmp_path, capsys, refuse_training_model):
    path = tmp_path / "run.yaml"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        write(path, content)
    assert_refused(train_main.main, ["--config", str(path), "--output-dir", str(tmp_path / "run")], fragment, capsys)
    assert not (tmp_path / "run").exists()


def test_main_refuses_a_bad_dataset_image(tmp_path, capsys, refuse_training_model):
    write(tmp_path / "data" / "c.png", b"not a png")
    argv = [
        "--dataset-name", "evochart", "--dataset-path", str(evochart_rows(tmp_path, "c.png")),
        "--output-dir", str(tmp_path / "run"), "--report-to", "none",
    ]  # fmt: skip
    assert_refused(train_main.main, argv, "not a readable image", capsys)


@pytest.mark.parametrize(
    ("output_dir", "fragment"), [("a_file", "is a file"), ("a_file/run", "lies under")], ids=["a file", "under"]
)
def test_main_refuses_an_output_folder_that_is_a_file(output_dir, fragment, tmp_path, capsys, refuse_training_model):
    write(tmp_path / "a_file", "x")
    for mode in ("nsr", "eval"):
        argv = ["--mode", mode, "--output-dir", str(tmp_path / output_dir), "--report-to", "none"]
        assert_refused(train_main.main, argv, fragment, capsys)


def existing_run(folder: Path, recorded: dict | str) -> Path:
    """A run folder as main.py leaves it: one complete checkpoint and the run's recorded settings."""
    write(folder / "checkpoint-2" / "trainer_state.json", json.dumps({"global_step": 2, "log_history": []}))
    text = recorded if isinstance(recorded, str) else json.dumps(recorded)
    write(folder / "run_config.json", text)
    return folder


def test_main_refuses_to_resume_another_runs_checkpoint_naming_what_differs(tmp_path, capsys, refuse_training_model):
    from trainers.config_parser import parse_run_config
    from trainers.micro_batch import with_micro_batch

    parsed = parse_run_config(["--mode", "nsr", "--output-dir", str(tmp_path / "run")])
    nsr = with_micro_batch(parsed, processes=1, is_multimodal=True).as_dict()  # as main.py records it
    run = existing_run(tmp_path / "run", nsr)
    argv = ["--mode", "psr", "--output-dir", str(run), "--lambda-psr", "0.5", "--report-to", "none"]
    assert_refused(train_main.main, argv, "holds another run (mode nsr -> psr, lambda_psr 0.1 -> 0.5)", capsys)
    assert json.loads((run / "run_config.json").read_text())["mode"] == "nsr"


@pytest.mark.parametrize(
    ("recorded", "fragment"), [("{torn", "not valid JSON"), ("[1]", "not a run configuration")], ids=str
)
def test_main_refuses_a_malformed_run_config(recorded, fragment, tmp_path, capsys, refuse_training_model):
    run = existing_run(tmp_path / "run", recorded)
    assert_refused(train_main.main, ["--output-dir", str(run), "--report-to", "none"], fragment, capsys)


def test_main_refuses_checkpoints_without_a_run_config(tmp_path, capsys, refuse_training_model):
    run = existing_run(tmp_path / "run", "{}")
    (run / "run_config.json").unlink()
    assert_refused(train_main.main, ["--output-dir", str(run)], "no run_config.json", capsys)


# ---------------------------------------------------------------------------------------------------------------
# What a user sees: a subprocess per command, stderr one line, no traceback


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "argv"),
    [
        ("main.py", ["--config", "{tmp}/absent.yaml"]),
        ("generate_samples.py", ["--checkpoint-path", "tiny", "--output", "{tmp}"]),
        ("evaluation/pass_at_k.py", ["--samples-path", "{tmp}/deep.json"]),
        ("evaluation/plotting.py", ["--results", "{tmp}/deep.json"]),
        ("monitor_training.py", ["--checkpoint-dir", "{tmp}/absent"]),
    ],
)
def test_each_command_prints_one_line_and_no_traceback(script, argv, tmp_path):
    write(tmp_path / "deep.json", DEEP)
    command = [sys.executable, str(REPO_ROOT / script), *(arg.format(tmp=tmp_path) for arg in argv)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
