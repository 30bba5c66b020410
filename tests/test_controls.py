"""The controls of an experiment: rewards shuffled within each rollout, and a learning rate of 0."""

from __future__ import annotations

import torch

from trainers.config import RunConfig
from trainers.objectives import coin_flip_rewards, shuffled_rows


def test_the_shuffle_is_a_permutation_that_changes_every_rollout_and_agrees_across_processes():
    first, second = shuffled_rows(64, seed=3, rollout=0), shuffled_rows(64, seed=3, rollout=1)
    assert sorted(first.tolist()) == list(range(64)) == sorted(second.tolist())
    assert not torch.equal(first, torch.arange(64)) and not torch.equal(first, second)
    assert torch.equal(first, shuffled_rows(64, seed=3, rollout=0))  # every process draws the same one
    assert not torch.equal(shuffled_rows(2, seed=0, rollout=0), torch.arange(2))  # never the identity


def test_a_shuffled_run_trains_on_the_rollouts_rewards_in_another_order(tiny_text_path, tmp_path):
    from test_update_geometry import make_trainer

    returned: list[list[float]] = []

    def accuracy_reward(completions, **kwargs):
        rewards = [float(index % 3 == 0) + index / 64 for index in range(len(completions))]  # exact in float32
        returned.append(rewards)
        return rewards

    trainer = make_trainer("nsr", tiny_text_path, tmp_path, reward=accuracy_reward, max_steps=2)
    trainer.objective = type(trainer.objective)(**{**trainer.objective.__dict__, "shuffle_rewards": True})
    trainer.train()
    used = trainer._rewards_per_func[:, 0].tolist()
    assert sorted(used) == sorted(returned[-1]) and used != returned[-1]


def test_learning_rate_zero_is_a_valid_control():
    assert RunConfig(learning_rate=0.0).learning_rate == 0.0


def test_the_coin_flip_control_keeps_the_rollouts_rate_of_successes_at_random_places():
    rewards = torch.tensor([[1.0], [0.0], [0.0], [0.0]]).repeat(256, 1)  # a quarter right
    flipped = coin_flip_rewards(rewards, seed=3, rollout=0)
    assert set(flipped.unique().tolist()) <= {0.0, 1.0}
    assert abs(flipped.mean().item() - 0.25) < 0.05  # binomial standard error 0.014 on 1,024 flips
    assert not torch.equal(flipped, rewards)
    assert torch.equal(flipped, coin_flip_rewards(rewards, seed=3, rollout=0))  # every process draws the same
    assert not torch.equal(flipped, coin_flip_rewards(rewards, seed=3, rollout=1))
    unscored = torch.tensor([[float("nan")], [1.0]])
    assert coin_flip_rewards(unscored, seed=0, rollout=0)[0].isnan().all()  # a sample without a reward stays so


def test_a_random_reward_run_is_a_flag_of_the_run_config():
    from trainers.config_parser import parse_run_config

    assert parse_run_config(["--mode", "psr", "--random-rewards"]).random_rewards
