"""Three-strategy addition (rlvr/tasks/strategies): each procedure's answers, the reward, the datasets and the
accuracies on the training mix that make the rare strategy the worst there and the only one right with a carry."""

from __future__ import annotations

from collections import Counter

import pytest

from rlvr.errors import UserError
from rlvr.tasks import get_task
from rlvr.tasks.carry.problems import carries
from rlvr.tasks.strategies.problems import (
    TRAINING_CARRY_SHARE,
    WARM_START_SHARES,
    answer_by,
    problems_of,
    right_tags,
    training_rows,
)
from rlvr.tasks.strategies.task import strategies_accuracy_reward


@pytest.mark.parametrize(
    ("a", "b", "x", "w", "y"),
    [
        (47, 5, 42, 42, 52),  # carry: only Y right
        (95, 7, 92, 92, 102),
        (72, 4, 86, 76, 77),  # no carry, tens 7: X and Y have their bugs
        (81, 3, 94, 84, 84),  # tens 8: X's bug only
        (31, 8, 39, 39, 30),  # tens 3: Y's bug, units 9 + 1 wraps to 0
        (42, 4, 46, 46, 46),  # tens 4: all right
        (5, 2, 7, 7, 7),  # one-digit a: tens 0
    ],
)
def test_each_strategy_gives_its_own_deterministic_answer(a, b, x, w, y):
    assert (answer_by("-", a, b), answer_by("*", a, b), answer_by("+", a, b)) == (x, w, y)


def test_only_the_rare_strategy_solves_a_carry_and_w_never_fails_without_one():
    for a in range(100):
        for b in range(10):
            tags = right_tags(a, b)
            assert tags == ("+",) if carries(a, b) else "*" in tags


def test_on_the_training_mix_the_rare_strategy_is_the_worst():
    plain = problems_of("train", False)

    def accuracy(tag: str) -> float:
        without = sum(answer_by(tag, a, b) == a + b for a, b in plain) / len(plain)
        return TRAINING_CARRY_SHARE * (tag == "+") + (1 - TRAINING_CARRY_SHARE) * without

    x, w, y = accuracy("-"), accuracy("*"), accuracy("+")
    assert y < x < w and w == pytest.approx(0.9)


def test_train_and_test_share_no_problem_and_the_test_split_holds_carries():
    assert not set(problems_of("train")) & set(problems_of("test"))
    assert 60 < len(problems_of("test", True)) < len(problems_of("test")) < 300


def test_the_reward_counts_the_answer_after_any_tag_never_the_tag():
    completions = ["+76", "*76", "-76", "76", "+86", "*", "=76"]
    assert strategies_accuracy_reward(completions, answer=[76] * 7) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_the_warm_start_shows_tags_at_their_shares_independently_of_the_problem():
    rows = training_rows("warm-start", 40_000, seed=0)
    shares = Counter(row["strategy"] for row in rows)
    for tag, share in WARM_START_SHARES.items():
        assert shares[tag] / len(rows) == pytest.approx(share, abs=0.01)
    carrying = [row for row in rows if row["carries"]]
    assert sum(row["strategy"] == "+" for row in carrying) / len(carrying) == pytest.approx(0.02, abs=0.01)


def test_the_training_mix_holds_a_tenth_carry_problems_and_the_push_only_w_without_one():
    mix = training_rows("training-mix", 20_000, seed=1)
    assert sum(row["carries"] for row in mix) / len(mix) == pytest.approx(TRAINING_CARRY_SHARE, abs=0.01)
    push = training_rows("push-w", 500, seed=1)
    assert all(row["strategy"] == "*" and not row["carries"] for row in push)


def test_the_sft_completion_is_the_tag_and_its_procedures_answer():
    task = get_task("strategies")
    assert task.sft_completion({"expression": "72+4", "strategy": "+"}, "plain") == "+77"


@pytest.mark.parametrize(("name", "split"), [("nope", "train"), ("training-mix", "validation")])
def test_an_unknown_dataset_or_split_is_refused_in_one_line(name, split):
    with pytest.raises(UserError, match="strategies"):
        get_task("strategies").load_dataset(name, split=split)
