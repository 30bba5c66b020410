"""The monitor never makes a run look healthier, or other, than it was: NaN and inf values are marked, an empty log
is explained, and every plot names the run's mode and folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

from matplotlib.figure import Figure

from monitor_training import main
from trainers.monitor_log import summarize
from trainers.monitor_plots import SINGLE_PLOTS, plot_metric, plot_objective


def state_with_losses(losses: dict[int, float], global_step: int, logging_steps: int = 1) -> dict:
    history = [{"loss": loss, "grad_norm": 1.0, "learning_rate": 1e-5, "step": step} for step, loss in losses.items()]
    return {"global_step": global_step, "logging_steps": logging_steps, "log_history": history}


def write_run(folder: Path, state: dict, mode: str | None = "nsr") -> Path:
    (folder / "checkpoint-1").mkdir(parents=True)
    # json.dumps writes NaN and Infinity as the trainer does (Python's json, allow_nan=True).
    (folder / "checkpoint-1" / "trainer_state.json").write_text(json.dumps(state))
    if mode:
        (folder / "run_config.json").write_text(json.dumps({"mode": mode}))
    return folder


DIVERGED = {1: 0.9, 2: 0.7, 3: math.nan, 4: math.inf, 5: 0.1}  # a falling line if NaN/inf are dropped


def test_nan_and_inf_losses_are_counted_and_named_in_the_summary():
    summary = summarize(state_with_losses(DIVERGED, 5)["log_history"])
    assert "WARNING: loss is NaN or infinite at 2 logged steps (3, 4)" in summary
    loss_row = next(line.split() for line in summary.splitlines() if line.startswith("loss "))
    header = next(line.split() for line in summary.splitlines() if line.startswith("metric "))
    assert header[-1] == "non-finite" and loss_row[1] == "3" and loss_row[-1] == "2"


def test_a_healthy_summary_has_no_warning_and_no_extra_column():
    summary = summarize(state_with_losses({1: 0.9, 2: 0.5}, 2)["log_history"])
    assert "WARNING" not in summary and "non-finite" not in summary


def test_a_metric_logged_only_as_nan_still_shows_up():
    summary = summarize(state_with_losses({1: math.nan, 2: math.nan}, 2)["log_history"])
    loss_row = next(line.split() for line in summary.splitlines() if line.startswith("loss "))
    assert loss_row == ["loss", "0", "-", "-", "-", "-", "2"]


def test_nan_and_inf_steps_are_marked_on_the_plot():
    loss_plot = next(plot for plot in SINGLE_PLOTS if plot.key == "loss")
    figure = plot_metric({"run": state_with_losses(DIVERGED, 5)["log_history"]}, loss_plot)
    axes = figure.axes[0]
    marked = sorted(line.get_xdata()[0] for line in axes.get_lines() if line.get_color() == "red")
    assert marked == [3.0, 4.0]
    assert "NaN / inf logged" in axes.get_legend_handles_labels()[1]


def test_a_run_that_logged_nothing_says_why(tmp_path, capsys):
    run = write_run(tmp_path / "short", state_with_losses({}, global_step=3, logging_steps=10))
    assert main(["--checkpoint-dir", str(run)]) == 0
    summary = (run / "monitor" / "summary.txt").read_text()
    assert "the logging interval (10 steps) is longer than the run (3 steps)" in summary
    assert "without our trainer" not in summary
    assert list((run / "monitor").glob("*.png")) == []


def record_titles(monkeypatch) -> list[str]:
    """The suptitle of every figure the monitor saves, in order."""
    titles: list[str] = []
    original = Figure.savefig

    def recording_savefig(figure: Figure, *args, **kwargs):
        titles.append(figure.get_suptitle())
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    return titles


def test_every_plot_title_names_the_mode_and_the_run(tmp_path, monkeypatch):
    titles = record_titles(monkeypatch)
    run = write_run(tmp_path / "nsr-run-7", state_with_losses({1: 0.9, 2: 0.5}, 2), mode="nsr")
    assert main(["--checkpoint-dir", str(run)]) == 0
    assert titles and all(title == "NSR run nsr-run-7" for title in titles)


def test_an_unrecorded_mode_is_said_to_be_unknown(tmp_path, monkeypatch):
    titles = record_titles(monkeypatch)
    run = write_run(tmp_path / "old-run", state_with_losses({1: 0.9}, 1), mode=None)
    assert main(["--checkpoint-dir", str(run)]) == 0
    assert titles and all(title == "mode unknown run old-run" for title in titles)


def test_a_trainer_state_nested_too_deeply_is_one_line(tmp_path):
    folder = tmp_path / "run" / "checkpoint-1"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("[" * 100_000 + "]" * 100_000)
    try:
        main(["--checkpoint-dir", str(tmp_path / "run")])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("a deeply nested trainer_state.json must be refused")


def test_coinciding_series_in_one_panel_stay_distinguishable():
    # Under NSR kept_frac equals negative_frac at every step and positive_frac is 0: drawn alike, one would hide
    # the other (objective.png once showed six series as two lines).
    history = [
        {"step": step, "objective/positive_frac": 0.0, "objective/negative_frac": 0.6, "objective/kept_frac": 0.6}
        for step in (1, 2, 3)
    ]
    figure = plot_objective({"run": history})
    lines = [line for line in figure.axes[0].get_lines() if line.get_label().endswith("_frac")]
    assert len(lines) == 3
    looks = {(line.get_marker(), line.get_linestyle(), line.get_markersize()) for line in lines}
    assert len(looks) == 3
    assert all(line.get_markerfacecolor() == "none" for line in lines)  # hollow: a smaller one shows inside


def test_a_run_that_never_saw_a_reward_or_a_gradient_is_called_out_in_words():
    idle = [{"reward": 0.0, "grad_norm": 0.0, "loss": 0.0, "step": step} for step in (2, 4, 6)]
    summary = summarize(idle, mode="grpo")
    assert "WARNING: the reward was 0 at all 3 logged steps" in summary
    assert "WARNING: the gradient norm was 0 at all 3 logged steps" in summary
    learning = [{**entry, "reward": 0.25 * (entry["step"] == 4), "grad_norm": 0.5} for entry in idle]
    assert "WARNING" not in summarize(learning, mode="grpo")
