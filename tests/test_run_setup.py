"""Run setup: logging backends without prompts, and where a run resumes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainers.resume import find_resume_checkpoint
from trainers.setup import setup_reporting


@pytest.fixture
def no_wandb_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("NETRC", str(tmp_path / "missing-netrc"))


def test_wandb_without_credentials_runs_offline_and_says_so_once(no_wandb_credentials, monkeypatch, capsys):
    import os

    assert setup_reporting("wandb") == ["wandb"]
    assert os.environ["WANDB_MODE"] == "offline"
    assert os.environ["WANDB_PROJECT"] == "chartrl-nsr"
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "offline" in lines[0]


def test_wandb_with_an_api_key_stays_online(no_wandb_credentials, monkeypatch, capsys):
    import os

    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert setup_reporting("wandb") == ["wandb"]
    assert "WANDB_MODE" not in os.environ
    assert capsys.readouterr().out == ""


def test_tensorboard_and_none():
    assert setup_reporting("tensorboard") == ["tensorboard"]
    assert setup_reporting("none") == []


def make_checkpoint(run: Path, step: int) -> None:
    folder = run / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")


def test_resume_picks_the_newest_checkpoint_by_step(tmp_path):
    for step in (50, 100, 150):
        make_checkpoint(tmp_path, step)
    assert Path(find_resume_checkpoint(str(tmp_path), no_resume=False)).name == "checkpoint-150"
    assert find_resume_checkpoint(str(tmp_path), no_resume=True) is None
    assert find_resume_checkpoint(str(tmp_path / "absent"), no_resume=False) is None


def test_known_dependency_warnings_are_filtered_by_name_and_others_still_show():
    import logging
    import warnings

    from rlvr.cli import filter_known_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filter_known_warnings()
        warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning, 1)
        warnings.warn("`something_else` is deprecated", FutureWarning, 1)
    assert [str(warning.message) for warning in caught] == ["`something_else` is deprecated"]
    deepspeed_logger = logging.getLogger("DeepSpeed")
    notice = deepspeed_logger.makeRecord("DeepSpeed", logging.WARNING, "x", 1, "Setting accelerator to CPU.", (), None)
    other = deepspeed_logger.makeRecord("DeepSpeed", logging.WARNING, "x", 1, "ZeRO stage 3 on", (), None)
    assert not deepspeed_logger.filter(notice) and deepspeed_logger.filter(other)


def test_the_console_gets_one_short_line_per_log(capsys):
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from trainers.setup import short_console_log

    callback = short_console_log()()
    state = TrainerState(global_step=7)
    args = TrainingArguments(output_dir="unused", report_to=[])
    capsys.readouterr()  # what building the arguments printed
    logs = {"loss": 0.123456, "learning_rate": 1e-5, "grad_norm": 2.0, "rewards/accuracy_reward/mean": 0.5}
    callback.on_log(args, state, TrainerControl(), logs=logs)
    callback.on_log(args, state, TrainerControl(), logs={"train_runtime": 12.4})
    assert capsys.readouterr().out.splitlines() == [
        "step 7: loss 0.1235, learning rate 1e-05",
        "trained to step 7 in 12 s",
    ]


@pytest.mark.parametrize(("report_to", "kept"), [("none", False), ("tensorboard", False), ("wandb", True)])
def test_wandb_offline_mode_is_forgotten_when_wandb_is_not_used(report_to, kept, monkeypatch, tmp_path):
    # transformers prints "Running in WANDB offline mode" on import whenever WANDB_MODE=offline is set.
    import main as train_main

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(train_main, "run", lambda *args: None)  # stop before the data and the model
    train_main.main(["--mode", "nsr", "--report-to", report_to, "--output-dir", str(tmp_path / "run")])
    assert ("WANDB_MODE" in os.environ) == kept


def test_a_real_models_pixel_budget_raises_no_warning_per_call(tiny_vl_path):
    # min_pixels/max_pixels given to from_pretrained are kept as call arguments and warn on every rollout.
    import warnings

    from PIL import Image

    from rlvr.models.registry import ResolvedModel, load_processor

    processor = load_processor(ResolvedModel("real-like", str(tiny_vl_path), True, is_tiny=False))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "value?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        processor(text=[text], images=[Image.new("RGB", (64, 64))], return_tensors="pt")
