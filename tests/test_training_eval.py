"""Measured during training, through main.py's own training path (trainers/rl_run.py) on the tiny text model.

Specified here:
- ``--eval-steps 1 --eval-num-samples 8 --eval-subset-size 4`` logs ``eval/pass@1`` ... ``eval/pass@8`` and
  ``eval/accuracy`` at the start and after every step, in trainer_state.json, as the unbiased estimator of the
  held-out problems' correct counts; monitor_training.py plots them; the evaluation leaves the training's own
  rollouts as they would be without it;
- ``--log-kl`` at beta 0 logs a KL to the start model that is 0 on the first update of a fresh run and positive
  after updates at a high learning rate, with LoRA (adapters off for the reference pass) and with full
  fine-tuning (a frozen copy); TRL's ``entropy`` (over the kept completions' tokens) is logged beside it;
- the flags are refused, in one line, outside the RL modes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlvr.errors import UserError
from rlvr.estimators import pass_at_k
from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.rl_run import build_rl_trainer
from trainers.training_eval import eval_k_values, pass_at_k_metrics

# NSR on Countdown with the random tiny model: every sample is wrong, so every sample is kept at advantage -1 and
# the weights move at every update.
RUN = [
    "--model", "tiny-text", "--task", "countdown", "--mode", "nsr", "--report-to", "none", "--subset-size", "4",
    "--num-generations", "2", "--max-completion-length", "6", "--no-resume", "--logging-steps", "1",
]  # fmt: skip


def train(flags: list[str], output_dir) -> tuple[object, list[dict]]:
    config = parse_run_config([*RUN, *flags, "--output-dir", str(output_dir)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    trainer.train()
    trainer.save_state()
    state = json.loads((output_dir / "trainer_state.json").read_text())
    return trainer, state["log_history"]


def test_pass_at_k_during_training_is_logged_and_plotted(tmp_path, capsys):
    flags = ["--max-steps", "2", "--eval-steps", "1", "--eval-num-samples", "8", "--eval-subset-size", "4"]
    trainer, history = train(flags, tmp_path / "run")
    evaluations = [entry for entry in history if "eval/pass@1" in entry]
    assert [entry["step"] for entry in evaluations] == [0, 1, 2]  # the start, then every step
    assert [entry["step"] for entry in history if "loss" in entry] == [1, 2]  # the training's own logs stay
    for entry in evaluations:
        assert {f"eval/pass@{k}" for k in (1, 2, 4, 8)} | {"eval/accuracy", "eval/seconds"} <= set(entry)
        values = [entry[f"eval/pass@{k}"] for k in (1, 2, 4, 8)]
        assert all(0.0 <= value <= 1.0 for value in values) and values == sorted(values)
        assert entry["eval/accuracy"] == pytest.approx(entry["eval/pass@1"])
        assert "eval_reward" in entry  # TRL's own metrics of the same samples
    assert "EVAL [step 2]: 4 problems x 8 samples" in capsys.readouterr().out
    assert trainer.num_generations_eval == trainer.num_generations  # restored after each evaluation

    from monitor_training import main as monitor_main

    assert monitor_main(["--checkpoint-dir", str(tmp_path / "run"), "--output-dir", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "eval_pass_at_k.png").stat().st_size > 0


def test_each_held_out_problem_is_counted_from_its_own_samples(tmp_path):
    """A stand-in verifiable reward: every other sample correct on problems with an even target, none elsewhere."""
    config = parse_run_config([*RUN, "--eval-steps", "1", "--eval-subset-size", "6", "--output-dir", str(tmp_path)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))

    def half_right_on_even_targets(completions, target, **kwargs):
        return [float(number % 2 == 0 and index % 2 == 0) for index, number in enumerate(target)]

    trainer.reward_funcs[trainer._correctness_index] = half_right_on_even_targets
    [evaluation] = [callback for callback in trainer.callback_handler.callbacks if hasattr(callback, "evaluate")]
    metrics = evaluation.evaluate()
    correct = np.array([4 if row["target"] % 2 == 0 else 0 for row in evaluation.rows])
    assert 0 < correct.sum() < 4 * len(correct)  # both kinds of problem are among the six
    for k in (1, 2, 4, 8):
        assert metrics[f"eval/pass@{k}"] == pytest.approx(pass_at_k(np.full(6, 8), correct, k).mean())
    assert metrics["eval/accuracy"] == pytest.approx(correct.sum() / 48)
    assert trainer.state.log_history[-1]["eval/pass@2"] == metrics["eval/pass@2"]


def test_the_evaluation_leaves_the_training_rollouts_unchanged(tmp_path):
    flags = ["--max-steps", "2", "--learning-rate", "0"]
    _, plain = train(flags, tmp_path / "plain")
    _, evaluated = train([*flags, "--eval-steps", "1", "--eval-subset-size", "2"], tmp_path / "evaluated")
    training = [[entry.get("reward"), entry.get("completions/mean_length")] for entry in plain if "loss" in entry]
    with_eval = [[entry.get("reward"), entry.get("completions/mean_length")] for entry in evaluated if "loss" in entry]
    assert training == with_eval and len(training) == 2


@pytest.mark.parametrize("lora", ["--lora", "--no-lora"])
def test_log_kl_is_0_at_the_first_update_and_grows_after_updates(lora, tmp_path):
    trainer, history = train(["--max-steps", "3", "--learning-rate", "0.01", "--log-kl", lora], tmp_path / "run")
    steps = {entry["step"]: entry for entry in history if "loss" in entry}
    assert steps[1]["kl"] == pytest.approx(0.0, abs=1e-6)  # the policy is the start model before its first update
    assert steps[3]["kl"] > 1e-4
    assert all("entropy" in entry for entry in steps.values())
    assert (trainer._start_model_copy is None) == (lora == "--lora")  # LoRA: adapters off, no second copy


def test_no_kl_is_logged_without_the_flag_at_beta_0(tmp_path):
    _, history = train(["--max-steps", "1"], tmp_path / "run")
    assert not any("kl" in entry for entry in history)


def test_pass_at_k_metrics_are_the_unbiased_estimator():
    assert eval_k_values(8) == [1, 2, 4, 8] and eval_k_values(6) == [1, 2, 4, 6] and eval_k_values(1) == [1]
    metrics = pass_at_k_metrics(np.array([0, 1, 8]), 8)
    assert metrics["eval/pass@1"] == pytest.approx((0 + 1 / 8 + 1) / 3)
    assert metrics["eval/pass@2"] == pytest.approx((0 + 2 / 8 + 1) / 3)  # 1 - C(7, 2) / C(8, 2) = 1/4
    assert metrics["eval/pass@8"] == pytest.approx(2 / 3)
    assert metrics["eval/accuracy"] == pytest.approx(9 / 24)


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--mode", "sft", "--eval-steps", "5"], "--eval-steps is for the RL modes"),
        (["--mode", "dpo", "--beta", "0.1", "--log-kl"], "--log-kl is for the RL modes"),
        (["--eval-dataset", "synthetic"], "--eval-dataset goes with --eval-steps"),
        (["--eval-steps", "0"], "--eval-steps must be a positive integer"),
        (["--eval-steps", "1", "--eval-num-samples", "0"], "--eval-num-samples must be a positive integer"),
        (["--eval-steps", "1", "--dataset-path", "rows.parquet"], "needs --eval-dataset"),
    ],
)
def test_the_flags_are_checked(flags, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        parse_run_config(["--model", "tiny-text", "--task", "countdown", *flags])


def test_the_monitor_draws_pass_at_k_per_k_and_the_kl():
    from trainers.monitor_plots import draw_plots, plot_eval_pass_at_k

    history = [
        {"step": step, "eval/pass@1": 0.1 * step, "eval/pass@4": 0.2 * step, "kl": 0.01 * step} for step in (0, 1, 2)
    ]
    [ax] = plot_eval_pass_at_k({"run": history}).axes
    assert [line.get_label() for line in ax.get_lines()] == ["pass@1", "pass@4"]
    compared = plot_eval_pass_at_k({"GRPO": history, "NSR": history})
    assert [ax.get_title() for ax in compared.axes if ax.get_visible()] == ["Held-out Pass@1", "Held-out Pass@4"]
    figures, notes = draw_plots({"run": history})
    assert {"kl.png", "eval_pass_at_k.png"} <= set(figures)
    figures, notes = draw_plots({"run": [{"step": 1, "loss": 1.0}]})
    assert not {"kl.png", "eval_pass_at_k.png"} & set(figures) and not any("kl" in note for note in notes)
