"""monitor_training.py: finding the newest state, plots and summary from TRL 1.16's log keys, compare mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor_training import main
from rlvr.errors import UserError
from trainers import monitor_log as trainer_monitor_log
from trainers import monitor_plots
from trainers.monitor_log import load_log_history, read_trainer_state, recorded_mode, resolve_trainer_state, summarize
from trainers.monitor_plots import plot_objective, plot_rewards

REPO_ROOT = Path(__file__).resolve().parent.parent
REWARD_FUNCTIONS = ("format_reward", "accuracy_reward", "length_think_reward")
ALL_PLOTS = {
    "training_loss.png",
    "learning_rate.png",
    "gradient_norm.png",
    "rewards.png",
    "objective.png",
    "entropy.png",
}


def training_entry(step: int, loss: float, with_objective: bool = True, with_entropy: bool = True) -> dict:
    """One log_history entry with the keys GRPOTrainer (TRL 1.16) logs, plus the decomposed trainer's."""
    entry = {
        "loss": loss,
        "grad_norm": 0.5 + 0.01 * step,
        "learning_rate": 1e-5 * (1 - step / 100),
        "num_tokens": 1000.0 * step,
        "completions/mean_length": 120.0 + step,
        "completions/min_length": 40.0,
        "completions/max_length": 300.0,
        "completions/clipped_ratio": 0.0,
        "completions/mean_terminated_length": 118.0,
        "completions/min_terminated_length": 40.0,
        "completions/max_terminated_length": 290.0,
        "reward": 3.0 + step / 10,
        "reward_std": 0.8,
        "frac_reward_zero_std": 0.25,
        "clip_ratio/low_mean": 0.0,
        "clip_ratio/low_min": 0.0,
        "clip_ratio/high_mean": 0.0,
        "clip_ratio/high_max": 0.0,
        "clip_ratio/region_mean": 0.0,
        "epoch": step / 40,
        "step": step,
    }
    for index, name in enumerate(REWARD_FUNCTIONS):
        entry[f"rewards/{name}/mean"] = index + step / 100
        entry[f"rewards/{name}/std"] = 0.1
    if with_entropy:
        entry["entropy"] = 1.2 - step / 100
    if with_objective:
        entry |= {
            "objective/positive_frac": 0.3,
            "objective/negative_frac": 0.7,
            "objective/kept_frac": 0.7,
            "objective/groups_without_positive_frac": 0.5,
            "objective/groups_without_negative_frac": 0.1,
            "objective/mean_advantage": -1.0,
            "objective/empty_batches": 0,
        }
    return entry


LOSSES = {5: 0.5, 10: 0.7, 15: 0.05, 20: 0.1}  # first 0.5, last 0.1, min 0.05, max 0.7


def trainer_state(last_step: int, **entry_options) -> dict:
    history = [training_entry(step, loss, **entry_options) for step, loss in LOSSES.items() if step <= last_step]
    return {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": last_step / 40,
        "eval_steps": 500,
        "global_step": last_step,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": 5,
        "max_steps": 40,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 1,
        "save_steps": 10,
        "stateful_callbacks": {"TrainerControl": {"args": {"should_training_stop": False}, "attributes": {}}},
        "total_flos": 0.0,
        "train_batch_size": 2,
        "trial_name": None,
        "trial_params": None,
    }


def write_state(folder: Path, state: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trainer_state.json"
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def run(tmp_path) -> Path:
    """run/checkpoint-10 and run/checkpoint-20, as a run saving every 10 steps leaves them."""
    folder = tmp_path / "run"
    write_state(folder / "checkpoint-10", trainer_state(10))
    write_state(folder / "checkpoint-20", trainer_state(20))
    return folder


def summary_row(summary: str, metric: str) -> list[str]:
    return next(line.split() for line in summary.splitlines() if line.split()[:1] == [metric])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "monitor_training.py", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


# ---------------------------------------------------------------------------------------------------------------
# Which trainer_state.json


def test_run_folder_uses_the_newest_checkpoint(run):
    path, state = resolve_trainer_state(run)
    assert path == run / "checkpoint-20" / "trainer_state.json"
    assert state["global_step"] == 20
    assert [entry["step"] for entry in load_log_history(run)] == [5, 10, 15, 20]


def test_checkpoints_are_ordered_by_number_not_by_name(run):
    write_state(run / "checkpoint-9", trainer_state(5))
    assert resolve_trainer_state(run)[0].parent.name == "checkpoint-20"


def test_a_checkpoint_folder_or_the_file_itself_can_be_given(run):
    assert [entry["step"] for entry in load_log_history(run / "checkpoint-10")] == [5, 10]
    assert len(load_log_history(run / "checkpoint-10" / "trainer_state.json")) == 2


def test_a_newer_top_level_state_of_a_run_in_progress_wins(run):
    write_state(run, trainer_state(20) | {"global_step": 25})
    assert resolve_trainer_state(run)[0] == run / "trainer_state.json"


def test_an_older_top_level_state_loses_to_a_newer_checkpoint(run):
    write_state(run, trainer_state(10))
    assert resolve_trainer_state(run)[0] == run / "checkpoint-20" / "trainer_state.json"


def test_a_checkpoint_still_being_saved_is_passed_over(run):
    (run / "checkpoint-30").mkdir()  # the trainer writes trainer_state.json last
    assert resolve_trainer_state(run)[0].parent.name == "checkpoint-20"


def test_a_half_written_state_is_read_again_after_a_pause(run, monkeypatch):
    path = run / "checkpoint-20" / "trainer_state.json"
    complete = path.read_text()
    path.write_text(complete[: len(complete) // 2])
    monkeypatch.setattr(trainer_monitor_log.time, "sleep", lambda seconds: path.write_text(complete))
    assert read_trainer_state(path)["global_step"] == 20


def test_a_state_that_stays_half_written_is_a_clear_error(run):
    path = run / "checkpoint-20" / "trainer_state.json"
    path.write_text(path.read_text()[:100])
    with pytest.raises(UserError, match="after a retry"):
        read_trainer_state(path, retry_delay_s=0.0)


# ---------------------------------------------------------------------------------------------------------------
# Summary and plots


def test_summary_has_steps_and_first_last_min_max_per_metric():
    summary = summarize(trainer_state(20)["log_history"], mode="nsr")
    assert "mode: nsr" in summary
    assert "steps: 20" in summary
    assert summary_row(summary, "loss") == ["loss", "4", "0.5", "0.1", "0.05", "0.7"]
    assert summary_row(summary, "reward") == ["reward", "4", "3.5", "5", "3.5", "5"]
    assert summary_row(summary, "objective/kept_frac")[1:] == ["4", "0.7", "0.7", "0.7", "0.7"]
    assert summary_row(summary, "rewards/accuracy_reward/mean")[1:3] == ["4", "1.05"]


def test_summary_of_an_empty_log_says_so():
    assert "no numeric metrics" in summarize([])


def test_cli_writes_the_plots_and_summary_into_run_monitor(run):
    result = run_cli("--checkpoint-dir", str(run))
    assert result.returncode == 0, result.stderr
    output = run / "monitor"
    assert {path.name for path in output.glob("*.png")} == ALL_PLOTS
    assert all(path.stat().st_size > 1000 for path in output.glob("*.png"))
    summary = (output / "summary.txt").read_text()
    assert "checkpoint-20" in summary
    assert summary_row(summary, "loss") == ["loss", "4", "0.5", "0.1", "0.05", "0.7"]
    assert "skipped" not in summary


def test_missing_metrics_are_skipped_with_a_note(tmp_path, capsys):
    folder = tmp_path / "plain-grpo"
    write_state(folder / "checkpoint-5", trainer_state(20, with_objective=False, with_entropy=False))
    assert main(["--checkpoint-dir", str(folder), "--output-dir", str(tmp_path / "plots")]) == 0
    assert {path.name for path in (tmp_path / "plots").glob("*.png")} == ALL_PLOTS - {"objective.png", "entropy.png"}
    summary = (tmp_path / "plots" / "summary.txt").read_text()
    assert "skipped entropy.png" in summary and "skipped objective.png" in summary
    assert "skipped entropy.png" in capsys.readouterr().out


def test_mode_is_read_from_the_runs_run_config(run):
    assert recorded_mode(run / "checkpoint-20") is None
    (run / "run_config.json").write_text(json.dumps({"mode": "w-reinforce", "seed": 2025}))
    assert recorded_mode(run / "checkpoint-20") == "w-reinforce"
    assert recorded_mode(run / "checkpoint-20" / "trainer_state.json") == "w-reinforce"


def test_reward_plot_has_the_total_and_one_line_per_function():
    figure = plot_rewards({"run": trainer_state(20)["log_history"]})
    total, functions = figure.axes
    assert len(total.get_lines()) == 1 and len(total.collections) == 1  # the mean and its std band
    assert sorted(line.get_label() for line in functions.get_lines()) == sorted(REWARD_FUNCTIONS)
    for ax in figure.axes:
        assert ax.get_xlabel() and ax.get_ylabel()


def test_objective_plot_shows_the_fractions_together():
    figure = plot_objective({"run": trainer_state(20)["log_history"]})
    fractions = figure.axes[0]
    assert {line.get_label() for line in fractions.get_lines()} == {
        "positive_frac",
        "negative_frac",
        "kept_frac",
        "groups_without_positive_frac",
        "groups_without_negative_frac",
    }
    assert [ax.get_title() for ax in figure.axes[1:]] == ["empty_batches", "mean_advantage"]


# ---------------------------------------------------------------------------------------------------------------
# Compare mode


def test_compare_overlays_runs_on_the_same_plots(run, tmp_path, capsys):
    other = tmp_path / "other"
    write_state(other / "checkpoint-20", trainer_state(20, with_objective=False))
    output = tmp_path / "comparison"
    flags = ["--labels", "NSR", "GRPO", "--output-dir", str(output)]
    assert main(["--compare", "--checkpoints", str(run), str(other), *flags]) == 0
    assert {path.name for path in output.glob("*.png")} == {f"comparison_{name}" for name in ALL_PLOTS}
    summary = (output / "summary.txt").read_text()
    assert "NSR: " in summary and "GRPO: " in summary
    loss = plot_from(run, other)
    assert sorted(line.get_label() for line in loss.axes[0].get_lines()) == ["GRPO", "NSR"]


def plot_from(*runs: Path):
    histories = dict(zip(["NSR", "GRPO"], (load_log_history(run) for run in runs), strict=True))
    return monitor_plots.plot_metric(histories, monitor_plots.SINGLE_PLOTS[0])


# ---------------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--checkpoint-dir", "{tmp}/absent"], "no such folder"),
        (["--checkpoint-dir", "{tmp}/empty"], "no trainer_state.json"),
        (["--compare", "--checkpoints", "{tmp}/run", "{tmp}/run", "--labels", "A"], "1 labels for 2"),
        (["--compare"], "--checkpoints"),
        ([], "--checkpoint-dir"),
        (["--checkpoint-dir", "{tmp}/broken"], "after a retry"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_code_2(run, tmp_path, capsys, monkeypatch, args, fragment):
    (tmp_path / "empty").mkdir()
    write_state(tmp_path / "broken", {}).write_text('{"log_history": [')
    monkeypatch.setattr(trainer_monitor_log.time, "sleep", lambda seconds: None)  # the retry's pause
    with pytest.raises(SystemExit) as exit_info:
        main([arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and fragment in line


def test_cli_in_a_subprocess_reports_bad_input_without_a_traceback(tmp_path):
    result = run_cli("--checkpoint-dir", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == f"error: {tmp_path / 'absent'}: no such folder"
