"""The user's own rewards, as TRL's grpo.py takes them: ``--reward-funcs`` accepts a dotted path
``package.module.function`` and ``path/to/file.py:function`` beside the task's reward names; they train, are logged
under the function's name, and ``--correctness-reward`` says which reward decides correctness (the task's accuracy
reward when not given). A reward that cannot be loaded is refused in one line naming it."""

from __future__ import annotations

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.tasks import get_task
from rlvr.tasks.base import select_rewards
from trainers.config_parser import parse_run_config
from trainers.rl_run import build_rl_trainer

FILE_REWARD = """
def length_bonus(completions, **columns):
    texts = [c if isinstance(c, str) else c[0]["content"] for c in completions]
    return [min(len(text), 10) / 10 for text in texts]
"""
PACKAGE_REWARD = """
def always_half(completions, target, **columns):  # a dataset column arrives as a keyword argument
    assert len(target) == len(completions)
    return [0.5] * len(completions)
"""


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    """my_rewards.py in a folder, and the package userpkg importable (as with PYTHONPATH=.)."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "my_rewards.py").write_text(FILE_REWARD)
    (tmp_path / "userpkg").mkdir()
    (tmp_path / "userpkg" / "__init__.py").write_text("")
    (tmp_path / "userpkg" / "rewards.py").write_text(PACKAGE_REWARD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_rewards_from_a_file_and_a_dotted_path_train_and_are_logged_by_name(user_code):
    config = parse_run_config(
        ["--model", "tiny-text", "--task", "countdown", "--max-steps", "1", "--report-to", "none", "--subset-size",
         "4", "--max-completion-length", "6", "--no-lora", "--logging-steps", "1", "--output-dir", "run",
         "--reward-funcs", "elsewhere/my_rewards.py:length_bonus", "userpkg.rewards.always_half",
         "--correctness-reward", "userpkg.rewards.always_half"]
    )  # fmt: skip
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    assert trainer.reward_func_names == ["length_bonus", "always_half"]
    assert trainer.objective.correctness_reward == "always_half"
    trainer.train()
    logged = trainer.state.log_history[0]
    assert 0 <= logged["rewards/length_bonus/mean"] <= 1 and logged["rewards/always_half/mean"] == 0.5
    assert logged["objective/positive_frac"] == 1.0  # 0.5 reaches the threshold of 0.5: every sample is correct


def test_the_task_accuracy_reward_decides_unless_told_otherwise(user_code):
    task = get_task("countdown")
    default = select_rewards(task, ["elsewhere/my_rewards.py:length_bonus"], None, needs_correctness=True)
    assert default.names == ["length_bonus", "countdown_accuracy_reward"] and default.weights == [1.0, 0.0]
    assert default.correctness_reward == "countdown_accuracy_reward"
    chosen = select_rewards(
        task, ["countdown_accuracy_reward"], None, needs_correctness=True, correctness="userpkg.rewards.always_half"
    )
    assert chosen.names == ["countdown_accuracy_reward", "always_half"] and chosen.weights == [1.0, 0.0]
    assert chosen.correctness_reward == "always_half"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.py:f", "missing.py does not exist"),
        ("elsewhere/my_rewards.py:nope", "has no function 'nope'"),
        ("elsewhere/my_rewards.py:FILE", "not a function"),
        ("elsewhere/broken.py:f", "importing elsewhere/broken.py failed: ZeroDivisionError"),
        ("no_such_package.rewards.f", "cannot import no_such_package.rewards: ModuleNotFoundError"),
        ("userpkg.rewards.nope", "userpkg.rewards has no function 'nope'"),
        ("elsewhere/my_rewards.txt:f", "is no .py file"),
    ],
)
def test_a_reward_that_cannot_load_is_one_line(spec, message, user_code):
    (user_code / "elsewhere" / "broken.py").write_text("1 / 0\n")
    (user_code / "elsewhere" / "my_rewards.py").write_text(FILE_REWARD + "FILE = 3\n")
    with pytest.raises(UserError, match=message) as error:
        select_rewards(get_task("countdown"), [spec], None, needs_correctness=True)
    assert spec in str(error.value) and "\n" not in str(error.value)


def test_an_unknown_correctness_reward_is_refused():
    with pytest.raises(UserError, match="--correctness-reward speed is neither among"):
        select_rewards(get_task("countdown"), None, None, needs_correctness=True, correctness="speed")
    with pytest.raises(UserError, match="--correctness-reward is for the RL modes"):
        parse_run_config(["--mode", "sft", "--correctness-reward", "accuracy_reward"])
