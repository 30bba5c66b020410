"""The counts file (.jsonl): what a large run writes instead of every sample, and what pass_at_k.py reads of it.

It must give exactly the results of the samples file it summarises, and bad lines must stop with one line that
names the file and the line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.counts_file import COUNTS_FORMAT, load_counts, write_counts_file
from evaluation.pass_at_k import compute_results, main
from evaluation.samples_file import write_samples_file
from rlvr.errors import UserError


class Settings:
    def as_dict(self) -> dict:
        return {"checkpoint": "tiny", "num_samples": 8}


def make_problems() -> list[dict]:
    problems = []
    for index, num_correct in enumerate([0, 3, 8, 5, 1, 8]):
        correct = [True] * num_correct + [False] * (8 - num_correct)
        problem = {
            "problem_id": index,
            "question": f"question {index}",
            "answer": "42",
            "samples": ["<answer>42</answer>" if ok else "<answer>7</answer>" for ok in correct],
            "correct": correct,
            "num_correct": num_correct,
            "num_total": 8,
            "dataset": ("chartqa", "evochart")[index % 2],
        }
        if index % 3 == 0:
            problem["question_type"] = "reasoning"
        problems.append(problem)
    return problems


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_a_counts_file_gives_the_results_of_the_samples_file_it_summarises(tmp_path):
    problems = make_problems()
    samples_path, counts_path = tmp_path / "samples.json", tmp_path / "samples.jsonl"
    write_samples_file(samples_path, Settings(), problems)
    write_counts_file(counts_path, Settings(), problems)
    assert "samples" not in counts_path.read_text(encoding="utf-8").split("\n", 1)[1]  # no sample strings
    from_samples, samples_metadata = load_counts(samples_path)
    from_counts, counts_metadata = load_counts(counts_path)
    assert from_counts.num_samples.tolist() == from_samples.num_samples.tolist() == [8] * 6
    assert from_counts.num_correct.tolist() == from_samples.num_correct.tolist() == [0, 3, 8, 5, 1, 8]
    assert from_counts.labels == from_samples.labels
    assert from_counts.labels["question_type"] == ["reasoning", None, None, "reasoning", None, None]
    assert counts_metadata["checkpoint"] == samples_metadata["checkpoint"] == "tiny"
    settings = {"n_resamples": 200, "samples_path": "same name for both"}
    assert compute_results(from_counts, **settings) == compute_results(problems, **settings)


def test_pass_at_k_reads_a_counts_file_by_its_extension(tmp_path, capsys):
    counts_path = tmp_path / "samples_nsr.jsonl"
    write_counts_file(counts_path, Settings(), make_problems())
    output = tmp_path / "results.json"
    assert main(["--samples-path", str(counts_path), "--output-path", str(output), "--n-resamples", "50"]) == 0
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["metadata"]["method"] == "nsr" and results["metadata"]["generation"]["checkpoint"] == "tiny"
    assert results["pass_at_k"]["8"] == pytest.approx(5 / 6)  # every problem with a correct sample
    assert set(results["breakdown"]["question_type"]) == {"reasoning", "unknown"}


HEADER = {"format": COUNTS_FORMAT, "metadata": {}}
GOOD = {"problem_id": 0, "num_correct": 1, "num_total": 4}


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ([GOOD], "line 1 is not a counts header"),
        ([HEADER], "no problems"),
        ([HEADER, GOOD, "oops"], "line 3: expected an object"),
        ([HEADER, {"problem_id": 1, "num_total": 4}], "line 2: missing key 'num_correct'"),
        ([HEADER, {**GOOD, "num_correct": 5}], "line 2: num_correct must lie between 0 and num_total (4)"),
        ([HEADER, {**GOOD, "num_total": True}], "line 2: 'num_total' must be an integer"),
        ([HEADER, {**GOOD, "dataset": 3}], "line 2: 'dataset' must be a string"),
        ([HEADER, GOOD, GOOD], "line 3: problem_id 0 already used by line 2"),
        ([{**HEADER, "metadata": [1]}, GOOD], "line 1: 'metadata' must be an object"),
    ],
)
def test_a_bad_counts_file_is_one_line_naming_the_line(tmp_path, lines, fragment):
    path = write_lines(tmp_path / "counts.jsonl", lines)
    with pytest.raises(UserError, match="^" + str(path).replace("\\", "\\\\") + ": ") as raised:
        load_counts(path)
    assert fragment in str(raised.value)


def test_a_torn_line_and_a_missing_file_are_one_line(tmp_path):
    path = tmp_path / "counts.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + '{"problem_id": 0, "num_co', encoding="utf-8")
    with pytest.raises(UserError, match="line 2 is not valid JSON"):
        load_counts(path)
    with pytest.raises(UserError, match="no such counts file"):
        load_counts(tmp_path / "absent.jsonl")


def test_counts_shards_merge_into_the_counts_file_of_one_run(tmp_path, capsys):
    from dataclasses import replace

    from evaluation.merge_samples import main as merge_main
    from evaluation.sampling import SamplingSettings

    whole = SamplingSettings(
        checkpoint="tiny", task="chart", dataset="synthetic", dataset_path=None, split="test", max_problems=6,
        prompt_style="r1", num_samples=8, temperature=1.0, top_p=0.95, max_new_tokens=8, seed=2025,
        reward_threshold=0.5,
    )  # fmt: skip
    problems = make_problems()
    for index, part in enumerate((problems[:4], problems[4:])):
        write_counts_file(tmp_path / f"shard{index}.jsonl", replace(whole, num_shards=2, shard_index=index), part)
    write_counts_file(tmp_path / "whole.jsonl", whole, problems)
    shards = [str(tmp_path / "shard1.jsonl"), str(tmp_path / "shard0.jsonl")]
    assert merge_main([*shards, "--output-path", str(tmp_path / "merged.jsonl")]) == 0
    merged, metadata = load_counts(tmp_path / "merged.jsonl")
    expected, _ = load_counts(tmp_path / "whole.jsonl")
    assert merged.num_correct.tolist() == expected.num_correct.tolist() and merged.labels == expected.labels
    assert SamplingSettings.from_dict(metadata) == whole

    write_samples_file(tmp_path / "shard1.json", replace(whole, num_shards=2, shard_index=1), problems[4:])
    for arguments, message in [
        ([*shards, "--output-path", str(tmp_path / "merged.json")], "merge into a counts file (.jsonl)"),
        ([shards[1], str(tmp_path / "shard1.json"), "--output-path", str(tmp_path / "m.jsonl")], "not both"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            merge_main(arguments)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
