"""The math task: boxed-answer extraction, math-verify equivalence with its time limits (on and off the main
thread), the rewards on right, wrong, malformed and hostile completions, datasets and prompts."""

from __future__ import annotations

import doctest
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import datasets
import pytest

from rlvr.errors import UserError
from rlvr.tasks import get_task
from rlvr.tasks.base import score_completions, select_rewards
from rlvr.tasks.math import answers as answers_module
from rlvr.tasks.math import task as math_module
from rlvr.tasks.math.answers import answers_match, last_boxed, run_in_worker
from rlvr.tasks.math.task import format_reward, generate_math_problems, load_math_dataset, math_accuracy_reward


def accuracy(*completions, expected=r"\frac{1}{2}") -> list[float | None]:
    return math_accuracy_reward(list(completions), answer=[expected] * len(completions))


# Extracting the boxed answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"The answer is $\boxed{5}$.", "5"),
        (r"$\boxed{\frac{1}{2}}$", r"\frac{1}{2}"),
        (r"$\boxed{\frac{\sqrt{3}}{2^{n+1}}}$", r"\frac{\sqrt{3}}{2^{n+1}}"),
        (r"first \boxed{1}, finally \boxed{2}", "2"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{\left\{ x \right\}}", r"\left\{ x \right\}"),
        (r"\boxed { 7 }", "7"),
        (r"\fbox{7}", "7"),
        (r"\boxed{\text{(C)}}", r"\text{(C)}"),
        (r"\boxed{\boxed{3}}", "3"),
        ("no box here", None),
        (r"\boxed{}", None),
        (r"\boxed{  }", None),
        (r"\boxed{\frac{1}{2}", None),  # cut off before the box closed
        (r"\boxed{5} and then \boxed{6", None),  # the last box is broken: no answer, not an earlier one
        (r"\boxed", None),
        (r"\boxed{1\}", None),  # an escaped brace does not close the box
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_last_boxed_is_linear_on_hostile_text():
    hostile = r"\boxed{" * 20_000 + "{" * 50_000
    started = time.perf_counter()
    assert last_boxed(hostile) is None
    assert last_boxed("x" * 1_000_000 + r"\boxed{4}") == "4"
    assert time.perf_counter() - started < 2.0


# Comparing answers


@pytest.mark.parametrize(
    ("expected", "predicted"),
    [
        (r"\frac{1}{2}", "0.5"),
        (r"\frac{1}{2}", r"\dfrac{1}{2}"),
        (r"\frac{1}{2}", r"\dfrac12"),
        ("0.5", r"\frac{1}{2}"),
        ("5", "5.0"),
        ("27", "27.00"),
        ("(3, -1)", "(3,-1)"),
        (r"5\sqrt{2}", r"\sqrt{50}"),
        ("x^2+1", "1+x^2"),
        (r"\{1,2\}", r"\{2,1\}"),
        ("1000", "1,000"),
        ("-\\frac{3}{4}", "-0.75"),
        (r"\text{(C)}", r"\text{(C)}"),
        ("90^\\circ", "90"),
        ("2", "x = 2"),
    ],
)
def test_equivalent_answers_match(expected, predicted):
    assert answers_match(expected, predicted)


@pytest.mark.parametrize(
    ("expected", "predicted"),
    [
        (r"\frac{1}{2}", r"\frac{1}{3}"),
        ("10", "11"),
        ("5", "-5"),
        ("(3, -1)", "(-1, 3)"),
        (r"5\sqrt{2}", r"5\sqrt{3}"),
        ("x^2+1", "x^2-1"),
        ("5", ""),
        ("5", "five hundred"),
    ],
)
def test_different_answers_do_not_match(expected, predicted):
    assert not answers_match(expected, predicted)


def test_an_over_long_answer_is_wrong_without_being_parsed(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("math-verify was called")

    monkeypatch.setattr(answers_module, "match_with_alarm", must_not_run)
    assert not answers_match("1", "1" * (answers_module.MAX_ANSWER_CHARS + 1))


def test_a_pathological_answer_is_cut_off_by_the_time_limit():
    started = time.perf_counter()
    assert not answers_match("5", "9^{9^{9^{9}}}", timeout_seconds=1)
    assert not answers_match("5", r"\sum_{n=1}^{10^{9}} n^{n}", timeout_seconds=1)
    assert time.perf_counter() - started < 8


def test_matching_works_off_the_main_thread_through_a_worker_process():
    # math-verify's signal-based time limit cannot run here; without the worker it would raise ValueError.
    def check() -> tuple[bool, bool, bool]:
        assert threading.current_thread() is not threading.main_thread()
        return answers_match(r"\frac{1}{2}", "0.5"), answers_match("10", "11"), accuracy(r"$\boxed{0.5}$") == [1.0]

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(check).result(timeout=300) == (True, False, True)


def test_a_stuck_worker_is_killed_at_the_deadline_and_replaced():
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.perf_counter()
        assert pool.submit(run_in_worker, time.sleep, (60,), 1.0).result(timeout=300) is None
        assert time.perf_counter() - started < 60
        assert pool.submit(run_in_worker, len, ("four",), 30.0).result(timeout=300) == 4


# The rewards


def test_accuracy_reward_on_right_wrong_and_malformed_completions():
    completions = [
        r"Adding up, $\boxed{\frac{1}{2}}$.",
        r"so $\boxed{0.5}$",
        r"first $\boxed{7}$, then corrected: $\boxed{\dfrac{1}{2}}$",
        r"first $\boxed{\frac12}$, then changed to $\boxed{7}$",
        r"$\boxed{\frac{1}{3}}$",
        "the answer is 1/2",  # no box
        r"$\boxed{\frac{1}{2}$",  # never closed
        r"\boxed{}",
        "",
    ]
    assert accuracy(*completions) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "completion",
    [
        r"\boxed{__import__('os').system('echo hacked')}",
        r"\boxed{lambda: 0.5}",
        r"\boxed{(lambda x: x)(0.5)}",
        r"\boxed{x + y}",
        r"\boxed{1/0}",
        r"\boxed{9**9**9**9}",
        r"\boxed{" + "(" * 5000 + "0.5" + ")" * 5000 + "}",
        "(((((" * 2000,
        r"\boxed{" + "1" * 10_000 + "}",
        "x" * 10_000,
        r"\boxed{" * 10_000,
    ],
)
def test_hostile_completions_score_zero_and_never_run(completion, capfd):
    assert accuracy(completion) == [0.0]
    assert "hacked" not in capfd.readouterr().out


def test_rewards_read_conversational_completions_and_need_the_answer_column():
    chat = [{"role": "assistant", "content": r"$\boxed{0.5}$"}]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": r"$\boxed{0.5}$"}]}]
    assert accuracy(chat, parts) == [1.0, 1.0]
    assert math_accuracy_reward([r"\boxed{1}"] * 2) == [None, None]
    assert math_accuracy_reward([r"\boxed{1}"] * 3, answer=["1", None, " "]) == [1.0, None, None]
    extra = {"prompts": ["p"], "completion_ids": [[1]], "trainer_state": None, "problem": ["?"], "solution": [None]}
    assert math_accuracy_reward([r"\boxed{1}"], answer=["1"], **extra) == [1.0]


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (r"<think>1 + 1 = 2</think><answer>\boxed{2}</answer>", 1.0),
        ("\n<think>\nwork\n</think>\n<answer>The answer is \\boxed{2}.</answer>\n", 1.0),
        (r"<answer>\boxed{2}</answer>", 0.0),
        ("<think>work</think><answer>2</answer>", 0.0),
        (r"<think>work</think> so <answer>\boxed{2}</answer>", 0.0),
        (r"<think>work</think><answer>\boxed{2}</answer> more", 0.0),
        (r"\boxed{2}", 0.0),
    ],
)
def test_format_reward_wants_think_then_a_boxed_answer(completion, expected):
    assert format_reward([completion]) == [expected]


def test_task_registration_and_training_selection():
    task = get_task("math")
    assert task.is_multimodal is False
    assert task.correctness_reward == "math_accuracy_reward"
    assert task.prompt_styles[0] == "boxed" and "think" in task.prompt_styles
    selection = select_rewards(task, ["format_reward"], None, needs_correctness=True)
    assert selection.names == ["format_reward", "math_accuracy_reward"] and selection.weights == [1.0, 0.0]
    row = {"problem": "?", "answer": r"\frac{1}{2}", "solution": None, "question_type": None, "dataset": "x"}
    assert score_completions(task, [r"\boxed{0.5}", r"\boxed{2}"], row, 0.5) == [True, False]
    task.startup_check(["math_accuracy_reward"])  # math-verify is installed: no error


# Datasets


def test_synthetic_problems_have_exact_answers_and_disjoint_splits():
    train = generate_math_problems(600, seed=3, split="train")
    test = generate_math_problems(200, seed=3, split="test")
    assert len({row["problem"] for row in train}) == 600
    assert not {row["problem"] for row in train} & {row["problem"] for row in generate_math_problems(200, 4, "test")}
    assert {row["question_type"] for row in train} == {"arithmetic", "fractions", "linear equation", "word problem"}
    for row in train[:150] + test[:50]:
        # The stored solution's last box is the stored answer, and the checker accepts it.
        assert last_boxed(row["solution"]) == row["answer"]
        assert accuracy(row["solution"], expected=row["answer"]) == [1.0]
    assert generate_math_problems(20, 1, "train") == generate_math_problems(20, 1, "train")
    assert generate_math_problems(20, 1, "train") != generate_math_problems(20, 2, "train")


def test_synthetic_dataset_loads_with_the_row_schema():
    rows = load_math_dataset("synthetic", split="train", subset_size=8, seed=0)
    assert len(rows) == 8
    assert rows.column_names == ["problem", "answer", "solution", "question_type", "dataset"]
    assert set(rows["dataset"]) == {"synthetic"}
    assert len(load_math_dataset("synthetic", split="test")) == math_module.SYNTHETIC_SPLIT_SIZES["test"]
    with pytest.raises(UserError, match="unknown split 'dev'"):
        load_math_dataset("synthetic", split="dev")


def test_synthetic_generator_stops_when_a_split_runs_out(monkeypatch):
    monkeypatch.setattr(math_module, "SYNTHETIC_MAKERS", (lambda rng: ("same", "1", r"\boxed{1}", "x"),))
    split = math_module.synthetic_split_of("same")
    with pytest.raises(UserError, match="found only 1 distinct"):
        generate_math_problems(2, seed=0, split=split)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_math_rows_take_the_answer_from_the_last_box_of_the_solution(tmp_path):
    rows = [
        {
            "problem": "What is $1/2 + 0$?",
            "solution": r"It is $\boxed{1}$... no: $\boxed{\frac{1}{2}}$.",
            "level": "Level 2",
            "type": "Algebra",
        },
        {"problem": "No answer here.", "solution": "We give up.", "level": "Level 5", "type": "Geometry"},
    ]
    dataset = load_math_dataset("math", "test", write_jsonl(tmp_path / "math.jsonl", rows))
    assert len(dataset) == 1  # the row without a box cannot be scored and is dropped
    assert dataset[0]["answer"] == r"\frac{1}{2}"
    assert dataset[0]["question_type"] == "Algebra, Level 2" and dataset[0]["dataset"] == "math"
    assert math_module.math_sft_completion(dataset[0], "boxed") == rows[0]["solution"]


def test_math500_aime_and_amc_columns_map_to_the_row_schema(tmp_path):
    math500 = [{"problem": "p", "answer": "3", "solution": r"\boxed{3}", "subject": "Algebra", "level": 4}]
    row = load_math_dataset("math500", "test", write_jsonl(tmp_path / "m.jsonl", math500))[0]
    assert (row["answer"], row["question_type"], row["solution"]) == ("3", "Algebra, Level 4", r"\boxed{3}")

    aime = [{"id": 1, "problem": "AIME problem", "answer": "204"}]
    row = load_math_dataset("aime25", "test", write_jsonl(tmp_path / "a.jsonl", aime))[0]
    assert (row["problem"], row["answer"]) == ("AIME problem", "204")
    assert row["solution"] is None and row["question_type"] is None

    amc = [{"question": "AMC problem", "answer": 27.0}, {"question": "second", "answer": 0.5}]
    parquet = tmp_path / "amc.parquet"
    datasets.Dataset.from_list(amc).to_parquet(str(parquet))
    rows = load_math_dataset("amc23", "test", parquet)
    assert rows["problem"] == ["AMC problem", "second"] and rows["answer"] == ["27", "0.5"]


def test_local_rows_without_usable_columns_are_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="expected a problem"):
        load_math_dataset("math500", "test", write_jsonl(tmp_path / "x.jsonl", [{"text": "hi", "answer": "1"}]))
    with pytest.raises(UserError, match="no row has both"):
        load_math_dataset("math500", "test", write_jsonl(tmp_path / "y.jsonl", [{"problem": "p", "answer": ""}]))


def test_subset_is_seeded(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [{"problem": f"p{n}", "answer": str(n)} for n in range(50)])
    first = load_math_dataset("math500", "test", path, subset_size=10, seed=1)
    assert len(first) == 10 and first["answer"] == load_math_dataset("math500", "test", path, 10, 1)["answer"]
    assert first["answer"] != load_math_dataset("math500", "test", path, 10, 2)["answer"]


def test_hub_datasets_name_their_hub_id_and_splits(monkeypatch):
    calls = []

    def offline(hub_id, config=None, split=None):
        calls.append((hub_id, config, split))
        raise ConnectionError("offline")

    monkeypatch.setattr(math_module.datasets, "load_dataset", offline)
    for name, hub_id in [
        ("math", "DigitalLearningGmbH/MATH-lighteval"),
        ("math500", "HuggingFaceH4/MATH-500"),
        ("aime25", "math-ai/aime25"),
        ("amc23", "math-ai/amc23"),
    ]:
        with pytest.raises(UserError, match=hub_id):
            load_math_dataset(name, "test")
    assert calls[0] == ("DigitalLearningGmbH/MATH-lighteval", "default", "test")
    with pytest.raises(UserError, match="math500: no split 'train'; it has test"):
        load_math_dataset("math500", "train")
    with pytest.raises(UserError, match="unknown math dataset 'gsm8k'"):
        load_math_dataset("gsm8k")


def test_hub_rows_are_mapped_like_local_ones(monkeypatch):
    hub = datasets.Dataset.from_dict(
        {"problem": ["p"], "level": ["Level 1"], "type": ["Prealgebra"], "solution": [r"so $\boxed{12}$"]}
    )
    monkeypatch.setattr(math_module.datasets, "load_dataset", lambda *args, **kwargs: hub)
    row = load_math_dataset("math", "train")[0]
    assert row == {
        "problem": "p",
        "answer": "12",
        "solution": r"so $\boxed{12}$",
        "question_type": "Prealgebra, Level 1",
        "dataset": "math",
    }


# Prompts and reference completions


@pytest.mark.parametrize("style", ["boxed", "think"])
def test_prompts_are_plain_string_messages(style):
    messages = get_task("math").build_prompt({"problem": "What is $1+1$?"}, style)
    assert [message["role"] for message in messages] == ["system", "user"]
    assert all(isinstance(message["content"], str) for message in messages)
    assert messages[1]["content"].startswith("What is $1+1$?")


def test_the_boxed_style_is_the_official_code_layout():
    messages = get_task("math").build_prompt({"problem": "What is $1+1$?"}, "boxed")
    assert messages == [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": "What is $1+1$?\nPlease reason step by step, and put your final answer within \\boxed{}.",
        },
    ]


@pytest.mark.parametrize("style", ["boxed", "think"])
def test_reference_completions_are_correct(style):
    task = get_task("math")
    rows = [
        *generate_math_problems(30, seed=5, split="train"),
        {"problem": "p", "answer": r"\frac{1}{2}", "solution": None},
        {"problem": "p", "answer": "7", "solution": "Seven, without a box."},
    ]
    for row in rows:
        completion = task.sft_completion(row, style)
        assert accuracy(completion, expected=row["answer"]) == [1.0], completion
        assert format_reward([completion]) == [1.0 if style == "think" else 0.0]


@pytest.mark.parametrize("module", [answers_module, math_module])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
