"""Specification: values that used to be taken silently with a wrong result are refused in one line, or reported
for what they are.

- (A YAML config file that gives a key twice is specified in tests/test_run_config.py, with the other malformed
  files.)
- Plot labels: a label starting with '_' (matplotlib leaves it out of the legend), a blank label, labels that differ
  only in spaces, and one results file or run under two labels are refused, by plotting.py and monitor_training.py;
  a differences file whose method starts with '_' is refused by the difference plot.
- The monitor says a metric logged as something other than a number is so, instead of "not logged".
- An integer beyond int64 in a counts or samples file, or in a countdown dataset, is refused in one line naming the
  line or row; in a math answer it is kept as its text (a valid answer).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import monitor_training
from evaluation import pass_at_k, plotting
from evaluation.difference_plot import load_differences
from rlvr.errors import UserError
from rlvr.plot_labels import check_plot_labels
from rlvr.tasks import get_task
from trainers.monitor_log import summarize
from trainers.monitor_plots import draw_plots

BEYOND_INT64 = 2**63


def refused(capsys, run, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        run(argv)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert stopped.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# Plot labels


def results_file(path: Path, method: str) -> str:
    values = {"1": 0.5, "2": 0.7}
    results = {
        "pass_at_k": values,
        "k_values": [1, 2],
        "confidence_intervals": {k: [v - 0.1, v + 0.1] for k, v in values.items()},
        "num_problems_per_k": dict.fromkeys(values, 10),
        "breakdown": {},
        "metadata": {"method": method, "num_problems": 10, "samples_per_problem": 2},
    }
    path.write_text(json.dumps(results))
    return str(path)


@pytest.mark.parametrize(
    ("labels", "same_file", "fragment"),
    [
        (["_nsr", "psr"], False, "label '_nsr' starts with '_'"),
        (["   ", "psr"], False, "a blank label"),
        (["w reinforce", "w  reinforce"], False, "labels must differ, got 'w reinforce' and 'w  reinforce'"),
        (["nsr", "psr"], True, "is given twice, as 'nsr' and as 'psr'"),
    ],
)
def test_plot_labels_the_legend_cannot_show_apart_are_refused(tmp_path, capsys, labels, same_file, fragment):
    first = results_file(tmp_path / "a.json", "a")
    second = first if same_file else results_file(tmp_path / "b.json", "b")
    argv = ["--results", first, second, "--labels", *labels, "--output", str(tmp_path / "plot.png")]
    assert fragment in refused(capsys, plotting.main, argv)
    assert not (tmp_path / "plot.png").exists()


def test_a_default_label_starting_with_an_underscore_is_refused_too(tmp_path, capsys):
    argv = ["--results", results_file(tmp_path / "a.json", "_draft"), "--output", str(tmp_path / "plot.png")]
    assert "label '_draft' starts with '_'" in refused(capsys, plotting.main, argv)


def test_the_monitor_refuses_one_run_under_two_labels(tmp_path, capsys):
    argv = ["--compare", "--checkpoints", str(tmp_path), str(tmp_path), "--labels", "a", "b"]
    assert "is given twice" in refused(capsys, monitor_training.main, argv)
    with pytest.raises(UserError, match="starts with '_'"):
        check_plot_labels(["_a", "b"], "--labels", "--checkpoints folders")


def test_a_differences_file_with_a_method_the_legend_would_hide_is_refused(tmp_path):
    entry = {"difference": 0.1, "interval": [0.0, 0.2]}
    document = {"baseline": "grpo", "differences": {"_nsr - grpo": {"1": entry}}}
    path = tmp_path / "differences.json"
    path.write_text(json.dumps(document))
    with pytest.raises(UserError, match="label '_nsr' starts with '_'"):
        load_differences(path)


# ---------------------------------------------------------------------------------------------------------------
# The monitor


def test_a_loss_logged_as_text_is_reported_as_not_a_number():
    history = [{"step": 1, "loss": "0.5"}, {"step": 2, "loss": "0.4", "learning_rate": 1e-5}]
    summary = summarize(history)
    assert "WARNING: 'loss' was logged, but not as a number at 2 logged steps (first: '0.5' at step 1)" in summary
    _, notes = draw_plots({"run": history})
    assert "skipped training_loss.png: 'loss' was logged, but not as a number" in "\n".join(notes)
    assert not any("'loss' was not logged" in note for note in notes)


# ---------------------------------------------------------------------------------------------------------------
# Integers beyond int64


def test_a_count_beyond_int64_is_refused_naming_the_line(tmp_path, capsys):
    counts = tmp_path / "counts.jsonl"
    header = json.dumps({"format": "rlvr sample counts 1", "metadata": {}})
    lines = [
        {"problem_id": 0, "num_correct": 1, "num_total": 4},
        {"problem_id": 1, "num_correct": 1, "num_total": BEYOND_INT64},
    ]
    counts.write_text("\n".join([header, *map(json.dumps, lines)]) + "\n")
    line = refused(capsys, pass_at_k.main, ["--samples-path", str(counts)])
    assert f"line 3: 'num_total' is {BEYOND_INT64}, an integer too large to hold" in line


def test_a_countdown_row_beyond_int64_is_refused_naming_the_row(tmp_path):
    data = tmp_path / "countdown.jsonl"
    rows = [
        {"nums": [1, 2, 3], "target": 6},
        {"nums": [1, 2, 3], "target": BEYOND_INT64},
        {"nums": [2, 2], "target": 4},
    ]
    data.write_text("\n".join(map(json.dumps, rows)) + "\n")
    task = get_task("countdown")
    with pytest.raises(UserError, match="row 1: whole numbers must fit in 64 bits"):
        task.load_dataset("synthetic", "train", str(data), None, 0)


def test_a_math_answer_beyond_int64_is_kept_as_its_text(tmp_path):
    data = tmp_path / "math.jsonl"
    data.write_text(json.dumps({"problem": "What is 2^70?", "answer": 2**70}) + "\n")
    rows = get_task("math").load_dataset("synthetic", "test", str(data), None, 0)
    assert rows[0]["answer"] == str(2**70)
