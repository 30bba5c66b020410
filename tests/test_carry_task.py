"""The two-procedure addition task: strategies, answers, reward, splits and the supervised data's strategy mix."""

from __future__ import annotations

import pytest

from rlvr.errors import UserError
from rlvr.tasks import get_task
from rlvr.tasks.carry.problems import answer_by, carries, problems_of, split_of, training_rows
from rlvr.tasks.carry.task import CARRY_SHARE, carry_accuracy_reward


@pytest.mark.parametrize(
    ("a", "b", "forgets_carry", "adds"),
    [(47, 5, 42, 52), (95, 7, 92, 102), (41, 5, 46, 46), (0, 0, 0, 0), (9, 1, 0, 10), (99, 9, 98, 108)],
)
def test_each_strategy_gives_its_own_answer(a, b, forgets_carry, adds):
    assert answer_by("-", a, b) == forgets_carry and answer_by("+", a, b) == adds
    assert carries(a, b) == (forgets_carry != adds)


def test_problems_without_a_carry_are_55_in_100():
    every = [(a, b) for a in range(100) for b in range(10)]
    assert sum(not carries(a, b) for a, b in every) == 550


@pytest.mark.parametrize(
    ("completion", "expected"),
    [("+52", 1.0), ("-52", 1.0), (" +52\n", 1.0), ("52", 0.0), ("-42", 0.0), ("+520", 0.0), ("+", 0.0), ("*52", 0.0)],
)
def test_the_reward_checks_the_answer_whatever_the_tag(completion, expected):
    assert carry_accuracy_reward([completion], answer=[52]) == [expected]


def test_a_problem_and_its_commuted_twin_share_a_split():
    assert all(split_of(a, b) == split_of(b, a) for a in range(10) for b in range(10))
    train, test = set(problems_of("two-procedure", "train")), set(problems_of("two-procedure", "test"))
    assert not train & test and len(train) + len(test) == 1000
    assert not {(b, a) for a, b in test} & train


def test_the_no_carry_dataset_holds_only_problems_without_a_carry():
    assert not any(carries(a, b) for a, b in problems_of("no-carry", "train"))


def test_the_tag_is_drawn_at_the_designed_rate_whatever_the_problem():
    rows = training_rows("two-procedure", 20_000, seed=3, carry_share=CARRY_SHARE)
    share = {flag: [row["strategy"] == "+" for row in rows if row["carries"] == flag] for flag in (True, False)}
    for flags in share.values():  # binomial standard error about 0.003 on ~10,000 rows
        assert abs(sum(flags) / len(flags) - CARRY_SHARE) < 0.015
    assert rows == training_rows("two-procedure", 20_000, seed=3, carry_share=CARRY_SHARE)
    assert rows != training_rows("two-procedure", 20_000, seed=4, carry_share=CARRY_SHARE)


def test_the_supervised_completion_follows_its_tag():
    task = get_task("carry")
    row = {"expression": "47+5", "answer": 52, "carries": True}
    assert task.sft_completion({**row, "strategy": "-"}, "plain") == "-42"
    assert task.sft_completion({**row, "strategy": "+"}, "plain") == "+52"
    assert task.build_prompt(row, "plain") == [{"role": "user", "content": "47+5="}]


def test_the_held_out_split_is_every_test_problem_in_a_fixed_order():
    task = get_task("carry")
    first, again = (task.load_dataset("two-procedure", "test", None, None, 2025) for _ in range(2))
    assert first["expression"] == again["expression"] and len(first) == len(problems_of("two-procedure", "test"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("nope", "train", None, 5, 0), "unknown carry dataset"),
        (("two-procedure", "dev", None, 5, 0), "unknown split"),
        (("two-procedure", "train", "x.json", 5, 0), "--dataset-path does not apply"),
        (("two-procedure", "test", None, 5000, 0), "holds"),
    ],
)
def test_bad_arguments_fail_with_one_line(arguments, message):
    with pytest.raises(UserError, match=message):
        get_task("carry").load_dataset(*arguments)
