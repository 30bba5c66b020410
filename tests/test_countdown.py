"""The Countdown task: the expression checker on right, wrong, malformed and hostile answers, the rewards, the
generator (every problem solvable by its stored solution, splits disjoint), the solver, datasets and prompts."""

from __future__ import annotations

import doctest
import json
import time

import datasets
import pytest

from rlvr.errors import UserError
from rlvr.tasks import get_task
from rlvr.tasks.base import score_completions, select_rewards
from rlvr.tasks.countdown import expressions, generator
from rlvr.tasks.countdown import task as countdown_module
from rlvr.tasks.countdown.expressions import evaluation_steps, is_correct_solution, last_answer, parse_expression
from rlvr.tasks.countdown.generator import generate_countdown_problems, solve, split_of
from rlvr.tasks.countdown.task import (
    countdown_accuracy_reward,
    countdown_reward,
    format_reward,
    load_countdown_dataset,
)

NUMS, TARGET = [2, 5, 6], 20


def answer(expression: str) -> str:
    return f"<think>working</think>\n<answer>{expression}</answer>"


def accuracy(*completions, nums=NUMS, target=TARGET) -> list[float | None]:
    count = len(completions)
    return countdown_accuracy_reward(list(completions), nums=[nums] * count, target=[target] * count)


# The checker


@pytest.mark.parametrize(
    "expression",
    ["(6 - 2) * 5", "5 * (6 - 2)", " ( 6-2 )*5 ", "((6 - 2)) * 5", "(6 - 2) * 5\n", "20 / 5 * 5 - 0"],
)
def test_correct_expressions_are_accepted(expression):
    nums = [20, 5, 5, 0] if expression.startswith("20") else NUMS
    assert is_correct_solution(expression, nums, TARGET)


def test_division_is_exact_and_the_target_may_be_a_float():
    assert is_correct_solution("(1 + 2) / 3", [1, 2, 3], 1)
    assert is_correct_solution("7 / 3 * 3", [7, 3, 3], 7.0)  # a float would give 7.000000000000001
    assert is_correct_solution("1 / 3", [1, 3], 0.3333333333)  # within 1e-6
    assert not is_correct_solution("1 / 3", [1, 3], 0.333)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("6 * 5 - 2", "wrong value"),
        ("(6 - 2) * 5 + 0", "a number that was not given"),
        ("(6 - 2) * 5 * 1", "an extra number"),
        ("6 * 5 - 10", "numbers not given"),
        ("(6 - 2) * 5 - 2 + 2", "2 used three times"),
        ("4 * 5", "not every number used"),
        ("-2 + 6 * 5 - 8", "unary minus"),
        ("+(6 - 2) * 5", "unary plus"),
        ("(6 - 2) ** 5", "power"),
        ("(6 // 2) * 5", "floor division"),
        ("(6 % 2) * 5", "modulo"),
        ("(6.0 - 2) * 5", "a decimal"),
        ("(6 - 2) * 5 = 20", "an equation, not an expression"),
        ("(6 - 2) × 5", "a multiplication sign that is not *"),
        ("(６ - 2) * 5", "full-width digit"),
        ("(٦ - 2) * 5", "Arabic-Indic digit"),
        ("(6 - 2) * 5)", "unbalanced parenthesis"),
        ("", "empty"),
        ("(6 - 2) 5", "two numbers without an operator"),
        ("06 - 2", "leading zero"),
        ("1_0 + 10", "digit separator"),
    ],
)
def test_wrong_and_malformed_expressions_are_rejected(expression, why):
    nums = [10, 10] if "1_0" in expression else NUMS
    assert not is_correct_solution(expression, nums, TARGET), why


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('echo hacked')",
        "__import__('os')",
        "9**9**9**9",
        "9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9*9",
        "1/0",
        "(6 - 6) / 0 + 2 * 5 * 2",
        "2 / (6 - 6) * 5",
        "(" * 5000 + "1" + ")" * 5000,
        "(" * 99 + "1" + ")" * 99,
        "(((((",
        "1+" * 5000 + "1",
        "9" * 10_000,
        "lambda: 20",
        "(lambda x: x)(20)",
        "x + y",
        "nums[0] * 10",
        "True + 19",
        "().__class__",
        "'20'",
        "20j",
        "[20][0]",
        "abs(-20)",
    ],
)
def test_hostile_input_is_a_wrong_answer_fast_and_never_runs(expression, capfd):
    nums = [9, 9, 9, 9] if expression.startswith("9") else NUMS
    started = time.perf_counter()
    assert not is_correct_solution(expression, nums, TARGET)
    assert countdown_accuracy_reward([answer(expression)], nums=[nums], target=[TARGET]) == [0.0]
    assert time.perf_counter() - started < 1.0
    assert "hacked" not in capfd.readouterr().out


@pytest.mark.parametrize(
    "expression",
    ["(" * 5000 + "1" + ")" * 5000, "1+" * 200_000 + "1", "-" * 100_000 + "1"],
    ids=["SyntaxError", "RecursionError", "MemoryError"],
)
def test_parser_failures_are_wrong_answers_even_without_the_length_cap(monkeypatch, expression):
    # The cap stops these first; behind it, the parser's own failures must still come out as "wrong".
    monkeypatch.setattr(expressions, "MAX_EXPRESSION_CHARS", 10**7)
    assert parse_expression(expression) is None
    assert not is_correct_solution(expression, [1], 1)


def test_the_parser_only_returns_trees_of_integers_and_four_operators():
    assert parse_expression("(1 + 2) * 3 / 4 - 5") is not None
    for expression in ["-1", "1 ** 2", "a", "f(1)", "1 if 1 else 2", "[1]", "1 < 2", "1.5"]:
        assert parse_expression(expression) is None, expression


def test_evaluation_steps_show_each_operation_exactly():
    assert evaluation_steps("(1 + 2) / 4 * 8") == ["1 + 2 = 3", "3 / 4 = 3/4", "3/4 * 8 = 6"]
    assert evaluation_steps("1 / 0") == []
    assert evaluation_steps("not an expression") == []


def test_last_answer_takes_the_last_complete_answer_element():
    assert last_answer("<answer>1</answer> then <answer>2</answer>") == "2"
    assert last_answer("<answer>1</answer> then <answer>2") is None
    assert last_answer("no tags") is None
    assert last_answer("<answer></answer>") == ""


# The rewards


def test_accuracy_reward_on_right_wrong_and_malformed_completions():
    completions = [
        answer("(6 - 2) * 5"),
        answer("6 * 5 - 2"),
        "(6 - 2) * 5",  # no answer tags
        "<answer>(6 - 2) * 5",  # never closed
        "<answer>6 * 5 - 2</answer> on second thought <answer>(6 - 2) * 5</answer>",  # the last one counts
        "<answer>(6 - 2) * 5</answer> on second thought <answer>6 * 5 - 2</answer>",
        "<answer></answer>",
    ]
    assert accuracy(*completions) == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_rewards_read_conversational_completions():
    chat = [{"role": "assistant", "content": answer("(6 - 2) * 5")}]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": answer("(6 - 2) * 5")}]}]
    assert accuracy(chat, parts) == [1.0, 1.0]
    assert format_reward([chat, parts]) == [1.0, 1.0]


def test_countdown_reward_is_plus_or_minus_one_on_the_same_check():
    completions = [answer("(6 - 2) * 5"), answer("6 * 5 - 2"), "garbage", answer("1/0")]
    columns = {"nums": [NUMS] * 4, "target": [TARGET] * 4}
    assert countdown_reward(completions, **columns) == [1.0, -1.0, -1.0, -1.0]
    assert countdown_accuracy_reward(completions, **columns) == [1.0, 0.0, 0.0, 0.0]


def test_rewards_give_none_without_the_columns_they_need():
    assert countdown_accuracy_reward(["<answer>1</answer>"] * 2) == [None, None]
    assert countdown_reward(["<answer>1</answer>"], nums=[[1]]) == [None]
    one_row_unscorable = countdown_accuracy_reward(["<answer>1</answer>"] * 2, nums=[[1], None], target=[1, 1])
    assert one_row_unscorable == [1.0, None]


def test_rewards_ignore_extra_trl_keyword_arguments():
    rewards = countdown_accuracy_reward(
        [answer("(6 - 2) * 5")],
        prompts=["p"],
        completion_ids=[[1, 2]],
        trainer_state=None,
        nums=[NUMS],
        target=[TARGET],
        solution=[None],
    )
    assert rewards == [1.0]


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>6 - 2 = 4, 4 * 5 = 20</think>\n<answer>(6 - 2) * 5</answer>", 1.0),
        ("  <think>\nx\n</think>  <answer> 1 </answer>\n", 1.0),
        ("<think></think><answer>1</answer>", 1.0),
        ("<answer>(6 - 2) * 5</answer>", 0.0),
        ("<think>x</think>", 0.0),
        ("<think>x</think><answer> </answer>", 0.0),
        ("<think>x</think> text <answer>1</answer>", 0.0),
        ("<think>x</think><answer>1</answer> trailing", 0.0),
        ("<think>x<think>y</think><answer>1</answer>", 0.0),
        ("<think>x</think><answer>1</answer><answer>2</answer>", 0.0),
        ("<think>" + "<" * 10_000 + "</think><answer>1</answer>", 1.0),
    ],
)
def test_format_reward_wants_exactly_think_then_answer(completion, expected):
    assert format_reward([completion]) == [expected]


def test_format_reward_is_linear_on_long_hostile_text():
    hostile = "<think>" + "</think" * 20_000 + "<answer>" * 5_000
    started = time.perf_counter()
    assert format_reward([hostile]) == [0.0]
    assert time.perf_counter() - started < 1.0


def test_task_registration_and_training_selection():
    task = get_task("countdown")
    assert task.is_multimodal is False
    assert set(task.reward_functions) == {"countdown_reward", "countdown_accuracy_reward", "format_reward"}
    assert task.correctness_reward == "countdown_accuracy_reward"
    # Training on format alone still computes correctness, at weight 0.
    selection = select_rewards(task, ["format_reward"], None, needs_correctness=True)
    assert selection.names == ["format_reward", "countdown_accuracy_reward"] and selection.weights == [1.0, 0.0]
    row = {"nums": NUMS, "target": TARGET, "solution": None}
    assert score_completions(task, [answer("(6 - 2) * 5"), answer("6 * 5 - 2")], row, 0.5) == [True, False]


# The generator and the solver


def test_every_generated_problem_is_solved_by_its_stored_solution():
    for split in ("train", "test"):
        rows = generate_countdown_problems(500, seed=7, split=split)
        assert len(rows) == 500
        for row in rows:
            assert len(row["nums"]) in (3, 4)
            assert all(1 <= number <= 99 for number in row["nums"])
            assert isinstance(row["target"], int) and 1 <= row["target"] <= 99
            # Each number exactly once, the target exactly: the same check the reward makes.
            assert is_correct_solution(row["solution"], row["nums"], row["target"]), row
            assert sorted(expressions.numbers_used(parse_expression(row["solution"]))) == sorted(row["nums"])
            assert split_of(row["nums"], row["target"]) == split


def test_generation_is_seeded_and_train_and_test_are_disjoint():
    def keys(rows):
        return {(tuple(sorted(row["nums"])), row["target"]) for row in rows}

    assert generate_countdown_problems(50, seed=1, split="train") == generate_countdown_problems(50, 1, "train")
    assert generate_countdown_problems(50, seed=1, split="train") != generate_countdown_problems(50, 2, "train")
    train = generate_countdown_problems(1000, seed=1, split="train")
    assert len(keys(train)) == 1000  # no duplicates within a split
    for test_seed in (1, 2, 3):
        assert not keys(train) & keys(generate_countdown_problems(300, seed=test_seed, split="test"))


def test_generator_rejects_an_unknown_split():
    with pytest.raises(UserError, match="unknown split 'validation'"):
        generate_countdown_problems(3, seed=0, split="validation")


def test_solver_finds_a_valid_expression_or_reports_none():
    for row in generate_countdown_problems(100, seed=3, split="test"):
        found = solve(row["nums"], row["target"])
        assert found is not None and is_correct_solution(found, row["nums"], row["target"])
    assert solve([1, 1, 1], 100) is None
    assert is_correct_solution(solve([3, 3, 8, 8], 24), [3, 3, 8, 8], 24)  # needs a fraction: 8 / (3 - 8 / 3)
    assert solve([1] * 6, 6) is None  # beyond the solver's size limit
    assert solve([], 0) is None


def test_render_keeps_only_the_parentheses_that_matter():
    assert generator.render(("-", 9, ("-", 4, 1))) == "9 - (4 - 1)"
    assert generator.render(("-", ("-", 9, 4), 1)) == "9 - 4 - 1"
    assert generator.render(("/", 8, ("*", 2, 2))) == "8 / (2 * 2)"
    assert generator.render(("+", 1, ("+", 2, 3))) == "1 + 2 + 3"
    assert generator.render(("*", ("+", 1, 2), ("-", 3, 4))) == "(1 + 2) * (3 - 4)"


# Datasets, prompts and reference completions


def test_synthetic_dataset_rows_and_sizes():
    rows = load_countdown_dataset("synthetic", split="train", subset_size=8, seed=5)
    assert len(rows) == 8 and rows.column_names == ["nums", "target", "solution"]
    assert rows[0] == generate_countdown_problems(8, 5, "train")[0]
    assert len(load_countdown_dataset("synthetic", split="test", seed=5)) == generator.DEFAULT_SPLIT_SIZES["test"]


def write_rows(path, rows):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_local_copy_in_the_hub_columns_loads(tmp_path, suffix):
    rows = [{"target": 20, "nums": [2, 5, 6]}, {"target": 24, "nums": [3, 3, 8, 8]}, {"target": 7, "nums": [7.0, 1]}]
    dataset = load_countdown_dataset("countdown-tasks-3to4", "train", write_rows(tmp_path / f"cd{suffix}", rows))
    assert dataset["nums"] == [[2, 5, 6], [3, 3, 8, 8], [7, 1]]
    assert dataset["target"] == [20, 24, 7] and dataset["solution"] == [None, None, None]
    subset = load_countdown_dataset("countdown-tasks-3to4", "train", tmp_path / f"cd{suffix}", subset_size=2, seed=0)
    assert len(subset) == 2 and all(row in dataset["nums"] for row in subset["nums"])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"nums": [1, 2]}], "missing column"),
        ([{"nums": [1, 2.5], "target": 3}], r"row 0: expected whole numbers"),
        ([{"nums": [1, 2], "target": 3}, {"nums": "12", "target": 3}], "row 1: expected a non-empty list"),
        ([{"nums": [], "target": 3}], "row 0: expected a non-empty list"),
        ([{"nums": [1, 2], "target": "three"}], "row 0: expected whole numbers"),
        ([{"nums": [True, 2], "target": 3}], "row 0: expected whole numbers"),
    ],
)
def test_bad_local_rows_are_one_clear_error(tmp_path, rows, message):
    with pytest.raises(UserError, match=message):
        load_countdown_dataset("countdown-tasks-3to4", "train", write_rows(tmp_path / "bad.jsonl", rows))


def test_unknown_dataset_and_bad_subset_size_are_user_errors():
    with pytest.raises(UserError, match="unknown countdown dataset 'gsm8k'; choose one of: synthetic"):
        load_countdown_dataset("gsm8k")
    with pytest.raises(UserError, match="positive"):
        load_countdown_dataset("synthetic", subset_size=0)


def test_hub_dataset_offline_is_a_user_error_naming_the_hub_id(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(countdown_module.datasets, "load_dataset", offline)
    with pytest.raises(UserError, match="Jiayi-Pan/Countdown-Tasks-3to4"):
        load_countdown_dataset("countdown-tasks-3to4", "train")
    with pytest.raises(UserError, match="unknown split"):
        load_countdown_dataset("countdown-tasks-3to4", "validation")


def test_hub_splits_hold_out_the_last_rows_as_test(monkeypatch):
    hub = datasets.Dataset.from_dict({"target": list(range(2000)), "nums": [[n] for n in range(2000)]})
    monkeypatch.setattr(countdown_module.datasets, "load_dataset", lambda *args, **kwargs: hub)
    train = load_countdown_dataset("countdown-tasks-3to4", "train")
    test = load_countdown_dataset("countdown-tasks-3to4", "test")
    assert len(test) == countdown_module.HUB_TEST_ROWS and test["target"][0] == 2000 - countdown_module.HUB_TEST_ROWS
    assert len(train) + len(test) == 2000 and not set(train["target"]) & set(test["target"])


@pytest.mark.parametrize("style", ["think", "direct"])
def test_prompts_are_plain_string_messages_naming_the_puzzle(style):
    task = get_task("countdown")
    messages = task.build_prompt({"nums": [44, 19, 35], "target": 98}, style)
    assert [message["role"] for message in messages] == ["system", "user"]
    assert all(isinstance(message["content"], str) for message in messages)
    assert "[44, 19, 35]" in messages[1]["content"] and "98" in messages[1]["content"]
    assert ("<think>" in messages[0]["content"]) == (style == "think")


@pytest.mark.parametrize("style", ["think", "direct"])
def test_reference_completions_are_correct_answers(style):
    task = get_task("countdown")
    rows = [*generate_countdown_problems(50, seed=11, split="train"), {"nums": [3, 3, 8, 8], "target": 24}]
    for row in rows:
        completion = task.sft_completion(row, style)
        assert countdown_accuracy_reward([completion], nums=[row["nums"]], target=[row["target"]]) == [1.0]
        assert format_reward([completion]) == [1.0 if style == "think" else 0.0]
    with pytest.raises(UserError, match="no expression"):
        task.sft_completion({"nums": [1, 1], "target": 50, "solution": None}, style)


def test_think_reference_completion_shows_the_arithmetic():
    row = {"nums": [2, 5, 6], "target": 20, "solution": "(6 - 2) * 5"}
    completion = get_task("countdown").sft_completion(row, "think")
    assert completion == "<think>\n6 - 2 = 4\n4 * 5 = 20\n</think>\n<answer>(6 - 2) * 5</answer>"


@pytest.mark.parametrize("module", [expressions, generator, countdown_module])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
