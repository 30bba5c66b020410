"""generate_samples.py on the tiny model and the synthetic charts, on the CPU: the samples file and pass_at_k.py
reading it, completion-only decoding, scoring by the training reward, determinism, resuming after SIGKILL or a torn
progress line, refusing other settings, bad input, and a LoRA adapter folder."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import torch
from lora_adapter import random_lora_adapter

import generate_samples
from evaluation.counts_file import load_counts
from evaluation.pass_at_k import main as pass_at_k_main
from evaluation.progress import ProgressWriter, SamplingSettings, progress_path_for, read_progress
from evaluation.samples_file import read_samples_file
from evaluation.sampling import draw_samples, problem_record
from rlvr.errors import UserError
from rlvr.generation import encode_prompts, generate_completions, tokenizer_of
from rlvr.models.checkpoints import load_checkpoint
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.run_identity import rows_hash
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from rlvr.tasks.base import answer_for_json, score_completions

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "generate_samples.py"
CPU = torch.device("cpu")
SAMPLING = ["--num-samples", "4", "--max-new-tokens", "8", "--batch-size", "3"]
QUICK = ["--checkpoint-path", "tiny", *SAMPLING]
TWO_PROBLEMS = [*QUICK, "--max-problems", "2"]
# Enough problems that a run is still going when its first problem has been saved.
FOUR_PROBLEMS = [*QUICK, "--max-problems", "4", "--batch-size", "2"]
METADATA_KEYS = {
    "checkpoint", "task", "dataset", "split", "prompt_style", "num_samples", "temperature", "top_p",
    "max_new_tokens", "seed", "reward_threshold", "date",
}  # fmt: skip
PROBLEM_KEYS = {"problem_id", "question", "answer", "samples", "correct", "num_correct", "num_total"}

CHART = get_task("chart")


def quick_settings(**changes) -> SamplingSettings:
    """The settings generate_samples.py derives from TWO_PROBLEMS."""
    settings = SamplingSettings(
        checkpoint="tiny",
        task="chart",
        dataset="synthetic",
        dataset_path=None,
        split="test",
        max_problems=2,
        prompt_style=CHART.default_prompt_style,
        num_samples=4,
        temperature=0.6,
        top_p=0.95,
        max_new_tokens=8,
        seed=2025,
        reward_threshold=0.5,
    )
    return dataclasses.replace(settings, **changes)


def held_out_rows_hash() -> str:
    """The rows hash generate_samples.py records for TWO_PROBLEMS (tiny is a name: no weights fingerprint)."""
    return rows_hash(CHART.load_dataset("synthetic", "test", None, 2, HELD_OUT_DATASET_SEED))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def chart_rows() -> list[dict]:
    dataset = CHART.load_dataset("synthetic", "test", None, 2, HELD_OUT_DATASET_SEED)
    return [dataset[index] for index in range(len(dataset))]


@pytest.fixture(scope="module")
def tiny_checkpoint():
    return load_checkpoint("tiny", CPU)


@pytest.fixture(scope="module")
def reference_path(tmp_path_factory) -> Path:
    """An uninterrupted in-process run on two problems."""
    output = tmp_path_factory.mktemp("reference") / "samples.json"
    assert generate_samples.main([*TWO_PROBLEMS, "--output-path", str(output)]) == 0
    return output


# ---------------------------------------------------------------------------------------------------------------
# The samples file


def test_samples_file_has_the_schema_and_pass_at_k_reads_it(reference_path, chart_rows, tmp_path):
    document = read_json(reference_path)
    metadata, problems = document["metadata"], document["problems"]
    assert set(metadata) >= METADATA_KEYS
    assert SamplingSettings.from_dict(metadata) == quick_settings(data_hash=held_out_rows_hash())
    datetime.fromisoformat(metadata["date"])
    assert [problem["problem_id"] for problem in problems] == [0, 1]
    for problem, row in zip(problems, chart_rows, strict=True):
        assert set(problem) >= PROBLEM_KEYS
        assert problem["question"] == row["query"] and problem["answer"] == row["label"]
        assert problem["question_type"] == row["question_type"] and problem["dataset"] == "synthetic"
        assert len(problem["samples"]) == len(problem["correct"]) == problem["num_total"] == 4
        assert all(isinstance(sample, str) for sample in problem["samples"])
        assert problem["num_correct"] == sum(problem["correct"])
    assert not progress_path_for(reference_path).exists(), "the progress file is removed once the file is written"

    read_problems, _ = read_samples_file(reference_path)
    assert read_problems == problems
    results_path = tmp_path / "results.json"
    assert pass_at_k_main(["--samples-path", str(reference_path), "--output-path", str(results_path)]) == 0
    assert set(read_json(results_path)["pass_at_k"]) == {"1", "2", "4"}


def test_an_output_ending_in_jsonl_is_the_counts_file_of_the_same_run(reference_path, tmp_path):
    counts_path = tmp_path / "samples.jsonl"
    assert generate_samples.main([*TWO_PROBLEMS, "--output-path", str(counts_path)]) == 0
    counts, metadata = load_counts(counts_path)
    reference = read_json(reference_path)
    assert counts.num_correct.tolist() == [problem["num_correct"] for problem in reference["problems"]]
    assert SamplingSettings.from_dict(metadata) == quick_settings(data_hash=held_out_rows_hash())
    assert "samples" not in counts_path.read_text(encoding="utf-8").split("\n", 1)[1]


def test_correct_is_the_training_reward_on_each_sample(reference_path, chart_rows):
    row = chart_rows[0]
    samples = [f"<answer>{row['label']}</answer>", "<answer>no idea</answer>", "no tags at all"]
    record = problem_record(CHART, row, 0, samples, quick_settings())
    assert record["correct"] == score_completions(CHART, samples, row, 0.5)
    assert record["correct"][0] and not record["correct"][1], "one right and one wrong sample must tell apart"
    assert record["num_correct"] == sum(record["correct"])

    for problem, row in zip(read_json(reference_path)["problems"], chart_rows, strict=True):
        assert problem["correct"] == score_completions(CHART, problem["samples"], row, 0.5)


@pytest.mark.parametrize(
    ("label", "stored"),
    [("27.7", "27.7"), (24, 24), (2.5, 2.5), (["a", "b"], "['a', 'b']"), (True, "True"), (None, "None")],
)
def test_answers_keep_their_type_unless_a_samples_file_cannot_hold_it(label, stored):
    assert answer_for_json(label) == stored
    assert type(answer_for_json(label)) is type(stored)


# ---------------------------------------------------------------------------------------------------------------
# Sampling one problem


class RecordingModel:
    """Stands in for a model: continues every prompt with the same tokens, and records each generate call."""

    device = CPU

    def __init__(self, continuation: list[int]) -> None:
        self.continuation = continuation
        self.calls: list[dict] = []

    def generate(self, input_ids: torch.Tensor, num_return_sequences: int, **options) -> torch.Tensor:
        self.calls.append({"input_ids": input_ids, "num_return_sequences": num_return_sequences, **options})
        prompts = input_ids.repeat_interleave(num_return_sequences, dim=0)
        continuation = torch.tensor(self.continuation).expand(len(prompts), -1)
        return torch.cat([prompts, continuation], dim=1)


def test_only_the_completion_is_decoded_and_the_prompt_is_encoded_once(chart_rows):
    processor = load_processor(resolve_model("tiny"))
    completion = "<answer>7</answer>"
    model = RecordingModel(tokenizer_of(processor)(completion, add_special_tokens=False).input_ids)
    settings = quick_settings(num_samples=7, temperature=0.7, top_p=0.9)

    samples = draw_samples(model, processor, CHART, chart_rows[0], settings, problem_index=0, batch_size=3)

    assert samples == [completion] * 7
    assert [call["num_return_sequences"] for call in model.calls] == [3, 3, 1]
    assert all(call["input_ids"] is model.calls[0]["input_ids"] for call in model.calls)
    assert all(call["do_sample"] and call["temperature"] == 0.7 and call["top_p"] == 0.9 for call in model.calls)
    assert all(call["max_new_tokens"] == 8 for call in model.calls)


def test_samples_are_generate_completions_under_the_problem_seed(tiny_checkpoint, chart_rows, reference_path):
    model, processor = tiny_checkpoint.model, tiny_checkpoint.processor
    row, settings = chart_rows[1], quick_settings()

    samples = draw_samples(model, processor, CHART, row, settings, problem_index=1, batch_size=3)

    encoded = encode_prompts(processor, CHART, [row], settings.prompt_style, CPU)
    torch.manual_seed(settings.seed + 1)
    sampling = {"do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p, "max_new_tokens": 8}
    expected = generate_completions(model, processor, encoded, num_return_sequences=3, **sampling)
    expected += generate_completions(model, processor, encoded, num_return_sequences=1, **sampling)
    assert samples == expected
    # Problem 1 of the file was drawn after problem 0 in the same process, and still matches.
    assert read_json(reference_path)["problems"][1]["samples"] == samples
    for sample in samples:
        assert "<|im_start|>" not in sample and row["query"] not in sample
        # The prompt alone is hundreds of tokens (the image's among them); 8 new tokens re-read are far fewer.
        assert len(tokenizer_of(processor)(sample).input_ids) < encoded["input_ids"].shape[1] // 4


# ---------------------------------------------------------------------------------------------------------------
# Determinism and resuming


def test_the_same_command_twice_writes_the_same_file(reference_path, tmp_path):
    output = tmp_path / "again.json"
    assert generate_samples.main([*TWO_PROBLEMS, "--output-path", str(output)]) == 0
    assert generate_samples.main([*TWO_PROBLEMS, "--output-path", str(output), "--overwrite"]) == 0
    first, second = read_json(reference_path), read_json(output)
    assert second["problems"] == first["problems"]
    assert {**second["metadata"], "date": None} == {**first["metadata"], "date": None}


def test_a_torn_last_progress_line_is_dropped_and_redone(reference_path, tmp_path, capsys):
    problems = read_json(reference_path)["problems"]
    output = tmp_path / "samples.json"
    progress_path = progress_path_for(output)
    with ProgressWriter(progress_path, quick_settings(), None) as progress:
        progress.append(problems[0])
    whole_length = progress_path.stat().st_size
    with open(progress_path, "ab") as handle:
        handle.write(json.dumps(problems[1]).encode()[:40])  # the kill came while this line was being written

    saved = read_progress(progress_path, quick_settings())
    assert saved is not None and list(saved.done) == [0] and saved.intact_bytes == whole_length

    assert generate_samples.main([*TWO_PROBLEMS, "--output-path", str(output)]) == 0
    assert "1 of 2 problems done" in capsys.readouterr().out
    assert read_json(output)["problems"] == problems
    assert not progress_path.exists()


def test_appending_after_a_torn_line_starts_on_a_line_of_its_own(tmp_path):
    progress_path = tmp_path / "samples.json.partial.jsonl"
    with ProgressWriter(progress_path, quick_settings(), None) as progress:
        progress.append({"problem_id": 0})
    with open(progress_path, "ab") as handle:
        handle.write(b'{"problem_id": 1, "sam')

    with ProgressWriter(progress_path, quick_settings(), read_progress(progress_path, quick_settings())) as progress:
        progress.append({"problem_id": 1})

    saved = read_progress(progress_path, quick_settings())
    assert saved is not None and list(saved.done) == [0, 1]
    assert saved.intact_bytes == progress_path.stat().st_size


def test_a_damaged_line_before_the_last_is_an_error(tmp_path):
    progress_path = tmp_path / "samples.json.partial.jsonl"
    with ProgressWriter(progress_path, quick_settings(), None) as progress:
        progress.append({"problem_id": 0})
    with open(progress_path, "ab") as handle:
        handle.write(b"{garbage\n" + json.dumps({"problem_id": 1}).encode() + b"\n")
    with pytest.raises(UserError, match="line 3 is damaged"):
        read_progress(progress_path, quick_settings())


def test_a_progress_file_with_other_settings_is_refused(tmp_path, capsys):
    output = tmp_path / "samples.json"
    progress_path = progress_path_for(output)
    with ProgressWriter(progress_path, quick_settings(seed=7, top_p=0.5), None) as progress:
        progress.append({"problem_id": 0})
    before = progress_path.read_bytes()

    with pytest.raises(SystemExit) as exit_info:
        generate_samples.main([*TWO_PROBLEMS, "--output-path", str(output)])

    assert exit_info.value.code == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert len(error_lines) == 1 and error_lines[0].startswith("error: ")
    assert "top_p 0.5 there, 0.95 here" in error_lines[0] and "seed 7 there, 2025 here" in error_lines[0]
    assert progress_path.read_bytes() == before and not output.exists()


@pytest.fixture(scope="module")
def uninterrupted_subprocess_run(tmp_path_factory) -> dict:
    output = tmp_path_factory.mktemp("uninterrupted") / "samples.json"
    result = run_script(*FOUR_PROBLEMS, "--output-path", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    return read_json(output)


@pytest.mark.slow
def test_killed_with_sigkill_then_restarted_matches_an_uninterrupted_run(uninterrupted_subprocess_run, tmp_path):
    output = tmp_path / "samples.json"
    progress_path = progress_path_for(output)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(SCRIPT), *FOUR_PROBLEMS, "--output-path", str(output)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    # The header and one problem: two complete lines.
    while not (progress_path.exists() and progress_path.read_bytes().count(b"\n") >= 2):
        assert process.poll() is None, "the run ended before it saved a problem"
        assert time.monotonic() < deadline, "no problem saved in time"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert not output.exists()
    saved_lines = progress_path.read_bytes().count(b"\n") - 1
    assert 1 <= saved_lines < 4, "the kill must land mid-run"

    resumed = run_script(*FOUR_PROBLEMS, "--output-path", str(output))

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{saved_lines} of 4 problems done" in resumed.stdout
    assert read_json(output)["problems"] == uninterrupted_subprocess_run["problems"]
    assert not progress_path.exists()


# ---------------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--checkpoint-path", "no-such-model"], "no-such-model"),
        (["--checkpoint-path", "tiny", "--num-samples", "0"], "--num-samples must be a positive integer"),
    ],
)
def test_bad_input_exits_2_with_one_line(flags, message, tmp_path):
    result = run_script(*flags, "--max-problems", "2", "--output-path", str(tmp_path / "samples.json"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("error: ") and message in error_lines[0]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------------
# A LoRA adapter folder


def test_a_lora_adapter_folder_is_merged_into_its_base(tiny_vl_path, tmp_path, capsys):
    from peft import PeftModel

    base = resolve_model("tiny")
    adapted = random_lora_adapter("tiny", ["q_proj", "v_proj"])
    adapter_folder = tmp_path / "adapter"
    adapted.save_pretrained(adapter_folder)
    assert json.loads((adapter_folder / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        tiny_vl_path
    )
    expected = adapted.merge_and_unload().state_dict()
    base_weights = load_model(base, torch.float32).state_dict()

    loaded = load_checkpoint(str(adapter_folder), CPU)

    assert loaded.adapter_base == str(tiny_vl_path)
    assert not isinstance(loaded.model, PeftModel)
    weights = loaded.model.state_dict()
    assert weights.keys() == expected.keys()
    assert all(torch.allclose(weights[name], expected[name]) for name in expected)
    changed = [name for name in expected if not torch.equal(expected[name], base_weights[name])]
    assert changed and all("q_proj" in name or "v_proj" in name for name in changed)

    output = tmp_path / "samples.json"
    flags = ["--checkpoint-path", str(adapter_folder), *SAMPLING, "--max-problems", "1"]
    assert generate_samples.main([*flags, "--output-path", str(output)]) == 0
    assert "Loaded the LoRA adapter" in capsys.readouterr().out
    document = read_json(output)
    assert document["metadata"]["checkpoint"] == str(adapter_folder.resolve())
    assert len(document["problems"]) == 1 and document["problems"][0]["num_total"] == 4
