"""A TRL user's command line and YAML work here: every GRPOConfig / TrainingArguments field under TRL's name
(``--epsilon_high`` or ``--epsilon-high``), read from TRL's dataclass and forwarded unchanged; our own options
under TRL's names for them (``--model_name_or_path``, ``--num_train_epochs``, ``--use_peft``, ``--lora_r``);
fields that would undo a decomposed objective refused in one line naming why; no abbreviated flags anywhere."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.rl_run import build_rl_trainer
from trainers.run_record import differences_from_recorded

REPO_ROOT = Path(__file__).resolve().parents[1]
ONE_STEP = [
    "--model", "tiny-text", "--task", "countdown", "--max-steps", "1", "--report-to", "none", "--subset-size", "4",
    "--max-completion-length", "6", "--no-lora",
]  # fmt: skip


def test_trl_fields_train_in_grpo_mode_and_reach_the_trainer(tmp_path):
    config = parse_run_config(
        [
            *ONE_STEP,
            "--num_generations",
            "4",
            "--epsilon_high",
            "0.28",
            "--top-p",
            "0.9",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert config.num_generations == 4 and config.trl_args == {"epsilon_high": 0.28, "top_p": 0.9}
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    assert trainer.args.epsilon_high == 0.28 and trainer.epsilon_high == 0.28 and trainer.args.top_p == 0.9
    trainer.train()
    assert trainer.state.global_step == 1


def test_dashes_and_underscores_are_the_same_field():
    dashed = parse_run_config(["--mask-truncated-completions", "true", "--importance-sampling-level", "sequence"])
    underscored = parse_run_config(["--mask_truncated_completions", "--importance_sampling_level=sequence"])
    assert (
        dashed.trl_args
        == underscored.trl_args
        == {
            "mask_truncated_completions": True,
            "importance_sampling_level": "sequence",
        }
    )
    assert parse_run_config(["--num_generations", "6"]).num_generations == 6
    assert parse_run_config(["--no_lora"]).lora is False


def test_our_options_answer_to_trl_names():
    config = parse_run_config(
        ["--model_name_or_path", "tiny-text", "--task", "countdown", "--num_train_epochs", "2", "--use_peft",
         "--lora_r", "4", "--per_device_train_batch_size", "4", "--warmup_steps", "3", "--dataset_train_split", "dev"]
    )  # fmt: skip
    assert (config.model, config.num_epochs, config.lora, config.lora_rank) == ("tiny-text", 2, True, 4)
    assert (config.batch_size, config.warmup, config.split, config.trl_args) == (4, 3, "dev", {})


def test_an_open_r1_style_yaml_is_read(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "model_name_or_path: tiny-text\ntask: countdown\nnum_train_epochs: 1\nuse_peft: false\nlora_r: 16\n"
        "epsilon_high: 0.28\nlog_completions: true\ngeneration_kwargs: {top_k: 20}\ngradient_checkpointing: false\n"
        "lr_scheduler_type: cosine\nnum_generations: 8\n"
    )
    config = parse_run_config(["--config", str(recipe), "--epsilon-high", "0.3"])
    assert (config.model, config.lora, config.lora_rank, config.num_generations) == ("tiny-text", False, 16, 8)
    assert config.disable_gradient_checkpointing is True  # TRL's gradient_checkpointing, said the other way
    assert config.log_completions is True  # an option of ours under TRL's name
    assert config.trl_args == {"epsilon_high": 0.3, "generation_kwargs": {"top_k": 20}}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--learning", "0"], "unrecognized arguments: --learning 0"),
        (["--mode", "nsr", "--scale_rewards", "none"], "--scale_rewards does not apply to --mode nsr"),
        (["--mode", "psr", "--multi_objective_aggregation", "normalize_then_sum"], "does not apply to --mode psr"),
        (["--mode", "w-reinforce", "--loss_type", "dr_grpo"], "needs a token-mean loss"),
        (["--generation_batch_size", "8"], "use --steps-per-generation"),
        (["--mode", "eval", "--top_p", "0.5"], "--mode eval trains nothing"),
        (["--epsilon_high", "wide"], "invalid float value: 'wide'"),
        (["--generation_kwargs", "{top_k: 1}"], "--generation_kwargs '{top_k: 1}' is not a JSON object"),
        (["--mode", "dpo", "--beta", "0.1", "--epsilon_high", "0.3"], "field of TRL's DPOConfig"),
    ],
)
def test_conflicts_and_unknown_fields_are_one_line(flags, message):
    with pytest.raises(UserError) as error:
        parse_run_config(flags)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_grpo_mode_takes_what_the_decomposed_modes_refuse():
    config = parse_run_config(["--scale_rewards", "none", "--loss_type", "dr_grpo", "--mode", "grpo"])
    assert config.trl_args == {"scale_rewards": "none"} and config.loss_type == "dr_grpo"


def test_a_yaml_key_that_is_nothing_is_named(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("epsilon_hgh: 0.28\n")
    with pytest.raises(UserError, match="unknown option 'epsilon_hgh'") as error:
        parse_run_config(["--config", str(recipe)])
    assert str(recipe) in str(error.value)


def test_a_changed_trl_field_is_another_run():
    first = parse_run_config(["--epsilon_high", "0.28"])
    assert differences_from_recorded(first, first.as_dict()) == []
    other = parse_run_config(["--epsilon_high", "0.3"])
    assert differences_from_recorded(other, first.as_dict()) == [
        "trl_args {'epsilon_high': 0.28} -> {'epsilon_high': 0.3}"
    ]


def test_main_refuses_an_abbreviated_flag_in_one_line():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--learning", "0", "--report-to", "none"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unrecognized arguments: --learning 0" in result.stderr.strip().splitlines()[-1]


SCRIPTS = {
    "generate_samples": "--checkpoint-path",
    "monitor_training": "--checkpoint-dir",
    "evaluation.pass_at_k": "--confidence",
    "evaluation.plotting": "--results",
    "evaluation.merge_samples": "--output-path",
}


@pytest.mark.parametrize(("module", "flag"), SCRIPTS.items())
def test_no_script_takes_a_prefix_of_a_flag(module, flag):
    parser = importlib.import_module(module).build_parser()
    assert parser._parse_optional(flag[:-2])[0] is None  # a prefix is an unknown flag, not this one


def test_every_script_takes_underscore_spellings():
    parser = importlib.import_module("monitor_training").build_parser()
    assert parser.parse_args(["--checkpoint_dir", "run", "--output_dir", "plots"]).output_dir == Path("plots")


def test_switches_take_true_and_false_as_hf_argument_parser_does():
    config = parse_run_config(["--use_peft", "false", "--no_resume", "true", "--use_vllm", "True", "--overwrite", "0"])
    assert (config.lora, config.no_resume, config.use_vllm, config.overwrite) == (False, True, True, False)
    assert parse_run_config(["--gradient_checkpointing", "false"]).disable_gradient_checkpointing is True
    assert parse_run_config(["--use_peft"]).lora is True


def test_the_command_line_wins_over_a_trl_field_of_the_file_that_is_one_of_our_options(tmp_path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("gradient_checkpointing: true\n")
    from_file = parse_run_config(["--config", str(config_file)])
    assert from_file.disable_gradient_checkpointing is False
    both = parse_run_config(["--config", str(config_file), "--disable-gradient-checkpointing"])
    assert both.disable_gradient_checkpointing is True
