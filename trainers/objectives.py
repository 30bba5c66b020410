"""The objectives of "The Surprising Effectiveness of Negative Reinforcement in LLM Reasoning" (Zhu et al., 2025).

Each sampled response is correct or incorrect by a verifiable check. The decomposed objectives act on advantages:

    mode          correct sample            incorrect sample
    psr           advantage +1, kept        dropped
    nsr           dropped                   advantage -1, kept
    w-reinforce   advantage +lambda, kept   advantage -1, kept

No group mean and no standard-deviation scaling. A dropped sample leaves the loss and its token count, so the
token-mean loss runs over kept tokens only and an NSR step does not shrink when few samples are wrong.

``grpo`` is TRL's own group-normalised advantage over the weighted sum of all rewards, left untouched. Relabelling
binary rewards in front of that normalisation (the original notes' "filters") cannot produce the table above: any
map a * r + b with a > 0 is erased by (r - mean) / std, so every such "mode" trains GRPO.
"""

from __future__ import annotations

import torch

from rlvr.methods import SPLIT_ON_CHOICES


def sample_advantages(mode: str, lambda_psr: float) -> tuple[float | None, float | None]:
    """(advantage of a correct sample, advantage of an incorrect one) for ``mode``; None means dropped."""
    table = {
        "psr": (1.0, None),
        "nsr": (None, -1.0),
        "w-reinforce": (lambda_psr, -1.0),
    }
    if mode not in table:
        raise ValueError(f"mode {mode!r} has no decomposed advantages; expected one of {', '.join(table)}")
    return table[mode]


def decomposed_advantages(correct: torch.Tensor, mode: str, lambda_psr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample advantages and the mask of samples that stay in the loss.

    Args:
        correct: boolean tensor, one entry per sampled completion.
        mode: "psr", "nsr" or "w-reinforce".
        lambda_psr: the weight of correct samples in W-REINFORCE.

    Returns:
        (advantages, keep): float tensor and boolean tensor shaped like ``correct``. Dropped samples have
        advantage 0 and keep False.

    Example:
        >>> advantages, keep = decomposed_advantages(torch.tensor([True, False, False]), "nsr", 0.1)
        >>> advantages.tolist(), keep.tolist()
        ([0.0, -1.0, -1.0], [False, True, True])
    """
    correct = correct.bool()
    positive, negative = sample_advantages(mode, lambda_psr)
    keep_correct = correct if positive is not None else torch.zeros_like(correct)
    keep_incorrect = ~correct if negative is not None else torch.zeros_like(correct)
    advantages = torch.zeros(correct.shape, dtype=torch.float32, device=correct.device)
    advantages[keep_correct] = positive if positive is not None else 0.0
    advantages[keep_incorrect] = negative if negative is not None else 0.0
    return advantages, keep_correct | keep_incorrect


def sample_correctness(
    rewards_per_func: torch.Tensor,
    reward_weights: torch.Tensor,
    correctness_index: int,
    threshold: float,
    split_on: str = "accuracy",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which samples are correct, and which could be judged at all.

    Correctness is the verifiable reward (column ``correctness_index`` of the reward matrix) against
    ``threshold``, never the sum of shaping rewards, unless ``split_on == "total"`` asks for the weighted total.
    A sample whose verifiable reward is missing (NaN: the reward returned None) is unscorable and must be dropped.

    Returns:
        (correct, scorable): two boolean tensors of shape (num_samples,).
    """
    if split_on == "accuracy":
        score = rewards_per_func[:, correctness_index]
        scorable = ~torch.isnan(score)
    elif split_on == "total":
        weighted = rewards_per_func * reward_weights.to(rewards_per_func.device).unsqueeze(0)
        scorable = ~torch.isnan(rewards_per_func).all(dim=1)
        score = weighted.nansum(dim=1)
    else:
        raise ValueError(f"split_on must be one of {SPLIT_ON_CHOICES}, got {split_on!r}")
    correct = scorable & (torch.nan_to_num(score, nan=float("-inf")) >= threshold)
    return correct, scorable


def shuffled_rows(num_rows: int, seed: int, rollout: int) -> torch.Tensor:
    """The control's permutation of a rollout's reward rows: the same on every process (the reward matrix is gathered),
    a new one for every rollout, and never the identity when there is anything to permute."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + rollout)
    permutation = torch.randperm(num_rows, generator=generator)
    if num_rows > 1 and torch.equal(permutation, torch.arange(num_rows)):
        permutation = permutation.roll(1)
    return permutation


def coin_flip_rewards(rewards_per_func: torch.Tensor, seed: int, rollout: int) -> torch.Tensor:
    """The Bernoulli control: every reward column replaced by coin flips (1.0 or 0.0) that come up 1 at the column's
    own rate of positive rewards in this rollout, so the control sees as many successes as the run, at random places.
    The same draw on every process (the reward matrix is gathered)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + rollout + 500_000)
    rate = (rewards_per_func.nan_to_num(0.0) > 0).float().mean(dim=0, keepdim=True).cpu()
    flips = (torch.rand(rewards_per_func.shape, generator=generator) < rate).to(rewards_per_func)
    return torch.where(rewards_per_func.isnan(), rewards_per_func, flips)
