"""The range of each numeric option of main.py (rlvr/ranges.py), checked when the run's configuration is built.

Ranges that need the model or the task (tokens against the model's context, a subset against the problems a task
can generate, the reward threshold against the correctness reward's range) are checked by trainers/run_limits.py
once those are known, still before any weights load.
"""

from __future__ import annotations

from rlvr.ranges import (
    ABOVE_ZERO,
    FINITE,
    MIN_SAMPLING_TEMPERATURE,
    NON_NEGATIVE,
    POSITIVE_INT,
    PROBABILITY_MASS,
    SAMPLING_TEMPERATURE,
    SEED,
    Range,
)

OPTION_RANGES: dict[str, Range] = {
    **dict.fromkeys(
        (
            "num_generations",
            "batch_size",
            "gradient_accumulation_steps",
            "max_completion_length",
            "save_steps",
            "save_total_limit",
            "logging_steps",
            "num_iterations",
            "lora_rank",
            "vllm_tensor_parallel_size",
            "subset_size",
            "steps_per_generation",
            "rollout_prompts",
            "update_prompts",
            "max_eval_samples",
            "pairs_per_problem",
            "static_cache_tokens",
            "eval_steps",
            "eval_num_samples",
            "eval_subset_size",
        ),
        POSITIVE_INT,
    ),
    # 0 is a control run's learning rate, and a weight, coefficient or warm-up that is off
    **dict.fromkeys(("learning_rate", "weight_decay", "warmup", "lambda_psr", "beta", "entropy_coef"), NON_NEGATIVE),
    "epsilon": ABOVE_ZERO,
    "num_epochs": ABOVE_ZERO,
    "lora_alpha": Range(low=1, integer=True, why="the adapter's update is scaled by alpha / rank"),
    "lora_dropout": Range(low=0, high=1, high_open=True),
    "temperature": SAMPLING_TEMPERATURE,
    "eval_temperature": Range(low=MIN_SAMPLING_TEMPERATURE, also=(0,), why="0 decodes greedily"),
    "eval_top_p": PROBABILITY_MASS,
    "reward_threshold": FINITE,
    "reward_weights": FINITE,
    "vllm_gpu_memory_utilization": PROBABILITY_MASS,
    "seed": SEED,
    "max_steps": Range(low=1, integer=True, also=(-1,), why="-1 trains --num-epochs"),
}
