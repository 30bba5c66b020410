"""``--log-completions``: a sample of every training rollout in completions.jsonl (trainers/completion_log.py).

Specified here:
- each rollout appends one line per prompt for its first prompts, every completion of the prompt in it with its
  text, its reward per reward function (None where a function does not apply), whether it is correct, whether the
  objective kept it and the advantage it was trained with: NSR keeps the wrong samples at -1, PSR the right ones at
  +1, and the dropped ones are marked so;
- the flag also turns on TRL's own completions table (GRPOConfig.log_completions); without it nothing is written;
- it is refused, in one line, outside the RL modes; ``--no-resume --overwrite`` removes an old run's file; changing
  it does not stop a resume.
"""

from __future__ import annotations

import json
import math

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.completion_log import COMPLETIONS_FILE, prompt_text, rollout_records
from trainers.config_parser import parse_run_config
from trainers.resume import discard_previous_run
from trainers.rl_run import build_rl_trainer
from trainers.run_record import SAFE_TO_CHANGE

RUN = [
    "--model", "tiny-text", "--task", "countdown", "--report-to", "none", "--subset-size", "4",
    "--num-generations", "2", "--max-completion-length", "6", "--no-resume", "--logging-steps", "1",
    "--max-steps", "2",
]  # fmt: skip


def half_right(completions, **kwargs):
    """A stand-in verifiable reward: the first sample of every group right, the second wrong."""
    return [float(index % 2 == 0) for index in range(len(completions))]


def train(mode: str, output_dir, *flags: str) -> list[dict]:
    config = parse_run_config([*RUN, "--mode", mode, *flags, "--output-dir", str(output_dir)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    trainer.reward_funcs[trainer._correctness_index] = half_right
    trainer.train()
    assert trainer.args.log_completions == ("--log-completions" in flags)  # TRL's own table goes with it
    path = output_dir / COMPLETIONS_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(("mode", "kept_when_correct", "advantage"), [("psr", True, 1.0), ("nsr", False, -1.0)])
def test_each_rollout_writes_what_the_objective_kept(tmp_path, mode, kept_when_correct, advantage):
    records = train(mode, tmp_path / mode, "--log-completions")
    assert sorted({record["step"] for record in records}) == [0, 1]  # one rollout per step, written as it is scored
    for record in records:
        assert (
            record["prompt"].startswith("system: You solve arithmetic puzzles.")
            and "Using the numbers" in record["prompt"]
        )
        samples = record["completions"]
        assert len(samples) == 2 and [sample["correct"] for sample in samples] == [True, False]
        for sample in samples:
            assert isinstance(sample["completion"], str)
            assert sample["rewards"]["countdown_accuracy_reward"] == float(sample["correct"])
            assert sample["kept"] == (sample["correct"] == kept_when_correct)
            assert sample["advantage"] == (advantage if sample["kept"] else 0.0)
    assert (tmp_path / mode / "completions").is_dir()  # TRL's parquet tables, one per log


def test_nothing_is_written_without_the_flag(tmp_path):
    assert train("grpo", tmp_path / "run") == []


def test_records_group_the_samples_of_each_prompt():
    prompts = ["p0", "p0", "p1", "p1", "p2", "p2"]
    records = rollout_records(
        step=3,
        prompts=prompts,
        completions=[f"c{index}" for index in range(6)],
        rewards={"accuracy_reward": [1.0, 0.0, math.nan, 1.0, 0.0, 0.0]},
        correct=[True, False, False, True, False, False],
        kept=[True, False, False, True, False, False],
        advantages=[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        group_size=2,
        max_groups=2,
    )
    assert [record["prompt"] for record in records] == ["p0", "p1"]  # the first max_groups prompts only
    assert [sample["completion"] for sample in records[1]["completions"]] == ["c2", "c3"]
    assert records[1]["completions"][0]["rewards"] == {"accuracy_reward": None}  # NaN: the function did not apply
    assert json.loads(json.dumps(records)) == records


def test_a_conversational_prompt_reads_as_text():
    prompt = [
        {"role": "system", "content": [{"type": "text", "text": "Answer briefly."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What kind of chart is this?"}]},
    ]
    assert prompt_text(prompt) == "system: Answer briefly.\nuser: <image>What kind of chart is this?"


def test_refused_outside_rl_and_free_to_change_on_resume(tmp_path):
    with pytest.raises(UserError, match=r"^--log-completions is for the RL modes"):
        parse_run_config(["--mode", "sft", "--log-completions", "--output-dir", str(tmp_path)])
    assert "log_completions" in SAFE_TO_CHANGE


def test_starting_over_removes_the_old_runs_sample(tmp_path):
    (tmp_path / COMPLETIONS_FILE).write_text('{"step": 0}\n')
    discard_previous_run(str(tmp_path))
    assert not (tmp_path / COMPLETIONS_FILE).exists()
