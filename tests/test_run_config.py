"""The run configuration: one frozen object, parsed once; YAML and command-line values meet the same checks."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rlvr.errors import UserError
from trainers.config import DEFAULTS, RunConfig
from trainers.config_parser import parse_run_config
from trainers.run_record import write_run_record

# (option as a YAML key, the same value as command-line text, words the one-line error must contain)
BAD_VALUES = [
    ("mode", "bogus", "invalid choice: 'bogus'"),
    ("learning_rate", "fast", "invalid float value: 'fast'"),
    ("learning_rate", "-1e-5", "--learning-rate must be a finite number of at least 0"),
    ("warmup", "-5", "--warmup must be a finite number of at least 0"),
    ("num_epochs", "-1", "--num-epochs must be a finite number above 0"),
    ("max_steps", "0", "--max-steps must be a positive integer, or -1"),
    ("reward_threshold", "nan", "--reward-threshold must be a finite number"),
    ("lambda_psr", "-3", "--lambda-psr must be a finite number of at least 0"),
    ("save_total_limit", "-1", "--save-total-limit must be a positive integer"),
    ("num_generations", "1", "--num-generations must be at least 2"),
    ("batch_size", "2.5", "invalid int value: '2.5'"),
    ("temperature", "0", "--temperature must be a finite number of at least 0.0001"),
]


@pytest.mark.parametrize(("key", "text", "message"), BAD_VALUES, ids=[case[0] + "=" + case[1] for case in BAD_VALUES])
def test_yaml_and_command_line_values_are_checked_alike(key, text, message, tmp_path):
    with pytest.raises(UserError, match=message) as from_cli:
        parse_run_config([f"--{key.replace('_', '-')}={text}"])
    config = tmp_path / "run.yaml"
    config.write_text(f"{key}: {text}\n")
    with pytest.raises(UserError, match=message) as from_yaml:
        parse_run_config(["--config", str(config)])
    assert str(from_yaml.value).startswith(f"config file {config}: ")
    assert "\n" not in str(from_cli.value) and "\n" not in str(from_yaml.value)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("learning_rate: [1, 2]\n", "learning_rate takes one value, got list"),
        ("lora: 3\n", "lora must be true or false"),
        ("no_resume: yes please\n", "no_resume must be true or false"),
        ("colour: blue\n", "unknown option 'colour'"),
        ("- a\n- b\n", "must hold a mapping"),
        ("mode: [\n", "is not valid YAML"),
        ("reward_funcs: [[a]]\n", "must be a value or a list of values"),
        # A key given twice (YAML alone keeps the last), at any depth, or one option under two spellings
        ("seed: 1\nlearning_rate: 1e-5\nseed: 2\n", "the key 'seed' is given twice .lines 1 and 3.; keep one"),
        ("generation_kwargs:\n  top_k: 3\n  top_k: 4\n", "the key 'top_k' is given twice .lines 2 and 3."),
        ("learning_rate: 1e-5\nlearning-rate: 2e-5\n", "'learning_rate' and 'learning-rate' both set --learning-rate"),
        ("num_epochs: 1\nnum_train_epochs: 2\n", "'num_epochs' and 'num_train_epochs' both set --num-epochs"),
    ],
)
def test_malformed_yaml_is_one_line_naming_the_file(yaml_text, message, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml_text)
    with pytest.raises(UserError, match=message) as error:
        parse_run_config(["--config", str(config)])
    assert str(config) in str(error.value) and "\n" not in str(error.value)


def test_the_command_line_overrides_a_bad_yaml_value(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("learning_rate: -1\nmode: nsr\n")
    assert parse_run_config(["--config", str(config), "--learning-rate", "1e-6"]).learning_rate == 1e-6


def test_yaml_lists_booleans_and_nulls_map_to_flags(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "reward_funcs: [format_reward, accuracy_reward]\nreward-weights: 0.5\nlora: false\nno_resume: true\n"
        "steps_per_generation: null\nvlm-name: tiny-text\n"
    )
    parsed = parse_run_config(["--config", str(config)])
    assert parsed.reward_funcs == ("format_reward", "accuracy_reward") and parsed.reward_weights == (0.5,)
    assert parsed.lora is False and parsed.no_resume is True and parsed.steps_per_generation is None
    assert parsed.model == "tiny-text" and parsed.config_file == str(config)


def test_the_configuration_is_frozen_and_resolved_at_parse_time():
    parsed = parse_run_config(["--mode", "eval"])
    assert (parsed.dataset_name, parsed.prompt_style, parsed.split) == ("synthetic", "structured", "test")
    assert parsed.output_dir is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.mode = "nsr"  # type: ignore[misc]


def test_every_default_lives_in_the_dataclass():
    parsed = parse_run_config([])
    for field in dataclasses.fields(RunConfig):
        # resolved from the task, the run's name and its length
        if field.name not in ("dataset_name", "prompt_style", "split", "output_dir", "logging_steps"):
            assert getattr(parsed, field.name) == getattr(DEFAULTS, field.name), field.name


def test_run_config_json_is_the_object_written_out_with_its_segments(tmp_path):
    parsed = parse_run_config(["--mode", "nsr", "--output-dir", str(tmp_path / "run"), "--lambda-psr", "0.3"])
    write_run_record(parsed, resumed_from=None)
    written = json.loads((tmp_path / "run" / "run_config.json").read_text())
    segments = written.pop("segments")
    assert written == json.loads(json.dumps(parsed.as_dict()))
    assert RunConfig(**{**written, "reward_funcs": None, "reward_weights": None}).lambda_psr == 0.3
    assert len(segments) == 1 and segments[0]["resumed_from"] is None and segments[0]["changed"] == {}


def test_a_resumed_segment_is_added_and_the_start_is_kept(tmp_path):
    first = parse_run_config(["--mode", "nsr", "--output-dir", str(tmp_path / "run"), "--max-steps", "4"])
    write_run_record(first, resumed_from=None)
    resumed = parse_run_config(["--mode", "nsr", "--output-dir", str(tmp_path / "run"), "--max-steps", "8"])
    write_run_record(resumed, resumed_from=str(tmp_path / "run" / "checkpoint-4"))
    written = json.loads((tmp_path / "run" / "run_config.json").read_text())
    assert written["max_steps"] == 4  # the start, as it was
    assert [segment["resumed_from"] for segment in written["segments"]] == [
        None,
        str(tmp_path / "run" / "checkpoint-4"),
    ]
    assert written["segments"][1]["changed"] == {"max_steps": 8}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--max-steps", "3"], 1),  # a 3-step run logs every step
        (["--max-steps", "20"], 4),  # five logs
        (["--max-steps", "1000"], 10),  # long runs keep the interval of 10
        ([], 10),  # epochs: the number of steps is not known yet
        (["--max-steps", "3", "--logging-steps", "7"], 7),  # an explicit interval is kept
    ],
)
def test_short_runs_log_a_few_times_unless_told_otherwise(flags, expected):
    assert parse_run_config(flags).logging_steps == expected
