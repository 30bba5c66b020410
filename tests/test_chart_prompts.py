import pytest

from rlvr.errors import UserError
from rlvr.tasks.chart.prompts import SYSTEM_PROMPTS, build_chart_prompt


def test_three_styles_are_offered():
    assert list(SYSTEM_PROMPTS) == ["structured", "think", "direct"]


@pytest.mark.parametrize("style", ["structured", "think", "direct"])
def test_prompt_is_a_system_turn_then_image_and_query(style):
    messages = build_chart_prompt("Which year had the most sales?", style=style)

    assert messages == [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPTS[style]}]},
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "Which year had the most sales?"}],
        },
    ]


def test_structured_is_the_default():
    assert build_chart_prompt("q") == build_chart_prompt("q", style="structured")


def test_structured_prompt_spells_out_every_element_of_the_layout():
    prompt = SYSTEM_PROMPTS["structured"]
    layout = (
        "<think>\n<type>CHART TYPE</type>\n"
        '<table>{"columns": [...], "rows": [[...], ...]}</table>\n'
        "<step-1>...</step-1>\n...\n<step-n>...</step-n>\n</think>\n<answer>ANSWER</answer>"
    )
    assert layout in prompt


def test_think_prompt_asks_for_think_then_answer_only():
    prompt = SYSTEM_PROMPTS["think"]
    assert "<think>" in prompt and "</think>" in prompt and "<answer>ANSWER</answer>" in prompt
    assert "<table>" not in prompt and "<step-" not in prompt


def test_direct_prompt_asks_for_the_answer_only():
    prompt = SYSTEM_PROMPTS["direct"]
    assert "<answer>ANSWER</answer>" in prompt
    assert "<think>" not in prompt


def test_unknown_style_names_the_valid_choices():
    with pytest.raises(UserError, match=r"'cot'.*structured, think, direct"):
        build_chart_prompt("q", style="cot")


def test_each_call_returns_fresh_messages():
    first = build_chart_prompt("q")
    first[1]["content"].append({"type": "text", "text": "changed"})
    assert len(build_chart_prompt("q")[1]["content"]) == 2
