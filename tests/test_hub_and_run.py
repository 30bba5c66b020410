"""The hub and the run, as TRL users set them: --push-to-hub / --hub-model-id / --hub-private-repo reach TRL's
TrainingArguments (checked offline; the upload itself needs the hub), the model card names the mode and its
objective, --resume-from-checkpoint resumes a named checkpoint under the same settings guard as an automatic
resume, --system-prompt replaces the task's system turn, --log-completions, --report-to with several values,
--run-name, and the wandb project from WANDB_PROJECT."""

from __future__ import annotations

import json
import os

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from rlvr.tasks import get_task
from rlvr.tasks.system_prompt import with_system_prompt
from trainers.config_parser import parse_run_config
from trainers.geometry import batch_geometry
from trainers.micro_batch import with_micro_batch
from trainers.resume import check_named_checkpoint
from trainers.rl_run import build_rl_trainer
from trainers.run_record import write_run_record
from trainers.setup import WANDB_PROJECT, build_grpo_config, run_name_for, setup_reporting

TEXT_RUN = [
    "--model", "tiny-text", "--task", "countdown", "--max-steps", "1", "--report-to", "none", "--subset-size", "2",
    "--num-generations", "2", "--max-completion-length", "4", "--no-lora",
]  # fmt: skip


def test_hub_flags_reach_training_arguments_without_network(tmp_path):
    config = parse_run_config(
        ["--push-to-hub", "--hub-model-id", "x/y", "--hub_private_repo", "true", "--output-dir", str(tmp_path)]
    )
    args = build_grpo_config(config, batch_geometry(config, 1), "run", [])
    assert (args.push_to_hub, args.hub_model_id, args.hub_private_repo) == (True, "x/y", True)


@pytest.mark.parametrize(("mode", "words"), [("nsr", "negative sample reinforcement"), ("grpo", "GRPO (--mode grpo")])
def test_the_model_card_names_the_mode_and_its_objective(mode, words, tmp_path):
    config = parse_run_config([*TEXT_RUN, "--mode", mode, "--output-dir", str(tmp_path)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    trainer.create_model_card(model_name="my-model")
    card = (tmp_path / "README.md").read_text()
    assert f"--mode {mode}" in card and words in card and f"- {mode}" in card  # the text and a hub tag
    assert ("2506.01347" in card) == (mode != "grpo")  # the decomposed objectives' paper


def test_system_prompt_log_completions_and_run_name_reach_the_trainer(tmp_path):
    flags = ["--system-prompt", "Answer in one line.", "--log-completions", "--run-name", "mine"]
    config = parse_run_config([*TEXT_RUN, *flags, "--output-dir", str(tmp_path)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    prompt = trainer.train_dataset[0]["prompt"]
    assert prompt[0] == {"role": "system", "content": "Answer in one line."} and prompt[1]["role"] == "user"
    assert trainer.args.log_completions is True and trainer.args.run_name == "mine" == run_name_for(config)


def test_a_system_prompt_keeps_the_tasks_content_format():
    chart = with_system_prompt(get_task("chart"), "Be brief.").build_prompt({"query": "Highest?"}, "direct")
    assert chart[0] == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert chart[1]["content"][0] == {"type": "image"}
    row = {"nums": [1, 2], "target": 3}
    assert [turn["role"] for turn in with_system_prompt(get_task("countdown"), "").build_prompt(row, "think")] == [
        "user"
    ]
    assert with_system_prompt(get_task("countdown"), None) is get_task("countdown")


def test_report_to_takes_several_values_and_wandb_keeps_the_users_project(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert parse_run_config(["--report-to", "tensorboard", "wandb"]).report_to == ("tensorboard", "wandb")
    monkeypatch.setenv("WANDB_PROJECT", "my-project")
    assert setup_reporting(("tensorboard", "wandb")) == ["tensorboard", "wandb"]
    assert setup_reporting(("none",)) == [] and setup_reporting(("tensorboard",)) == ["tensorboard"]
    assert os.environ["WANDB_PROJECT"] == "my-project"
    monkeypatch.delenv("WANDB_PROJECT")
    setup_reporting(("wandb",))
    assert os.environ["WANDB_PROJECT"] == WANDB_PROJECT
    with pytest.raises(UserError, match="--report-to none goes alone"):
        parse_run_config(["--report-to", "none", "wandb"])


def as_main_resolves(flags: list[str]):
    """The configuration main.py checks a resume with: the micro-batch filled in (the chart task, one process)."""
    return with_micro_batch(parse_run_config(flags), 1, True)


def recorded_run(folder, *flags: str) -> None:
    write_run_record(as_main_resolves(["--mode", "nsr", "--output-dir", str(folder), *flags]), resumed_from=None)
    for step in (2, 4):
        (folder / f"checkpoint-{step}").mkdir()
        (folder / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (folder / "checkpoint-4" / "trainer_state.json").write_text('{"global_st')  # killed while saving


def test_a_named_checkpoint_resumes_under_the_same_settings_guard(tmp_path):
    recorded_run(tmp_path / "old", "--learning-rate", "2e-6")

    def named(checkpoint: str, *flags: str) -> str | None:
        config = as_main_resolves(
            ["--mode", "nsr", "--output-dir", str(tmp_path / "new"), "--resume-from-checkpoint", checkpoint, *flags]
        )
        return check_named_checkpoint(config)

    good = str(tmp_path / "old" / "checkpoint-2")
    assert named(good, "--learning-rate", "2e-6", "--max-steps", "8") == good
    with pytest.raises(UserError, match="belongs to another run \\(learning_rate 2e-06 -> 1e-05\\)"):
        named(good)
    with pytest.raises(UserError, match="incomplete"):
        named(str(tmp_path / "old" / "checkpoint-4"), "--learning-rate", "2e-6")
    with pytest.raises(UserError, match="no such folder"):
        named(str(tmp_path / "old" / "checkpoint-9"))
    with pytest.raises(UserError, match="not a checkpoint-N folder"):
        named(str(tmp_path / "old"))
    with pytest.raises(UserError, match="contradict each other"):
        parse_run_config(["--resume-from-checkpoint", good, "--no-resume"])


def test_main_resumes_the_named_checkpoint(tmp_path, monkeypatch):
    import main as train_main

    recorded_run(tmp_path / "old")
    seen = {}
    monkeypatch.setattr(train_main, "run", lambda config, task, geometry, checkpoint: seen.update(at=checkpoint))
    checkpoint = str(tmp_path / "old" / "checkpoint-2")
    flags = ["--mode", "nsr", "--output-dir", str(tmp_path / "new"), "--report-to", "none"]
    train_main.main([*flags, "--resume-from-checkpoint", checkpoint])
    assert seen == {"at": checkpoint}


def test_generate_samples_samples_under_the_same_system_prompt():
    import generate_samples

    args = generate_samples.build_parser().parse_args(["--checkpoint-path", "tiny", "--system-prompt", "Be brief."])
    task = with_system_prompt(get_task("chart"), args.system_prompt)
    assert generate_samples.settings_for(args, task).system_prompt == "Be brief."  # a resume checks it too
    assert task.build_prompt({"query": "Highest?"}, "direct")[0]["content"] == [{"type": "text", "text": "Be brief."}]


def test_one_tracker_may_still_be_given_as_a_string():
    from trainers.config import RunConfig

    assert RunConfig(report_to="none").report_to == ("none",)
