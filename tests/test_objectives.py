"""The objectives as the paper defines them (trainers/objectives.py), checked on hand-made correctness patterns."""

from __future__ import annotations

import pytest
import torch

from trainers.objectives import decomposed_advantages, sample_correctness

ALL_CORRECT = [True, True, True, True]
ALL_WRONG = [False, False, False, False]
MIXED = [True, False, False, True]


def advantages_and_keep(correct: list[bool], mode: str, lambda_psr: float = 0.1):
    advantages, keep = decomposed_advantages(torch.tensor(correct), mode, lambda_psr)
    return advantages.tolist(), keep.tolist()


@pytest.mark.parametrize(
    ("mode", "correct", "expected_advantages", "expected_keep"),
    [
        ("psr", MIXED, [1.0, 0.0, 0.0, 1.0], [True, False, False, True]),
        ("psr", ALL_CORRECT, [1.0] * 4, [True] * 4),
        ("psr", ALL_WRONG, [0.0] * 4, [False] * 4),
        ("nsr", MIXED, [0.0, -1.0, -1.0, 0.0], [False, True, True, False]),
        ("nsr", ALL_CORRECT, [0.0] * 4, [False] * 4),
        ("nsr", ALL_WRONG, [-1.0] * 4, [True] * 4),
        ("w-reinforce", MIXED, [0.1, -1.0, -1.0, 0.1], [True] * 4),
        ("w-reinforce", ALL_CORRECT, [0.1] * 4, [True] * 4),
        ("w-reinforce", ALL_WRONG, [-1.0] * 4, [True] * 4),
    ],
)
def test_advantages_follow_the_paper(mode, correct, expected_advantages, expected_keep):
    advantages, keep = advantages_and_keep(correct, mode)
    assert advantages == pytest.approx(expected_advantages)
    assert keep == expected_keep


def test_w_reinforce_weights_correct_samples_by_lambda():
    advantages, _ = advantages_and_keep(MIXED, "w-reinforce", lambda_psr=0.37)
    assert advantages == pytest.approx([0.37, -1.0, -1.0, 0.37])


def test_no_group_mean_and_no_std_scaling():
    # One correct sample among many wrong ones: GRPO would give it a large advantage; PSR gives exactly +1.
    correct = [True] + [False] * 7
    assert advantages_and_keep(correct, "psr")[0][0] == 1.0
    assert advantages_and_keep(correct, "nsr")[0][1:] == [-1.0] * 7


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="grpo"):
        decomposed_advantages(torch.tensor(MIXED), "grpo", 0.1)


def reward_matrix(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_correctness_is_the_verifiable_reward_against_the_threshold():
    # columns: format (weight 1), accuracy (weight 1). A well formatted wrong answer is still wrong.
    rewards = reward_matrix([[2.0, 0.0], [0.0, 1.0], [2.0, 0.4], [2.0, 0.6]])
    correct, scorable = sample_correctness(rewards, torch.ones(2), correctness_index=1, threshold=0.5)
    assert correct.tolist() == [False, True, False, True]
    assert scorable.all()


def test_threshold_moves_the_split():
    rewards = reward_matrix([[0.0, 0.4], [0.0, 0.6]])
    correct, _ = sample_correctness(rewards, torch.ones(2), correctness_index=1, threshold=0.3)
    assert correct.tolist() == [True, True]


def test_split_on_total_uses_the_weighted_sum_of_rewards():
    rewards = reward_matrix([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    weights = torch.tensor([0.5, 1.0])
    correct, _ = sample_correctness(rewards, weights, correctness_index=1, threshold=1.0, split_on="total")
    assert correct.tolist() == [True, True, False]


def test_a_missing_verifiable_reward_makes_a_sample_unscorable():
    rewards = reward_matrix([[2.0, float("nan")], [2.0, 1.0]])
    correct, scorable = sample_correctness(rewards, torch.ones(2), correctness_index=1, threshold=0.5)
    assert scorable.tolist() == [False, True]
    assert correct.tolist() == [False, True]


# --- The trap this project exists to avoid -------------------------------------------------------------------
# The original notes "filtered" rewards and then let TRL's GRPO normalise them per group. With a binary
# correctness reward that is GRPO in every mode: the group normalisation erases any relabelling a*r + b, a > 0.


def trl_group_normalised_advantages(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """TRL 1.16's default: (r - group mean) / (group std + 1e-4), std unbiased (torch.std)."""
    grouped = rewards.view(-1, num_generations)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + 1e-4)).view(-1)


def notes_reward_filter(rewards: torch.Tensor, mode: str, threshold: float = 0.5, lambda_psr: float = 0.1):
    """The filters of the original notes, reproduced only to show what they train."""
    positive = rewards >= threshold
    if mode == "psr":
        return torch.where(positive, rewards, torch.zeros_like(rewards))
    if mode == "nsr":
        return torch.where(positive, torch.zeros_like(rewards), -(rewards - threshold).abs())
    return torch.where(positive, lambda_psr * rewards, -(rewards - threshold).abs())


@pytest.mark.parametrize("mode", ["psr", "nsr", "w-reinforce"])
@pytest.mark.parametrize("pattern", [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 1, 0, 0, 1, 1, 0]])
def test_filtering_rewards_before_group_normalisation_trains_grpo(mode, pattern):
    accuracy = torch.tensor(pattern, dtype=torch.float32)
    grpo = trl_group_normalised_advantages(accuracy, num_generations=4)
    filtered = trl_group_normalised_advantages(notes_reward_filter(accuracy, mode), num_generations=4)
    torch.testing.assert_close(filtered, grpo, atol=1e-3, rtol=1e-3)
    ours, _ = decomposed_advantages(accuracy.bool(), mode, 0.1)
    assert not torch.allclose(ours, grpo, atol=1e-2), "the decomposed objective must differ from GRPO"


def test_reference_example_group():
    # decomposed-rlvr.md: group [correct, wrong, wrong, wrong]
    accuracy = torch.tensor([1.0, 0.0, 0.0, 0.0])
    grpo = trl_group_normalised_advantages(accuracy, 4)
    assert grpo.tolist() == pytest.approx([1.5, -0.5, -0.5, -0.5], abs=1e-3)
    assert advantages_and_keep([True, False, False, False], "w-reinforce")[0] == pytest.approx([0.1, -1, -1, -1])
