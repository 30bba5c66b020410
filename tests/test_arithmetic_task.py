"""The arithmetic toy task: its reward on hand-written completions, its generated answers, splits and prompts."""

from __future__ import annotations

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import resolve_model
from rlvr.tasks import get_task
from rlvr.tasks.arithmetic.problems import answer_of, expression_of, generate_problems, split_of
from rlvr.tasks.arithmetic.task import arithmetic_accuracy_reward, load_arithmetic_dataset
from rlvr.tasks.base import score_completions


def evaluate_by_hand(expression: str) -> int:
    """a+b*c read digit by digit, independently of the generator's own arithmetic."""
    addend, product = expression.split("+")
    left, right = product.split("*")
    return int(addend) + int(left) * int(right)


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("182", 1.0),
        (" 182\n", 1.0),  # surrounding whitespace is not part of the answer
        ([{"role": "assistant", "content": "182"}], 1.0),  # TRL's conversational completion
        ("230", 0.0),  # (12+34)*5: left to right instead of multiplication first
        ("1820", 0.0),
        ("18", 0.0),
        ("0182", 0.0),
        ("182182", 0.0),
        ("12+34*5", 0.0),
        ("", 0.0),
    ],
)
def test_reward_on_hand_written_completions(completion, expected):
    assert arithmetic_accuracy_reward([completion], answer=[182]) == [expected]


def test_reward_is_none_without_an_answer_column():
    assert arithmetic_accuracy_reward(["182", "3"]) == [None, None]


def test_hand_written_problems():
    assert expression_of(12, 34, 5) == "12+34*5"
    assert answer_of(12, 34, 5) == 182
    assert answer_of(0, 99, 9) == 891
    assert answer_of(7, 0, 9) == 7


@pytest.mark.parametrize("split", ["train", "test"])
def test_generated_answers_are_right(split):
    rows = generate_problems(500, seed=3, split=split)
    for row in rows:
        assert row["answer"] == evaluate_by_hand(row["expression"]), row
        assert arithmetic_accuracy_reward([str(row["answer"])], answer=[row["answer"]]) == [1.0]
    assert len({row["expression"] for row in rows}) == len(rows)  # distinct problems


def test_splits_never_share_a_problem_whatever_the_seed():
    test = {row["expression"] for seed in (0, 1) for row in generate_problems(2000, seed=seed, split="test")}
    train = {row["expression"] for seed in (0, 1) for row in generate_problems(5000, seed=seed, split="train")}
    assert not test & train
    assert all(split_of(expression) == "test" for expression in test)


def test_the_seed_decides_which_problems_and_nothing_else():
    assert generate_problems(50, seed=1, split="train") == generate_problems(50, seed=1, split="train")
    assert generate_problems(50, seed=1, split="train") != generate_problems(50, seed=2, split="train")


def test_loading_the_dataset():
    assert len(load_arithmetic_dataset("synthetic", "test")) == 500
    rows = load_arithmetic_dataset("synthetic", "train", subset_size=7, seed=0)
    assert rows.column_names == ["expression", "answer"] and len(rows) == 7
    with pytest.raises(UserError, match="unknown arithmetic dataset"):
        load_arithmetic_dataset("gsm8k", "train")
    with pytest.raises(UserError, match="holds"):
        load_arithmetic_dataset("synthetic", "test", subset_size=10**6)
    with pytest.raises(UserError, match="unknown split"):
        load_arithmetic_dataset("synthetic", "validation")


def test_task_scores_completions_by_its_correctness_reward():
    task = get_task("arithmetic")
    row = {"expression": "7+8*9", "answer": 79}
    assert score_completions(task, ["79", "135", " 79"], row, threshold=0.5) == [True, False, True]


def test_tiny_arith_renders_the_bare_prompt_and_ends_the_completion_in_eos():
    from transformers import AutoTokenizer

    task = get_task("arithmetic")
    model = resolve_model("tiny-arith")
    assert not model.is_vision_language
    tokenizer = AutoTokenizer.from_pretrained(model.source)
    row = {"expression": "12+34*5", "answer": 182}
    prompt = task.build_prompt(row, task.default_prompt_style)
    assert tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False) == "12+34*5="
    # The SFT rows' completion, as trainers/builders.py writes it (content as a list of text parts).
    completion = [{"role": "assistant", "content": [{"type": "text", "text": task.sft_completion(row, "plain")}]}]
    assert tokenizer.apply_chat_template(prompt + completion, tokenize=False) == "12+34*5=182<eos>"
    # One token per character, and decoding without special tokens gives back the bare answer.
    ids = tokenizer("12+34*5=182<eos>", add_special_tokens=False)["input_ids"]
    assert len(ids) == len("12+34*5=182") + 1
    assert tokenizer.decode(ids[8:], skip_special_tokens=True) == "182"
