import copy
import doctest
import math

import pytest

from rlvr.tasks.chart import answers as answers_module
from rlvr.tasks.chart import prompts as prompts_module
from rlvr.tasks.chart import rewards as rewards_module
from rlvr.tasks.chart import similarity
from rlvr.tasks.chart.rewards import (
    REWARD_FUNCTIONS,
    accuracy_reward,
    chart_type_reward,
    completion_text,
    format_reward,
    length_think_reward,
    num_token_reward,
    process_style_reward,
    table_style_reward,
)

TRUE_TABLE = {"columns": ["Year", "Sales"], "rows": [["2019", "10"], ["2020", "12"]]}
TABLE_JSON = '{"columns": ["Year", "Sales"], "rows": [["2019", "10"], ["2020", "12"]]}'
STEPS = "<step-1>Sales were 10 in 2019.</step-1>\n<step-2>Sales were 12 in 2020, the most.</step-2>"
STRUCTURED = f"<think>\n<type>bar</type>\n<table>{TABLE_JSON}</table>\n{STEPS}\n</think>\n<answer>2020</answer>"


def as_conversation(text):
    return [{"role": "assistant", "content": text}]


def as_conversation_with_parts(text):
    return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]


# completion_text


def test_completion_text_reads_every_completion_shape():
    assert completion_text("plain") == "plain"
    assert completion_text(as_conversation("chat")) == "chat"
    assert completion_text(as_conversation_with_parts("parts")) == "parts"
    assert completion_text({"role": "assistant", "content": "one message"}) == "one message"
    parts = [{"type": "image"}, {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "ab"


def test_completion_text_skips_non_assistant_turns_and_odd_values():
    conversation = [
        {"role": "assistant", "content": "first"},
        {"role": "tool", "content": "<answer>tool output</answer>"},
        {"role": "assistant", "content": "second"},
    ]
    assert completion_text(conversation) == "first\nsecond"
    assert completion_text(None) == ""
    assert completion_text(42) == ""
    assert completion_text([{"role": "assistant", "content": None}]) == ""


# format_reward


def test_format_reward_accepts_the_structured_layout():
    assert format_reward([STRUCTURED]) == [2.0]
    assert format_reward([f"\n  {STRUCTURED}  \n"]) == [2.0]
    assert format_reward([as_conversation(STRUCTURED), as_conversation_with_parts(STRUCTURED)]) == [2.0, 2.0]


def test_format_reward_rejects_text_after_the_answer():
    # The original matched with re.MULTILINE, so trailing lines passed.
    assert format_reward([STRUCTURED + "\nThe answer is 2020.", STRUCTURED + "\n<answer>2019</answer>"]) == [0.0, 0.0]


@pytest.mark.parametrize(
    "completion",
    [
        "Sure! " + STRUCTURED,
        STRUCTURED.replace("<type>bar</type>", ""),
        STRUCTURED.replace("<type>bar</type>", "<type></type>"),
        STRUCTURED.replace(f"<table>{TABLE_JSON}</table>", ""),
        STRUCTURED.replace(STEPS, ""),
        STRUCTURED.replace("</step-2>", "</step-3>"),
        STRUCTURED.replace("<answer>2020</answer>", ""),
        STRUCTURED.replace("<answer>2020</answer>", "<answer></answer>"),
        STRUCTURED.replace("</think>", ""),
        STRUCTURED.replace("<step-1>Sales", "<step-1><answer>1</answer>Sales"),
        "<think></think><answer>2020</answer>",
        "<answer>2020</answer>",
        "",
    ],
)
def test_format_reward_rejects_broken_layouts(completion):
    assert format_reward([completion]) == [0.0]


# accuracy_reward


def test_accuracy_reward_uses_the_last_answer_and_relaxed_matching():
    completions = [
        "<answer>1,234</answer>",
        "<answer>-10.3</answer>",
        "<answer>100</answer>",
        "<answer>45%</answer>",
        "<answer>$5</answer>",
        "<answer>0</answer>",
        "<answer>0.01</answer>",
        "<answer>Yes.</answer>",
        "<answer>2019</answer> on reflection <answer>2020</answer>",
        "2020",
    ]
    labels = ["1234", "-10", "-10", "45", "5", "0", "0", "yes", "2020", "2020"]
    assert accuracy_reward(completions, label=labels) == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]


def test_accuracy_reward_reads_conversational_completions():
    completions = [as_conversation("<answer>12</answer>"), as_conversation_with_parts("<answer>12</answer>")]
    assert accuracy_reward(completions, label=["12", "13"]) == [1.0, 0.0]


# length_think_reward


def think_with(body):
    return f"<think>{body}</think><answer>1</answer>"


def test_length_think_reward_window_and_steps():
    seventy_one, two_fifty = "a" * 71, "a" * 250
    completions = [
        think_with(seventy_one),
        think_with(two_fifty),
        think_with("a" * 70),
        think_with("a" * 251),
        think_with("<step-1>" + "a" * 80 + "</step-1>"),
        think_with("".join(f"<step-{i}>x</step-{i}>" for i in range(1, 4))),
        think_with("".join(f"<step-{i}>x</step-{i}>" for i in range(1, 16))),
    ]
    assert length_think_reward(completions) == [1.0, 1.0, 0.0, 0.0, 1.25, 0.75, 1.5]


def test_length_think_reward_reaches_its_maximum():
    steps = "".join(f"<step-{i}>a step here</step-{i}>" for i in range(1, 7))
    assert 71 <= len(steps) <= 250
    assert length_think_reward([think_with(steps)]) == [2.5]


def test_length_think_reward_ignores_the_table_json():
    steps = "<step-1>" + "a" * 80 + "</step-1>"
    long_table = "<table>" + '["x"], ' * 100 + "</table>"
    # The original counted the table towards the window, so a big table pushed good reasoning out of it.
    assert length_think_reward([think_with(long_table + steps)]) == [1.25]
    assert length_think_reward([think_with("<table>" + "a" * 100 + "</table>")]) == [0.0]


def test_length_think_reward_without_think_is_zero():
    # The reference says the range starts at 0.25; it really starts at 0.
    assert length_think_reward(["<step-1>a</step-1>" * 3, "<think>unclosed <step-1>", ""]) == [0.0, 0.0, 0.0]


# num_token_reward


def test_num_token_reward_needs_each_tag_exactly_once():
    assert num_token_reward([STRUCTURED, as_conversation(STRUCTURED)]) == [2.0, 2.0]
    missing = STRUCTURED.replace("<type>bar</type>", "")
    doubled = STRUCTURED + "<answer>again</answer>"
    assert num_token_reward([missing, doubled, ""]) == [0.0, 0.0, 0.0]


# chart_type_reward


def test_chart_type_reward_is_case_insensitive():
    completions = ["<type>Bar</type>", "<type>  horizontal   BAR </type>", "<type>line</type>", "bar", "<type>bar"]
    chart_types = ["bar", "Horizontal bar", "bar", "bar", "bar"]
    assert chart_type_reward(completions, chart_type=chart_types) == [1.0, 1.0, 0.0, 0.0, 0.0]


# table_style_reward


def test_table_style_reward_full_marks_for_the_true_table():
    assert table_style_reward([STRUCTURED], table=[TRUE_TABLE]) == [2.25]


def test_table_style_reward_partial_credit():
    half_columns = '<table>{"columns": ["Year"], "rows": [["2019", "10"], ["2020", "12"]]}</table>'
    extra_key = '<table>{"columns": ["Year", "Sales"], "rows": [["2019", "10"], ["2020", "12"]], "x": 1}</table>'
    numbers_as_numbers = '<table>{"columns": ["year", "SALES"], "rows": [[2019, 10.0], [2020, "1,2"]]}</table>'
    rewards = table_style_reward(
        [half_columns, extra_key, numbers_as_numbers, "<table>[1, 2]</table>", '<table>"text"</table>'],
        table=[TRUE_TABLE] * 5,
    )
    # Columns F1: precision 1, recall 1/2 -> 2/3 of 0.75.
    assert rewards[0] == pytest.approx(0.5 + 0.75 * 2 / 3 + 0.75 + 0.25)
    assert rewards[1] == pytest.approx(0.5 + 0.75 + 0.75)
    # Three of four cells match ("1,2" is not a number and not "12").
    assert rewards[2] == pytest.approx(0.5 + 0.75 + 0.75 * 0.75 + 0.25)
    assert rewards[3:] == [0.5, 0.5]


def test_table_style_reward_carries_no_state_between_completions():
    # The original scored the previous completion's table after a parse failure.
    good = f"<table>{TABLE_JSON}</table>"
    rewards = table_style_reward([good, "<table>{not json</table>", "no table", good], table=[TRUE_TABLE] * 4)
    assert rewards == [2.25, 0.0, 0.0, 2.25]


def test_table_style_reward_never_changes_the_ground_truth():
    unsorted_truth = {"columns": ["b", "a"], "rows": [["3", "1"], ["2", "0"]]}
    kept = copy.deepcopy(unsorted_truth)
    completion = '<table>{"columns": ["a", "b"], "rows": [["0", "2"], ["1", "3"]]}</table>'
    assert table_style_reward([completion, completion], table=[unsorted_truth, unsorted_truth]) == [2.25, 2.25]
    assert unsorted_truth == kept


def test_table_style_reward_accepts_the_truth_as_json_text():
    assert table_style_reward([STRUCTURED], table=[TABLE_JSON]) == [2.25]
    assert table_style_reward([STRUCTURED], table=["not a table"]) == [None]


def test_table_style_reward_survives_hostile_json():
    deep = "<table>" + "[" * 5000 + "]" * 5000 + "</table>"
    huge_int = "<table>[" + "9" * 4000 + "]</table>"
    too_long_int = "<table>" + "9" * 5000 + "</table>"
    specials = '<table>{"columns": [NaN, Infinity, null, true, {"a": []}], "rows": [1e999, [[1]]]}</table>'
    rewards = table_style_reward([deep, huge_int, too_long_int, specials], table=[TRUE_TABLE] * 4)
    assert rewards[:3] == [0.0, 0.5, 0.0]
    assert rewards[3] == pytest.approx(0.5 + 0.25)


# process_style_reward


def test_process_style_reward_scores_similar_reasoning_higher():
    reference = "<step-1>Sales were 10 in 2019.</step-1><step-2>Sales were 12 in 2020, the most.</step-2>"
    unrelated = "<table>{}</table><step-1>Bananas are yellow and grow in tropical climates.</step-1></think>"
    rewards = process_style_reward([STRUCTURED, unrelated], reasoning=[reference, reference])
    assert rewards[0] == pytest.approx(1.0, abs=1e-3)
    assert 0.0 <= rewards[1] < 0.5


def test_process_style_reward_without_reasoning_text_is_zero():
    completions = ["no tags at all", "<table>{}</table>   </think>", "<table>{}</table> never closed"]
    assert process_style_reward(completions, reasoning=["some reasoning"] * 3) == [0.0, 0.0, 0.0]


def test_process_style_reward_clips_negative_similarity(monkeypatch):
    monkeypatch.setattr(
        "rlvr.tasks.chart.rewards.cosine_similarities", lambda texts, references: [-0.3, 1.0000001, math.nan]
    )
    completions = ["<table></table>a</think>", "<table></table>b</think>", "<table></table>c</think>"]
    assert process_style_reward(completions, reasoning=["x", "y", "z"]) == [0.0, 1.0, 0.0]


def test_process_style_reward_embeds_the_batch_in_one_call(monkeypatch):
    calls = []

    class CountingModel:
        def encode(self, sentences, **kwargs):
            calls.append(list(sentences))
            import torch

            return torch.ones(len(sentences), 4) / 2

    monkeypatch.setattr(similarity, "load_similarity_model", lambda device=None: CountingModel())
    completions = [f"<table></table>reasoning {index}</think>" for index in range(5)]
    rewards = process_style_reward(completions, reasoning=[f"reference {index}" for index in range(5)])
    assert rewards == pytest.approx([1.0] * 5)
    assert len(calls) == 1 and len(calls[0]) == 10


# Rows and columns that are missing


@pytest.mark.parametrize(
    ("reward", "column"),
    [
        (accuracy_reward, "label"),
        (chart_type_reward, "chart_type"),
        (table_style_reward, "table"),
        (process_style_reward, "reasoning"),
    ],
)
def test_rows_without_the_column_get_none(reward, column):
    assert reward([STRUCTURED, STRUCTURED], prompts=["p", "p"]) == [None, None]
    rewards = reward([STRUCTURED, STRUCTURED], **{column: [None, None]})
    assert rewards == [None, None]


def test_only_the_rows_without_a_value_get_none():
    completions = [STRUCTURED, STRUCTURED]
    assert accuracy_reward(completions, label=["2020", None]) == [1.0, None]
    assert chart_type_reward(completions, chart_type=[None, "bar"]) == [None, 1.0]
    assert table_style_reward(completions, table=[TRUE_TABLE, None]) == [2.25, None]
    reasoning = process_style_reward(completions, reasoning=[None, STEPS])
    assert reasoning[0] is None and reasoning[1] == pytest.approx(1.0, abs=1e-3)


def test_rewards_accept_every_argument_trl_passes():
    trl_arguments = {
        "prompts": ["p"],
        "completion_ids": [[1, 2, 3]],
        "trainer_state": object(),
        "log_extra": lambda *args: None,
        "log_metric": lambda *args: None,
        "label": ["2020"],
        "chart_type": ["bar"],
        "table": [TRUE_TABLE],
        "reasoning": [STEPS],
        "image": [None],
        "query": ["Which year?"],
    }
    rewards = {name: reward(completions=[STRUCTURED], **trl_arguments) for name, reward in REWARD_FUNCTIONS.items()}
    expected = {
        "format_reward": 2.0,
        "accuracy_reward": 1.0,
        "length_think_reward": 1.5,
        "num_token_reward": 2.0,
        "chart_type_reward": 1.0,
    }
    for name, value in expected.items():
        assert rewards[name] == [value]
    assert rewards["table_style_reward"] == [2.25]
    assert rewards["process_style_reward"][0] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("module", [prompts_module, answers_module, rewards_module])
def test_docstring_examples_hold(module):
    failed, attempted = doctest.testmod(module)
    assert attempted > 0 and failed == 0
