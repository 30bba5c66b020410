"""Property tests: for any text, the rewards and answer rules never raise and stay inside their ranges."""

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.tasks.chart.answers import (
    MAX_NUMBER_TEXT_LENGTH,
    exact_match,
    extract_answer,
    parse_number,
    relaxed_match,
)
from rlvr.tasks.chart.rewards import (
    REWARD_FUNCTIONS,
    REWARD_RANGES,
    accuracy_reward,
    chart_type_reward,
    format_reward,
    length_think_reward,
    num_token_reward,
    process_style_reward,
    table_style_reward,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WITH_MODEL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = [
    "<think>",
    "</think>",
    "<type>",
    "</type>",
    "<table>",
    "</table>",
    "<answer>",
    "</answer>",
    "<step-1>",
    "</step-1>",
    "<step-2>",
    "</step-2>",
    "<step-",
    "</step-",
    "<step-99999999999999999999>",
]
JSON_PIECES = [
    '{"columns": ["Year", "Sales"], "rows": [["2019", "10"], ["2020", "12"]]}',
    '{"columns": [], "rows": []}',
    '{"columns": "Year", "rows": {"a": 1}}',
    "[",
    "]",
    "{",
    "}",
    '"',
    ",",
    ":",
    "null",
    "NaN",
    "-Infinity",
    "1e999",
    "-0",
    "9" * 400,
]
NUMBER_PIECES = ["-", "\u2212", "$", "€", "%", "1,234", "45", "0", ".", "e", " kg", " percent", "1e400", "nan", "inf"]

HOSTILE_TEXTS = [
    "",
    " " * 100_000,
    "a" * 100_000,
    "9" * 100_000,
    "<" * 100_000,
    "[" * 5000,
    "<table>" + "[" * 5000 + "</table>",
    "<table>" + "[" * 5000 + "]" * 5000 + "</table>",
    "<table>" + "9" * 5000 + "</table>",
    "<table>[" + ",".join(['["a", "1"]'] * 20_000) + "]</table>",
    '<table>{"columns": [' + ",".join(['"c"'] * 20_000) + '], "rows": [[' + ",".join(["1"] * 20_000) + "]]}</table>",
    "<think><type>bar</type><table>{}</table>" + "<step-1>a</step-1>" * 5000 + "</think><answer>1</answer>",
    "<think><type>bar</type><table>{}</table>" + "<step-1>a</step-2>" * 5000,
    "<step-" + "1" * 100_000,
    "<think>" + "<table>" * 10_000 + "</think>",
    "<answer>" * 10_000 + "</answer>",
    "<think>" * 5000 + "</think>" * 5000,
    "\u202e\u0000\ud7ff\U0001f4ca" * 10_000,
]

fragment = st.one_of(
    st.sampled_from(TAGS),
    st.sampled_from(JSON_PIECES),
    st.sampled_from(NUMBER_PIECES),
    st.text(max_size=30),
)
tagged_text = st.lists(fragment, max_size=40).map("".join)
structured_text = st.builds(
    lambda chart, table, steps, answer, tail: (
        f"<think>\n<type>{chart}</type>\n<table>{table}</table>\n"
        + "\n".join(f"<step-{i}>{step}</step-{i}>" for i, step in enumerate(steps, 1))
        + f"\n</think>\n<answer>{answer}</answer>{tail}"
    ),
    st.text(max_size=10),
    st.one_of(st.sampled_from(JSON_PIECES), st.text(max_size=40)),
    st.lists(st.text(max_size=60), max_size=8),
    st.one_of(st.text(max_size=10), st.sampled_from(NUMBER_PIECES)),
    st.one_of(st.just(""), st.text(max_size=10)),
)
any_text = st.one_of(st.text(), tagged_text, structured_text, st.sampled_from(HOSTILE_TEXTS))
any_completion = st.one_of(
    any_text,
    any_text.map(lambda text: [{"role": "assistant", "content": text}]),
    any_text.map(lambda text: [{"role": "assistant", "content": [{"type": "text", "text": text}]}]),
)
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner)),
    max_leaves=20,
)
true_table = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "columns": st.lists(st.text(max_size=15), max_size=6),
            "rows": st.lists(st.lists(st.text(max_size=15), max_size=6), max_size=6),
        }
    ),
    st.dictionaries(st.text(max_size=8), json_value, max_size=3),
    st.text(max_size=60),
)
column_text = st.one_of(st.none(), any_text, st.sampled_from(NUMBER_PIECES), st.integers(), st.floats())


def assert_in_range(name, rewards):
    low, high = REWARD_RANGES[name]
    for reward in rewards:
        if reward is not None:
            assert isinstance(reward, float) and math.isfinite(reward)
            assert low <= reward <= high, (name, reward)


@st.composite
def batch(draw, column_values):
    completions = draw(st.lists(any_completion, min_size=1, max_size=4))
    column = draw(st.lists(column_values, min_size=len(completions), max_size=len(completions)))
    return completions, column


@FAST
@given(st.lists(any_completion, min_size=1, max_size=4))
def test_format_reward_is_zero_or_two(completions):
    rewards = format_reward(completions)
    assert len(rewards) == len(completions)
    assert set(rewards) <= {0.0, 2.0}


@FAST
@given(batch(column_text))
def test_accuracy_reward_is_zero_or_one(completions_and_labels):
    completions, labels = completions_and_labels
    rewards = accuracy_reward(completions, label=labels)
    assert len(rewards) == len(completions)
    assert all((reward is None) == (label is None) for reward, label in zip(rewards, labels, strict=True))
    assert set(rewards) <= {None, 0.0, 1.0}


@FAST
@given(st.lists(any_completion, min_size=1, max_size=4))
def test_length_think_reward_stays_in_quarter_steps_up_to_two_and_a_half(completions):
    rewards = length_think_reward(completions)
    assert len(rewards) == len(completions)
    assert_in_range("length_think_reward", rewards)
    assert all((reward * 4).is_integer() for reward in rewards)


@FAST
@given(st.lists(any_completion, min_size=1, max_size=4))
def test_num_token_reward_is_zero_or_two(completions):
    assert set(num_token_reward(completions)) <= {0.0, 2.0}


@FAST
@given(batch(column_text))
def test_chart_type_reward_is_zero_or_one(completions_and_types):
    completions, chart_types = completions_and_types
    rewards = chart_type_reward(completions, chart_type=chart_types)
    assert all((reward is None) == (expected is None) for reward, expected in zip(rewards, chart_types, strict=True))
    assert set(rewards) <= {None, 0.0, 1.0}


@FAST
@given(batch(true_table))
def test_table_style_reward_stays_in_range_and_leaves_the_truth_alone(completions_and_tables):
    completions, tables = completions_and_tables
    kept = copy.deepcopy(tables)
    rewards = table_style_reward(completions, table=tables)
    assert len(rewards) == len(completions)
    assert_in_range("table_style_reward", rewards)
    assert all(reward is None for reward, expected in zip(rewards, tables, strict=True) if expected is None)
    assert repr(tables) == repr(kept)  # repr, because NaN != NaN


@FAST
@given(batch(true_table))
def test_table_style_reward_scores_each_completion_on_its_own(completions_and_tables):
    completions, tables = completions_and_tables
    together = table_style_reward(completions, table=tables)
    one_by_one = [
        table_style_reward([completion], table=[table])[0]
        for completion, table in zip(completions, tables, strict=True)
    ]
    assert together == one_by_one


@WITH_MODEL
@given(batch(st.one_of(st.none(), any_text)))
def test_process_style_reward_stays_between_zero_and_one(completions_and_reasoning):
    completions, reasoning = completions_and_reasoning
    rewards = process_style_reward(completions, reasoning=reasoning)
    assert len(rewards) == len(completions)
    assert_in_range("process_style_reward", rewards)
    assert all(reward is None for reward, expected in zip(rewards, reasoning, strict=True) if expected is None)


@FAST
@given(st.lists(any_completion, min_size=1, max_size=3))
def test_every_registered_reward_without_its_column_never_raises(completions):
    for name, reward in REWARD_FUNCTIONS.items():
        rewards = reward(completions, prompts=[""] * len(completions), trainer_state=None)
        assert len(rewards) == len(completions)
        if name in {"format_reward", "length_think_reward", "num_token_reward"}:
            assert_in_range(name, rewards)
        else:
            assert rewards == [None] * len(completions)


# Answer rules


@FAST
@given(any_text)
def test_extract_answer_returns_trimmed_text_or_none(text):
    answer = extract_answer(text)
    assert answer is None or (answer == answer.strip() and not answer.endswith("."))


@FAST
@given(st.text().filter(lambda text: "<answer>" not in text and "</answer>" not in text))
def test_extract_answer_reads_back_what_was_written(text):
    assert extract_answer(f"junk <answer>{text}</answer> tail") == text.strip().rstrip(".").rstrip()


@FAST
@given(st.one_of(any_text, st.lists(st.sampled_from(NUMBER_PIECES), max_size=8).map("".join)))
def test_parse_number_returns_a_finite_float_or_none(text):
    number = parse_number(text)
    assert number is None or (isinstance(number, float) and math.isfinite(number))
    if len(text.strip()) > MAX_NUMBER_TEXT_LENGTH:
        assert number is None


@FAST
@given(any_text, any_text)
def test_matches_are_booleans_and_reflexive(prediction, label):
    assert isinstance(relaxed_match(prediction, label), bool)
    assert isinstance(exact_match(prediction, label), bool)
    assert exact_match(label, label)
    assert relaxed_match(label, label) == bool(" ".join(label.split()).rstrip(".!").rstrip())


finite_labels = st.floats(allow_nan=False, allow_infinity=False).filter(lambda value: 1e-300 < abs(value) < 1e300)


@FAST
@given(finite_labels, st.floats(min_value=-0.049, max_value=0.049))
def test_numbers_within_five_percent_of_the_absolute_label_match(label, relative_error):
    prediction = label * (1 + relative_error)
    assert relaxed_match(repr(prediction), repr(label))


@FAST
@given(finite_labels, st.floats(min_value=0.051, max_value=10.0), st.sampled_from([-1.0, 1.0]))
def test_numbers_further_than_five_percent_do_not_match(label, relative_error, direction):
    prediction = label * (1 + direction * relative_error)
    assert not relaxed_match(repr(prediction), repr(label))


@FAST
@given(st.floats(min_value=0.01, max_value=1e6, allow_nan=False))
def test_percent_answers_match_both_readings(value):
    as_percent = f"{value!r}%"
    assert relaxed_match(as_percent, repr(value))
    assert relaxed_match(repr(value / 100), as_percent)


def test_every_reward_handles_every_hostile_text():
    columns = {
        "label": ["12"] * len(HOSTILE_TEXTS),
        "chart_type": ["bar"] * len(HOSTILE_TEXTS),
        "table": [{"columns": ["a"], "rows": [["1"]]}] * len(HOSTILE_TEXTS),
        "reasoning": ["<step-1>a</step-1>"] * len(HOSTILE_TEXTS),
    }
    for name, reward in REWARD_FUNCTIONS.items():
        rewards = reward(HOSTILE_TEXTS, **columns)
        assert len(rewards) == len(HOSTILE_TEXTS) and None not in rewards
        assert_in_range(name, rewards)
    for text in HOSTILE_TEXTS:
        parse_number(text)
        extract_answer(text)
        assert relaxed_match(text, text) == bool(text.strip())
