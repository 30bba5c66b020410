"""The ranges of main.py's options that depend on the model or the task, checked once those are named and before
anything loads: tokens against the model's context, problem counts against what a generated dataset holds, and
--reward-threshold against the range of the reward it is compared with (trainers/option_ranges.py has the rest)."""

from __future__ import annotations

from rlvr.models.context import check_tokens_fit
from rlvr.tasks.base import Task, check_problem_count, select_rewards
from rlvr.tasks.reward_ranges import check_threshold, declared_range, total_range
from trainers.config import RunConfig


def check_run_limits(config: RunConfig, task: Task) -> None:
    """Each option of ``config`` within what ``config.model`` and ``task`` allow; UserError naming it otherwise."""
    if config.mode != "sft":  # SFT generates nothing, so needs no room for completions
        check_tokens_fit(config.model, config.max_completion_length, "--max-completion-length")
        check_tokens_fit(config.model, config.static_cache_tokens, "--static-cache-tokens")
    data = config.dataset_path
    check_problem_count(task, config.dataset_name, config.split, data, config.subset_size, "--subset-size")
    check_problem_count(task, config.dataset_name, config.split, data, config.max_eval_samples, "--max-eval-samples")
    if config.eval_steps is not None:
        held_out = config.eval_dataset or config.dataset_name
        check_problem_count(task, held_out, config.eval_split, None, config.eval_subset_size, "--eval-subset-size")
    if config.mode != "sft" and not config.preference_data:
        check_run_threshold(config, task)


def check_run_threshold(config: RunConfig, task: Task) -> None:
    """--reward-threshold inside the range of the correctness reward (or of the weighted total with --split-on
    total), so that it can tell right from wrong samples."""
    rewards = select_rewards(
        task, config.reward_funcs, config.reward_weights, needs_correctness=True, correctness=config.correctness_reward
    )
    if config.is_rl and config.split_on == "total":
        span = total_range(rewards.functions, rewards.weights)
        check_threshold(config.reward_threshold, span, f"the weighted total of {', '.join(rewards.names)}")
        return
    judge = rewards.functions[rewards.names.index(rewards.correctness_reward)]
    check_threshold(
        config.reward_threshold, declared_range(judge), f"the correctness reward {rewards.correctness_reward}"
    )
