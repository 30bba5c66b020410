"""Run setup: logging backends without prompts, and where a run resumes from."""

from __future__ import annotations

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
