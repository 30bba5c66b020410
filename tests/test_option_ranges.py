"""Specification: every numeric option of every command has a range that matches what it controls, and a value
outside it is refused in one line naming the option, with exit code 2, before any model or data loads.

- Each command keeps one table of its numeric options' ranges (rlvr/ranges.py): an int or float option without
  one fails ``test_every_numeric_option_has_a_range``.
- ``BAD_VALUES`` lists, per command, values outside each range (integers beyond int64 included); every ranged
  option appears there.
- Ranges that depend on the model or the task: --max-new-tokens / --max-completion-length / --static-cache-tokens
  against the model's context, --subset-size / --max-problems / --max-eval-samples / --eval-subset-size against
  the problems a generated dataset can give (refused in well under 5 s), --reward-threshold against the declared
  range of the correctness reward (or of the weighted total with --split-on total), --n-resamples against memory.
"""

from __future__ import annotations

import time

import pytest

import generate_samples
import main as main_script
import monitor_training
from evaluation import compare, merge_samples, pass_at_k, plotting
from rlvr.errors import UserError
from rlvr.models.context import check_tokens_fit, context_tokens
from rlvr.models.names import TINY_CONTEXT_TOKENS
from rlvr.ranges import INT64_MAX, MIN_SAMPLING_TEMPERATURE, Range, check_value, numeric_options
from rlvr.tasks import TASK_MODULES, get_task
from rlvr.tasks.reward_ranges import check_threshold, declared_range, total_range
from trainers.config_parser import build_parser
from trainers.option_ranges import OPTION_RANGES as MAIN_RANGES

BEYOND_INT64 = str(INT64_MAX + 1)
POSITIVE = ["0", "-3", BEYOND_INT64]
NOT_FINITE = ["nan", "inf"]

# (flag, bad values) of main.py
MAIN_BAD = {
    **{
        flag: POSITIVE
        for flag in (
            "--batch-size",
            "--gradient-accumulation-steps",
            "--max-completion-length",
            "--save-steps",
            "--save-total-limit",
            "--logging-steps",
            "--num-iterations",
            "--lora-rank",
            "--vllm-tensor-parallel-size",
            "--subset-size",
            "--steps-per-generation",
            "--max-eval-samples",
            "--pairs-per-problem",
            "--static-cache-tokens",
            "--eval-num-samples",
            "--eval-subset-size",
        )
    },
    "--num-generations": ["1", *POSITIVE],  # an RL group needs two samples
    "--rollout-prompts": POSITIVE,
    "--update-prompts": POSITIVE,
    "--eval-steps": POSITIVE,
    **{
        flag: ["-1", *NOT_FINITE]
        for flag in ("--learning-rate", "--weight-decay", "--warmup", "--lambda-psr", "--beta", "--entropy-coef")
    },
    "--epsilon": ["0", "-0.2", *NOT_FINITE],
    "--num-epochs": ["0", *NOT_FINITE],
    "--lora-alpha": ["0", "-16", BEYOND_INT64],
    "--lora-dropout": ["1", "-0.1", "nan"],
    "--temperature": ["1e-320", "0", "-1", *NOT_FINITE],
    "--eval-temperature": ["1e-320", "-1", "inf"],
    "--eval-top-p": ["0", "1.5", "nan"],
    "--reward-threshold": NOT_FINITE,
    "--reward-weights": NOT_FINITE,
    "--vllm-gpu-memory-utilization": ["0", "1.5"],
    "--seed": ["-1", str(2**32)],
    "--max-steps": ["0", "-2", BEYOND_INT64],
}
GENERATE_BAD = {
    **{flag: POSITIVE for flag in ("--num-samples", "--max-new-tokens", "--batch-size", "--max-problems")},
    "--num-shards": POSITIVE,
    "--shard-index": ["-1", "1"],  # one shard: index 0 only
    "--temperature": ["1e-320", "0", *NOT_FINITE],
    "--top-p": ["0", "1.01"],
    "--seed": ["-1", str(2**32)],
    "--reward-threshold": NOT_FINITE,
}
INTERVAL_BAD = {
    "--k-values": POSITIVE,
    "--confidence": ["0", "1", "nan"],
    "--n-resamples": ["1", BEYOND_INT64],
    "--seed": ["-1", BEYOND_INT64],
}
COMPARE_BAD = {**INTERVAL_BAD, "--min-seeds": POSITIVE}
PLOTTING_BAD = {"--bar-k": POSITIVE}

# How each command is run, and its bad values
COMMANDS = {
    "main.py": (main_script.main, ["--output", "{tmp}/run"], MAIN_BAD),
    "generate_samples.py": (
        generate_samples.main,
        ["--checkpoint-path", "tiny", "--output", "{tmp}/samples.json"],
        GENERATE_BAD,
    ),
    "pass_at_k.py": (pass_at_k.main, ["--samples-path", "{tmp}/samples.json"], INTERVAL_BAD),
    "compare.py": (compare.main, ["--samples-paths", "{tmp}/samples.json"], COMPARE_BAD),
    "plotting.py": (plotting.main, ["--results", "{tmp}/results.json", "--kind", "bars"], PLOTTING_BAD),
}
RANGE_TABLES = {
    "main.py": (build_parser(), MAIN_RANGES),
    "generate_samples.py": (generate_samples.build_parser(), generate_samples.OPTION_RANGES),
    "pass_at_k.py": (pass_at_k.build_parser(), pass_at_k.OPTION_RANGES),
    "compare.py": (compare.build_parser(), compare.OPTION_RANGES),
    "plotting.py": (plotting.build_parser(), plotting.OPTION_RANGES),
    "monitor_training.py": (monitor_training.build_parser(), {}),
    "merge_samples.py": (merge_samples.build_parser(), {}),
}
CASES = [
    (command, flag, value)
    for command, (_, _, bad) in COMMANDS.items()
    for flag, values in bad.items()
    for value in values
]


def refusal(tmp_path, capsys, command: str, argv: list[str]) -> str:
    """The one line ``command`` refuses ``argv`` with (exit code 2), within a few seconds."""
    run, required, _ = COMMANDS[command]
    started = time.perf_counter()
    with pytest.raises(SystemExit) as stopped:
        run([word.format(tmp=tmp_path) for word in required] + argv)
    elapsed = time.perf_counter() - started
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert stopped.value.code == 2, (command, argv, lines)
    assert len(lines) == 1 and lines[0].startswith("error: "), (command, argv, lines)
    assert elapsed < 5, f"{command} {argv} took {elapsed:.1f} s to refuse"
    assert not (tmp_path / "run").exists() and not (tmp_path / "samples.json").exists()
    return lines[0]


@pytest.mark.parametrize("command", RANGE_TABLES)
def test_every_numeric_option_has_a_range(command):
    parser, ranges = RANGE_TABLES[command]
    assert set(numeric_options(parser)) <= set(ranges), "a numeric option without a range (rlvr/ranges.py)"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_bad_values_cover_every_ranged_option(command):
    parser, ranges = RANGE_TABLES[command]
    flags = {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}
    assert {flags[dest] for dest in ranges} <= set(COMMANDS[command][2])


@pytest.mark.parametrize(("command", "flag", "value"), CASES, ids=[f"{c}{f}={v}"[:60] for c, f, v in CASES])
def test_a_value_outside_the_range_is_refused_in_one_line(tmp_path, capsys, command, flag, value):
    line = refusal(tmp_path, capsys, command, [f"{flag}={value}"])
    assert flag in line


def test_an_integer_beyond_int64_is_named_as_such(tmp_path, capsys):
    line = refusal(tmp_path, capsys, "main.py", ["--save-steps", BEYOND_INT64])
    assert f"--save-steps must be at most {INT64_MAX}" in line


@pytest.mark.parametrize(
    ("command", "argv", "fragment"),
    [
        ("main.py", ["--lora-alpha", "0"], "--lora-alpha must be a positive integer"),
        ("main.py", ["--temperature", "1e-320"], f"at least {MIN_SAMPLING_TEMPERATURE:g}"),
        ("main.py", ["--max-completion-length", "4096"], "does not fit the context of tiny (4096 tokens"),
        ("main.py", ["--static-cache-tokens", "5000"], "--static-cache-tokens 5000 does not fit"),
        ("main.py", ["--reward-threshold", "7"], "above the range [0, 1] of the correctness reward accuracy_reward"),
        ("main.py", ["--reward-threshold", "0"], "every sample would be correct"),
        ("main.py", ["--split-on", "total", "--reward-threshold", "12"], "range [0, 11.75] of the weighted total"),
        ("main.py", ["--subset-size", "1000000000"], "--subset-size 1000000000 is more than the chart task's"),
        ("main.py", ["--mode", "eval", "--max-eval-samples", "1000000000"], "--max-eval-samples 1000000000"),
        ("main.py", ["--eval-steps", "1", "--eval-subset-size", "1000000000"], "--eval-subset-size 1000000000"),
        (
            "main.py",
            ["--task", "countdown", "--vlm-name", "tiny-text", "--subset-size", "1000000000"],
            "countdown task's synthetic train split can generate",
        ),
        ("generate_samples.py", ["--max-new-tokens", "4096"], "--max-new-tokens 4096 does not fit"),
        ("generate_samples.py", ["--max-problems", "1000000000"], "--max-problems 1000000000 is more than"),
        ("generate_samples.py", ["--reward-threshold", "7"], "every sample would be wrong"),
        ("pass_at_k.py", ["--n-resamples", "10000000000"], "GiB for the bootstrap of 9 k values"),
        ("compare.py", ["--n-resamples", "10000000000", "--k-values", "1"], "GiB for the bootstrap of 1 k values"),
    ],
)
def test_a_range_that_depends_on_the_model_task_or_machine(tmp_path, capsys, command, argv, fragment):
    assert fragment in refusal(tmp_path, capsys, command, argv)


@pytest.mark.parametrize(("task_name", "dataset"), [("math", "synthetic"), ("arithmetic", "synthetic")])
def test_generated_datasets_refuse_more_problems_than_they_hold(tmp_path, capsys, task_name, dataset):
    most = get_task(task_name).generated_rows(dataset, "test")
    argv = ["--task", task_name, "--dataset-name", dataset, "--max-problems", str(most + 1)]
    assert f"{most:,} problems at most" in refusal(tmp_path, capsys, "generate_samples.py", argv)


def test_every_generated_dataset_holds_its_default_size():
    """The caps never refuse a run that asks for no particular size: each generated split gives its default rows."""
    from rlvr.tasks.carry.task import DEFAULT_TRAIN_ROWS
    from rlvr.tasks.chart.synthetic import DEFAULT_SPLIT_SIZES as CHART_SIZES
    from rlvr.tasks.countdown.generator import DEFAULT_SPLIT_SIZES as COUNTDOWN_SIZES
    from rlvr.tasks.math.task import SYNTHETIC_SPLIT_SIZES as MATH_SIZES

    defaults = {
        "chart": CHART_SIZES,
        "countdown": COUNTDOWN_SIZES,
        "math": MATH_SIZES,
        "carry": {"train": DEFAULT_TRAIN_ROWS},
    }
    for task_name, sizes in defaults.items():
        task = get_task(task_name)
        for split, rows in sizes.items():
            assert rows <= task.generated_rows(task.default_dataset, split), (task_name, split)


@pytest.mark.parametrize("task_name", TASK_MODULES)
def test_every_task_reward_declares_its_range(task_name):
    for name, function in get_task(task_name).reward_functions.items():
        assert declared_range(function) is not None, f"{task_name}: {name} states no 'Range ...' in its docstring"


def test_the_chart_rewards_declare_the_ranges_their_properties_are_tested_against():
    from rlvr.tasks.chart.rewards import REWARD_FUNCTIONS, REWARD_RANGES

    assert {name: declared_range(function) for name, function in REWARD_FUNCTIONS.items()} == REWARD_RANGES


def test_a_reward_may_declare_its_range_by_attribute_or_docstring():
    def by_attribute(completions, **kwargs):
        return [0.0]

    by_attribute.reward_range = (-2, 3)

    def by_docstring(completions, **kwargs):
        """Scores the answer. Range [0.5, 4]."""

    def undeclared(completions, **kwargs):
        """Scores the answer."""

    assert declared_range(by_attribute) == (-2.0, 3.0)
    assert declared_range(by_docstring) == (0.5, 4.0)
    assert declared_range(undeclared) is None
    assert total_range([by_attribute, by_docstring], [1.0, 0.5]) == (-2.0, 5.0)
    assert total_range([by_attribute, undeclared], [1.0, 1.0]) is None


def test_a_threshold_inside_the_range_passes_and_an_undeclared_range_is_noted(capsys):
    check_threshold(1.0, (0.0, 1.0), "the reward r")  # the top value: only perfect samples are correct
    check_threshold(0.5, None, "the reward mine")
    assert "the reward mine declares no range" in capsys.readouterr().err
    with pytest.raises(UserError, match="above the range"):
        check_threshold(1.01, (0.0, 1.0), "the reward r")


def test_tiny_contexts_are_the_ones_the_tiny_models_are_built_with():
    from rlvr.models import tiny

    assert tiny.TINY_TEXT_CONFIG["max_position_embeddings"] == TINY_CONTEXT_TOKENS["tiny-text"]
    assert tiny.TINY_VL_TEXT_CONFIG["max_position_embeddings"] == TINY_CONTEXT_TOKENS["tiny"]
    for name, config in tiny.CHAR_MODEL_CONFIGS.items():
        assert config["max_position_embeddings"] == TINY_CONTEXT_TOKENS[name]


def test_a_context_is_read_from_a_folder_and_an_adapters_base(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen2_5_vl", "text_config": {"max_position_embeddings": 99}}')
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(f'{{"base_model_name_or_path": "{model}"}}')
    assert context_tokens(str(model)) == context_tokens(str(adapter)) == 99
    check_tokens_fit(str(adapter), 98, "--max-new-tokens")
    with pytest.raises(UserError, match="--max-new-tokens 99 does not fit the context"):
        check_tokens_fit(str(adapter), 99, "--max-new-tokens")


def test_special_values_outside_a_range_are_allowed_only_where_declared():
    check_value("--max-steps", -1, MAIN_RANGES["max_steps"])
    check_value("--eval-temperature", 0.0, MAIN_RANGES["eval_temperature"])
    with pytest.raises(UserError, match="--x must be an integer in \\[0, 3\\]"):
        check_value("--x", 4, Range(low=0, high=3, integer=True))
    with pytest.raises(UserError, match="--x must be a positive integer"):
        check_value("--x", True, Range(low=1, integer=True))  # a bool is no count


def test_plain_sft_needs_no_room_for_completions_but_generating_modes_do():
    """SFT of a 32-token model with the default --max-completion-length trains (it generates nothing); the same
    model in an RL mode is refused."""
    from rlvr.errors import UserError
    from rlvr.tasks import get_task
    from trainers.config_parser import parse_run_config
    from trainers.run_limits import check_run_limits

    task = get_task("strategies")
    base = ["--model", "tiny-carry", "--task", "strategies", "--output-dir", "unused"]
    check_run_limits(parse_run_config(["--mode", "sft", *base]), task)
    with pytest.raises(UserError, match="--max-completion-length 768 does not fit"):
        check_run_limits(parse_run_config(["--mode", "grpo", *base]), task)
