"""Preference pairs for --mode dpo from hand-made samples files, and the options that go with them."""

from __future__ import annotations

import pytest

from evaluation.preference_samples import check_rows_match
from rlvr.errors import UserError
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from trainers.config import PPO_MESSAGE
from trainers.config_parser import parse_run_config
from trainers.preference_pairs import build_pairs, dpo_dataset, preference_rows


def problem(problem_id, samples: list[str], correct: list[bool]) -> dict:
    return {
        "problem_id": problem_id,
        "question": f"q{problem_id}",
        "answer": "a",
        "samples": samples,
        "correct": correct,
        "num_correct": sum(correct),
        "num_total": len(samples),
    }


MIXED = problem(0, ["right-1", "wrong-1", "right-2", "wrong-2", "wrong-3"], [True, False, True, False, False])
ONLY_CORRECT = problem(1, ["right-1", "right-2"], [True, True])
ONLY_WRONG = problem(2, ["wrong-1", "wrong-2", "wrong-3"], [False, False, False])
ONE_EACH = problem(3, ["right", "wrong"], [True, False])  # a ragged file: fewer samples than the others
REFERENCES = {0: "ref-0", 1: "ref-1", 2: "ref-2", 3: "ref-3"}


def as_tuples(pair_set) -> list[tuple]:
    return [(pair.row_index, pair.chosen, pair.rejected) for pair in pair_set.pairs]


def test_chosen_from_samples_pairs_correct_against_incorrect_and_counts_the_rest():
    pair_set = build_pairs([MIXED, ONLY_CORRECT, ONLY_WRONG, ONE_EACH], 2, "samples", seed=7)
    pairs = as_tuples(pair_set)
    assert [index for index, _, _ in pairs] == [0, 0, 3]  # two for the mixed problem, one (all it has) for ONE_EACH
    assert all(chosen.startswith("right") and rejected.startswith("wrong") for _, chosen, rejected in pairs)
    assert len(set(pairs)) == len(pairs)
    assert (pair_set.num_problems, pair_set.without_pair) == (4, 2)
    assert "3 preference pairs from 2 of 4 problems; 2 without" in pair_set.describe()


def test_pairs_per_problem_caps_at_every_distinct_combination_and_repeated_samples_count_once():
    repeated = problem(0, ["right", "right", "wrong-1", "wrong-1", "wrong-2"], [True, True, False, False, False])
    pairs = as_tuples(build_pairs([repeated], 10, "samples", seed=0))
    assert sorted(pairs) == [(0, "right", "wrong-1"), (0, "right", "wrong-2")]


def test_both_falls_back_to_the_reference_only_where_no_sample_is_correct():
    pairs = as_tuples(build_pairs([MIXED, ONLY_CORRECT, ONLY_WRONG], 6, "both", seed=1, references=REFERENCES))
    mixed_chosen = {chosen for index, chosen, _ in pairs if index == 0}
    assert mixed_chosen == {"right-1", "right-2"}
    wrong_only = sorted((chosen, rejected) for index, chosen, rejected in pairs if index == 2)
    assert wrong_only == [("ref-2", "wrong-1"), ("ref-2", "wrong-2"), ("ref-2", "wrong-3")]
    assert all(index != 1 for index, _, _ in pairs)  # nothing wrong to reject


def test_reference_always_chooses_the_reference_as_the_original_cli_did():
    pair_set = build_pairs([MIXED, ONLY_CORRECT], 5, "reference", seed=1, references=REFERENCES)
    assert sorted(as_tuples(pair_set)) == [(0, "ref-0", "wrong-1"), (0, "ref-0", "wrong-2"), (0, "ref-0", "wrong-3")]
    assert pair_set.without_pair == 1


def test_pairs_are_seeded_per_problem_and_independent_of_problem_order():
    many = problem(5, [f"right-{i}" for i in range(6)] + [f"wrong-{i}" for i in range(6)], [True] * 6 + [False] * 6)
    first = as_tuples(build_pairs([MIXED, many], 4, "samples", seed=3))
    reordered = as_tuples(build_pairs([many, MIXED], 4, "samples", seed=3))
    assert sorted(first) == sorted(reordered)
    assert first == as_tuples(build_pairs([MIXED, many], 4, "samples", seed=3))
    other_seed = as_tuples(build_pairs([MIXED, many], 4, "samples", seed=4))
    assert sorted(other_seed) != sorted(first)  # 36 combinations of `many`: another seed draws other pairs


def test_no_pair_at_all_is_one_line():
    dataset = get_task("countdown").load_dataset("synthetic", "train", None, 2, HELD_OUT_DATASET_SEED)
    with pytest.raises(UserError, match="no preference pairs"):
        preference_rows(get_task("countdown"), dataset, [], "think")


def countdown_problems(task, dataset, correct: list[list[bool]]) -> list[dict]:
    problems = []
    for index, flags in enumerate(correct):
        row = dataset[index]
        record = problem(index, [f"sample {index}-{i}" for i in range(len(flags))], flags)
        problems.append({**record, "question": str(row[task.question_column]), "answer": row[task.answer_column]})
    return problems


def test_rows_are_joined_by_problem_id_and_checked_on_question_and_answer():
    task = get_task("countdown")
    dataset = task.load_dataset("synthetic", "train", None, 3, HELD_OUT_DATASET_SEED)
    problems = countdown_problems(task, dataset, [[True, False], [False], [True, False, False]])
    check_rows_match(task, problems, dataset, "s.json")
    swapped = [{**problems[0], "problem_id": 1}]
    with pytest.raises(UserError, match=r"s\.json: problem 1 does not match dataset row 1"):
        check_rows_match(task, swapped, dataset, "s.json")
    with pytest.raises(UserError, match="problem_id 3 is not a row of the dataset"):
        check_rows_match(task, [{**problems[0], "problem_id": 3}], dataset, "s.json")


def test_dpo_rows_hold_the_prompt_and_the_reference_in_the_prompt_style():
    task = get_task("countdown")
    dataset = task.load_dataset("synthetic", "train", None, 3, HELD_OUT_DATASET_SEED)
    problems = countdown_problems(task, dataset, [[True, False], [False, False], [True, True]])
    rows, pair_set = dpo_dataset(task, dataset, problems, 1, "both", seed=0, style="think")
    assert (len(rows), pair_set.without_pair) == (2, 1)
    assert rows.column_names == ["prompt", "chosen", "rejected"]
    assert rows[0]["prompt"] == task.build_prompt(dataset[0], "think")
    assert rows[1]["chosen"][0]["content"][0]["text"] == task.sft_completion(dataset[1], "think")
    assert rows[1]["rejected"][0]["content"][0]["text"].startswith("sample 1-")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mode", "ppo"], PPO_MESSAGE),
        (["--mode", "dpo", "--beta", "0"], "--mode dpo needs --beta above 0"),
        (["--mode", "nsr", "--preference-data", "s.json"], "--preference-data is for --mode dpo"),
        (["--mode", "dpo", "--beta", "0.1", "--pairs-per-problem", "0"], "--pairs-per-problem must be a positive"),
        (["--mode", "dpo", "--beta", "0.1", "--chosen-from", "best"], "argument --chosen-from: invalid choice"),
    ],
)
def test_dpo_and_ppo_options_are_checked(flags, message):
    with pytest.raises(UserError) as error:
        parse_run_config(flags)
    assert message in str(error.value)


def test_dpo_options_parse_from_the_command_line():
    config = parse_run_config(
        ["--mode", "dpo", "--beta", "0.1", "--preference-data", "s.json", "--pairs-per-problem", "3"]
    )
    assert (config.preference_data, config.pairs_per_problem, config.chosen_from) == ("s.json", 3, "samples")
