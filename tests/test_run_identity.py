"""A run's identity: every samples, counts and results file, compare.py's output and run_config.json record which
model (its folder's step and a fingerprint of its weights) and which dataset rows (a hash of the rows used) made
them, and what is put together from two of them is checked:

- a killed generate_samples.py run is resumed only on the same model weights and the same dataset rows;
- merge_samples.py merges only shards of one model and one set of rows;
- pass_at_k.py --baseline and compare.py put files in one table with a difference column only when they evaluate
  one task, dataset and split on the same rows;
- main.py resumes a run only on the rows it was trained on, and --mode dpo takes --preference-data only on the rows
  it was drawn on.

Each refusal is one line and exit code 2; the same identity is accepted, and a file written before identities were
recorded is read with that part unchecked. On the tiny text model and the countdown task, on the CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

import generate_samples
import main as main_script
from evaluation import compare, merge_samples, pass_at_k, sampling
from evaluation.preference_samples import load_preference_file
from evaluation.progress import PROGRESS_FORMAT, progress_path_for
from rlvr.run_identity import model_step, rows_hash, weights_fingerprint
from rlvr.tasks import get_task
from trainers.config_parser import parse_run_config
from trainers.micro_batch import with_micro_batch
from trainers.run_data import load_run_dataset
from trainers.run_record import RUN_CONFIG_FILE, check_same_rows, read_run_record, write_run_record

IDENTITY_KEYS = {"checkpoint", "model_step", "model_fingerprint", "task", "dataset", "split", "data_hash"}
ROWS = [{"nums": [1, 2, 3], "target": 6}, {"nums": [4, 5], "target": 9}, {"nums": [2, 7], "target": 14}]
SAMPLING = ["--task", "countdown", "--num-samples", "2", "--max-new-tokens", "4", "--batch-size", "2"]


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def make_checkpoint(source: Path, folder: Path, step: int) -> Path:
    """A checkpoint-N folder of the tiny model: its files and a trainer_state.json at ``step``."""
    shutil.copytree(source, folder)
    write_json(folder / "trainer_state.json", {"global_step": step})
    return folder


def train_further(checkpoint: Path) -> None:
    """What training on does to a checkpoint folder: every weight moves, and the step grows."""
    weights = load_file(checkpoint / "model.safetensors")
    save_file({name: tensor + 0.01 for name, tensor in weights.items()}, checkpoint / "model.safetensors")
    write_json(checkpoint / "trainer_state.json", {"global_step": model_step(checkpoint) + 4})


def sample_argv(checkpoint: Path, dataset: Path, output: Path, *extra: str) -> list[str]:
    return ["--checkpoint-path", str(checkpoint), "--dataset-path", str(dataset), *SAMPLING, "--output", str(output),
            *extra]  # fmt: skip


def refusal(capsys, command, argv: list[str]) -> str:
    """The one error line of a refused command (exit code 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        command(argv)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def sampled(tiny_text_path, tmp_path_factory) -> dict[str, Path]:
    """One evaluation run in every form: two shards, their merge, a counts file, and a results file."""
    folder = tmp_path_factory.mktemp("identity")
    checkpoint = make_checkpoint(tiny_text_path, folder / "checkpoint-3", step=3)
    dataset = write_json(folder / "rows.json", ROWS)
    files = {"checkpoint": checkpoint, "dataset": dataset}
    for index in (0, 1):
        files[f"shard{index}"] = folder / f"samples.shard{index}.json"
        shard = ["--num-shards", "2", "--shard-index", str(index)]
        assert generate_samples.main(sample_argv(checkpoint, dataset, files[f"shard{index}"], *shard)) == 0
    files["merged"] = folder / "samples.json"
    assert merge_samples.main([str(files["shard0"]), str(files["shard1"]), "--output-path", str(files["merged"])]) == 0
    files["counts"] = folder / "counts.jsonl"
    assert generate_samples.main(sample_argv(checkpoint, dataset, files["counts"])) == 0
    files["results"] = folder / "results.json"
    assert pass_at_k.main(["--samples-path", str(files["merged"]), "--output", str(files["results"])]) == 0
    return files


def counts_metadata(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])["metadata"]


# ---------------------------------------------------------------------------------------------------------------
# Recorded in every file


def test_every_file_records_the_model_and_the_rows(sampled, tmp_path):
    expected = {
        "checkpoint": str(sampled["checkpoint"].resolve()),
        "model_step": 3,
        "model_fingerprint": weights_fingerprint(sampled["checkpoint"]),
        "task": "countdown",
        "split": "test",
    }
    shard0 = read_json(sampled["shard0"])["metadata"]
    assert expected.items() <= shard0.items() and len(shard0["data_hash"]) == 16
    generation = read_json(sampled["results"])["metadata"]["generation"]
    documents = {
        "shard 1": read_json(sampled["shard1"])["metadata"],
        "merged": read_json(sampled["merged"])["metadata"],
        "counts": counts_metadata(sampled["counts"]),
        "results": generation,
    }
    for name, metadata in documents.items():
        assert {key: metadata[key] for key in IDENTITY_KEYS} == {key: shard0[key] for key in IDENTITY_KEYS}, name

    output = tmp_path / "diff.json"
    argv = ["--samples-paths", str(sampled["merged"]), str(sampled["counts"]), "--labels", "A", "B"]
    assert compare.main([*argv, "--output", str(output)]) == 0
    recorded = read_json(output)["metadata"]["identity"]
    assert recorded[str(sampled["counts"])] == {key: shard0[key] for key in IDENTITY_KEYS}


def test_a_progress_file_records_the_identity_it_is_checked_by(sampled, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sampling, "sample_problems", interrupted)
    output = tmp_path / "s.json"
    argv = sample_argv(sampled["checkpoint"], sampled["dataset"], output)
    assert generate_samples.main(argv) == generate_samples.INTERRUPTED_EXIT_CODE
    header = json.loads(progress_path_for(output).read_text(encoding="utf-8").splitlines()[0])
    merged = read_json(sampled["merged"])["metadata"]
    assert {key: header["settings"][key] for key in IDENTITY_KEYS} == {key: merged[key] for key in IDENTITY_KEYS}


def test_the_weights_fingerprint_follows_the_weights_not_the_folder(tiny_text_path, tmp_path):
    first = make_checkpoint(tiny_text_path, tmp_path / "a" / "checkpoint-3", step=3)
    copy = make_checkpoint(tiny_text_path, tmp_path / "b" / "checkpoint-3", step=3)
    assert weights_fingerprint(first) == weights_fingerprint(copy)
    train_further(copy)
    assert weights_fingerprint(first) != weights_fingerprint(copy) and model_step(copy) == 7
    assert weights_fingerprint("tiny-text") is None  # a name is its own identity


def test_the_rows_hash_follows_the_rows_in_order():
    task = get_task("countdown")
    rows = task.load_dataset("synthetic", split="test", path=None, subset_size=8, seed=1)
    assert rows_hash(rows) == rows_hash(rows.select(range(8)))
    assert rows_hash(rows) != rows_hash(rows.select([1, 0, *range(2, 8)]))
    assert rows_hash(rows) != rows_hash(rows.select(range(7)))


# ---------------------------------------------------------------------------------------------------------------
# generate_samples.py resumes only the same model on the same rows


def killed_run(sampled: dict[str, Path], output: Path) -> tuple[Path, Path]:
    """What a run killed after its first problem leaves: the progress file of the merged run's settings, on copies
    of its checkpoint and dataset (returned) that a test may then change."""
    checkpoint = make_checkpoint(sampled["checkpoint"], output.parent / "run" / "checkpoint-3", step=3)
    dataset = Path(shutil.copy(sampled["dataset"], output.parent / "rows.json"))
    merged = read_json(sampled["merged"])
    settings = {key: value for key, value in merged["metadata"].items() if key not in ("num_problems", "date")}
    settings.update(checkpoint=str(checkpoint.resolve()), dataset_path=str(dataset.resolve()))
    lines = [{"format": PROGRESS_FORMAT, "settings": settings}, merged["problems"][0]]
    progress_path_for(output).write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return checkpoint, dataset


def test_a_killed_run_goes_on_with_the_same_model_and_rows(sampled, tmp_path, capsys):
    output = tmp_path / "s.json"
    checkpoint, dataset = killed_run(sampled, output)
    capsys.readouterr()
    assert generate_samples.main(sample_argv(checkpoint, dataset, output)) == 0
    assert "1 of 3 problems done" in capsys.readouterr().out
    assert read_json(output)["problems"] == read_json(sampled["merged"])["problems"]


def test_a_killed_run_is_not_continued_after_the_checkpoint_trained_further(sampled, tmp_path, capsys):
    output = tmp_path / "s.json"
    checkpoint, dataset = killed_run(sampled, output)
    before = progress_path_for(output).read_bytes()
    train_further(checkpoint)
    line = refusal(capsys, generate_samples.main, sample_argv(checkpoint, dataset, output))
    assert "was sampled from another model (step 3, weights" in line and "step 7, weights" in line
    assert progress_path_for(output).read_bytes() == before and not output.exists()


def test_a_killed_run_is_not_continued_after_the_dataset_was_rewritten(sampled, tmp_path, capsys):
    output = tmp_path / "s.json"
    checkpoint, dataset = killed_run(sampled, output)
    write_json(dataset, [ROWS[0], {"nums": [4, 5], "target": 20}, ROWS[2]])
    line = refusal(capsys, generate_samples.main, sample_argv(checkpoint, dataset, output))
    assert "was sampled from other dataset rows" in line and "the dataset changed since" in line
    assert not output.exists()


def test_a_progress_file_older_than_identities_is_continued_unchecked(sampled, tmp_path, capsys):
    output = tmp_path / "s.json"
    checkpoint, dataset = killed_run(sampled, output)
    lines = progress_path_for(output).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    for key in ("model_step", "model_fingerprint", "data_hash"):
        del header["settings"][key]
    progress_path_for(output).write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert generate_samples.main(sample_argv(checkpoint, dataset, output)) == 0
    assert "does not record the model weights or the dataset rows" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------
# merge_samples.py merges shards of one model and one set of rows


def shard_with(sampled: dict[str, Path], folder: Path, **changes: object) -> Path:
    """Shard 1 as it would be had it been sampled with these identity fields (None: a file older than them)."""
    document = read_json(sampled["shard1"])
    for key, value in changes.items():
        if value is None:
            del document["metadata"][key]
        else:
            document["metadata"][key] = value
    return write_json(folder / "samples.shard1.json", document)


def test_merge_refuses_shards_of_two_models(sampled, tmp_path, capsys):
    shard1 = shard_with(sampled, tmp_path, model_step=7, model_fingerprint="0123456789abcdef")
    argv = [str(sampled["shard0"]), str(shard1), "--output-path", str(tmp_path / "m.json")]
    line = refusal(capsys, merge_samples.main, argv)
    assert f"{shard1} was sampled from another model than {sampled['shard0']}" in line
    assert "step 7, weights 0123456789abcdef against step 3" in line and not (tmp_path / "m.json").exists()


def test_merge_refuses_shards_of_two_versions_of_the_dataset(sampled, tmp_path, capsys):
    shard1 = shard_with(sampled, tmp_path, data_hash="0123456789abcdef")
    line = refusal(capsys, merge_samples.main, [str(sampled["shard0"]), str(shard1), "--output-path", "m.json"])
    assert "was sampled from other dataset rows than" in line and "rows 0123456789abcdef against" in line


def test_merge_keeps_an_identity_only_where_every_shard_records_it(sampled, tmp_path):
    shard1 = shard_with(sampled, tmp_path, data_hash=None)
    output = tmp_path / "m.json"
    assert merge_samples.main([str(sampled["shard0"]), str(shard1), "--output-path", str(output)]) == 0
    metadata = read_json(output)["metadata"]
    assert metadata["data_hash"] is None and metadata["model_step"] == 3


# ---------------------------------------------------------------------------------------------------------------
# pass_at_k.py --baseline and compare.py: one task, dataset, split and set of rows per table


def chart_samples(path: Path) -> Path:
    """A chart task's samples file, as generate_samples.py writes one (its problems' ids overlap countdown's)."""
    problem = {"question": "q", "answer": "1", "samples": ["a", "b"], "correct": [True, False], "num_correct": 1,
               "num_total": 2}  # fmt: skip
    metadata = {"task": "chart", "dataset": "synthetic", "split": "test", "data_hash": "00000000aaaaaaaa"}
    return write_json(path, {"metadata": metadata, "problems": [{**problem, "problem_id": i} for i in range(3)]})


def test_pass_at_k_puts_no_two_tasks_against_each_other(sampled, tmp_path, capsys):
    chart = chart_samples(tmp_path / "samples_chart.json")
    chart_results = tmp_path / "results_chart.json"
    assert pass_at_k.main(["--samples-path", str(chart), "--output", str(chart_results)]) == 0
    merged = str(sampled["merged"])

    line = refusal(capsys, pass_at_k.main, ["--samples-path", merged, "--baseline", str(chart_results)])
    assert f"{merged} evaluates task 'countdown' but --baseline {chart_results} evaluates task 'chart'" in line
    line = refusal(capsys, pass_at_k.main, ["--samples-path", str(chart), merged, "--baseline", "chart"])
    assert "evaluates task 'countdown' but" in line and "compare files of one task, dataset and split" in line
    # Side by side without a difference column, and a baseline of the same evaluation, are taken.
    assert pass_at_k.main(["--samples-path", str(chart), merged]) == 0
    assert pass_at_k.main(["--samples-path", merged, "--baseline", str(sampled["results"])]) == 0


def test_pass_at_k_and_compare_put_no_two_versions_of_the_rows_against_each_other(sampled, tmp_path, capsys):
    other_rows = read_json(sampled["merged"])
    other_rows["metadata"]["data_hash"] = "0123456789abcdef"
    other = write_json(tmp_path / "samples_other.json", other_rows)
    merged = str(sampled["merged"])

    line = refusal(capsys, pass_at_k.main, ["--samples-path", merged, str(other), "--baseline", "samples"])
    assert f"{other} was sampled from other rows than {merged}" in line
    line = refusal(capsys, compare.main, ["--samples-paths", merged, str(other), "--labels", "A", "B"])
    assert f"{other} was sampled from other rows than {merged}" in line
    line = refusal(capsys, compare.main, ["--samples-paths", merged, str(chart_samples(tmp_path / "c.json"))])
    assert "evaluates task 'chart' but" in line


def test_files_older_than_identities_are_compared_unchecked(sampled, tmp_path):
    old = read_json(sampled["merged"])
    for key in ("model_step", "model_fingerprint", "data_hash"):
        del old["metadata"][key]
    old_path = write_json(tmp_path / "samples_old.json", old)
    argv = ["--samples-paths", str(sampled["counts"]), str(old_path), "--labels", "A", "B"]
    assert compare.main(argv) == 0
    assert pass_at_k.main(["--samples-path", str(old_path), str(sampled["merged"]), "--baseline", "old"]) == 0


def test_dpo_takes_preference_samples_only_on_the_rows_they_were_drawn_on(sampled, tmp_path, capsys):
    dataset = Path(shutil.copy(sampled["dataset"], tmp_path / "rows.json"))
    document = read_json(sampled["merged"])
    document["metadata"]["dataset_path"] = str(dataset)
    preference_data = write_json(tmp_path / "samples.json", document)
    output_dir = str(tmp_path / "run")
    argv = ["--mode", "dpo", "--beta", "0.1", "--task", "countdown", "--vlm-name", "tiny-text",
            "--preference-data", str(preference_data), "--output-dir", output_dir, "--report-to", "none"]  # fmt: skip
    problems, _ = load_preference_file(parse_run_config(argv), get_task("countdown"))
    assert len(problems) == 3
    # The same questions and answers, but the rows changed (a column added; for charts, a picture replaced).
    write_json(dataset, [{**row, "solution": "1+2+3"} for row in ROWS])
    line = refusal(capsys, main_script.main, argv)
    assert f"{preference_data} was drawn on other dataset rows" in line


# ---------------------------------------------------------------------------------------------------------------
# main.py resumes a run only on the rows it was trained on


def run_argv(dataset: Path, output_dir: Path, *extra: str) -> list[str]:
    return ["--mode", "nsr", "--task", "countdown", "--vlm-name", "tiny-text", "--dataset-path", str(dataset),
            "--output-dir", str(output_dir), "--report-to", "none", *extra]  # fmt: skip


def interrupted_training(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A run folder as main.py leaves it at its checkpoint-2 (run_config.json with the rows' hash), its dataset
    file, and the command that resumes it."""
    dataset, output_dir = write_json(tmp_path / "rows.json", ROWS), tmp_path / "run"
    argv = run_argv(dataset, output_dir)
    config = with_micro_batch(parse_run_config(argv), 1, False)
    (output_dir / "checkpoint-2").mkdir(parents=True)
    write_json(output_dir / "checkpoint-2" / "trainer_state.json", {"global_step": 2})
    write_run_record(config, None, rows_hash(load_run_dataset(config, get_task("countdown"))))
    return dataset, output_dir, argv


def test_a_run_records_the_rows_it_trains_on_at_its_start_and_each_resume(tmp_path):
    _, output_dir, argv = interrupted_training(tmp_path)
    data_hash = read_run_record(output_dir)["segments"][0]["data_hash"]
    config = with_micro_batch(parse_run_config(argv), 1, False)
    write_run_record(config, str(output_dir / "checkpoint-2"), data_hash)
    segments = read_run_record(output_dir)["segments"]
    assert len(data_hash) == 16 and [segment["data_hash"] for segment in segments] == [data_hash, data_hash]


def test_main_does_not_resume_a_run_on_changed_rows(tmp_path, capsys):
    dataset, output_dir, argv = interrupted_training(tmp_path)
    before = (output_dir / RUN_CONFIG_FILE).read_bytes()
    write_json(dataset, [ROWS[0], ROWS[1], {"nums": [2, 7], "target": 5}])
    line = refusal(capsys, main_script.main, argv)
    assert f"{output_dir} was trained on other dataset rows" in line and "the dataset changed since" in line
    assert (output_dir / RUN_CONFIG_FILE).read_bytes() == before


def test_main_does_not_resume_a_named_checkpoint_on_changed_rows(tmp_path, capsys):
    dataset, output_dir, _ = interrupted_training(tmp_path)
    write_json(dataset, ROWS[:2])
    argv = run_argv(dataset, tmp_path / "new", "--resume-from-checkpoint", str(output_dir / "checkpoint-2"))
    line = refusal(capsys, main_script.main, argv)
    assert f"{output_dir} was trained on other dataset rows" in line
    assert not (tmp_path / "new" / RUN_CONFIG_FILE).exists()


def test_the_same_rows_resume_and_an_older_record_resumes_unchecked(tmp_path, capsys):
    _, output_dir, _ = interrupted_training(tmp_path)
    recorded = read_run_record(output_dir)
    check_same_rows(str(output_dir / "checkpoint-2"), recorded["segments"][0]["data_hash"])  # no refusal
    check_same_rows(None, "ffffffffffffffff")  # a new run: nothing to compare
    write_json(output_dir / RUN_CONFIG_FILE, {**recorded, "segments": [{"started": None, "changed": {}}]})
    capsys.readouterr()
    check_same_rows(str(output_dir / "checkpoint-2"), "ffffffffffffffff")
    assert "records no dataset rows hash (an older run): rows not checked" in capsys.readouterr().out
