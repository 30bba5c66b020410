"""TRL's GRPOTrainer with the decomposed objectives (PSR, NSR, W-REINFORCE) applied to the advantages.

It changes only what it must (TRL 1.16.0, private methods, pinned in requirements.txt):
- ``_calculate_rewards``: keep the gathered reward matrix, shape (num_samples_global, num_reward_funcs);
- ``_generate_and_score_completions``: replace TRL's advantages by the table in ``trainers/objectives.py``, and take
  dropped samples out of the loss mask and out of ``num_items_in_batch``.
The loss mask travels as ``tool_mask``, which TRL multiplies into the loss mask only (the attention still sees the
whole completion); ``num_items_in_batch`` is the token count the token-mean ("dapo") loss divides by.
In ``grpo`` mode the advantages are TRL's own; only the objective metrics are added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from trl import GRPOTrainer

from rlvr.methods import DECOMPOSED_MODES, RL_MODES
from trainers.objectives import decomposed_advantages, sample_correctness

# Loss types whose normaliser is a token count over the loss mask, so that dropped samples leave the denominator.
TOKEN_MEAN_LOSS_TYPES = ("dapo", "bnpo")

# The private TRL methods this trainer overrides or relies on; tests check the installed TRL still has them.
TRL_METHODS_WE_OVERRIDE = ("_calculate_rewards", "_generate_and_score_completions", "_compute_loss", "log")


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which objective to train and how a sample counts as correct."""

    mode: str
    lambda_psr: float
    reward_threshold: float
    split_on: str
    correctness_reward: str
    fixed_updates_per_rollout: bool

    def __post_init__(self) -> None:
        if self.mode not in RL_MODES:
            raise ValueError(f"mode must be one of {', '.join(RL_MODES)}, got {self.mode!r}")


class DecomposedGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages follow ``objective.mode``; see the module docstring."""

    def __init__(self, *args: Any, objective: ObjectiveConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        if objective.correctness_reward not in self.reward_func_names:
            raise ValueError(
                f"the correctness reward {objective.correctness_reward!r} is not among the reward functions "
                f"{self.reward_func_names}; add it (with weight 0 to keep it out of the total reward)"
            )
        self._correctness_index = self.reward_func_names.index(objective.correctness_reward)
        if objective.mode in DECOMPOSED_MODES and self.loss_type not in TOKEN_MEAN_LOSS_TYPES:
            raise ValueError(
                f"--mode {objective.mode} needs a token-mean loss ({' or '.join(TOKEN_MEAN_LOSS_TYPES)}) so that "
                f"dropped samples leave the normaliser; got loss_type {self.loss_type!r}"
            )
        self._rewards_per_func: torch.Tensor | None = None
        self._window_counts: Counter[str] = Counter()
        self.empty_batches = 0

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        self._rewards_per_func = None
        output = super()._generate_and_score_completions(inputs)
        if self._rewards_per_func is None:
            raise RuntimeError("TRL did not call _calculate_rewards; the pinned TRL version is required")
        return self.apply_objective(output, self._rewards_per_func)

    def apply_objective(self, output: dict[str, Any], rewards_per_func: torch.Tensor) -> dict[str, Any]:
        """Replace advantages and loss mask in TRL's scored batch ``output`` according to the objective.

        ``rewards_per_func`` covers the samples of every process; ``output`` holds this process's slice.
        """
        mode = "train" if self.model.training else "eval"
        num_generations = self.num_generations if mode == "train" else self.num_generations_eval
        correct, scorable = sample_correctness(
            rewards_per_func,
            self.reward_weights,
            self._correctness_index,
            self.objective.reward_threshold,
            self.objective.split_on,
        )
        if self.objective.mode in DECOMPOSED_MODES:
            advantages, keep = decomposed_advantages(correct, self.objective.mode, self.objective.lambda_psr)
            keep = keep & scorable
            self._replace_advantages(output, advantages, keep)
        else:
            keep = scorable
            advantages = self.accelerator.gather(output["advantages"].float())
        self._record_metrics(mode, correct, scorable, keep, advantages, num_generations)
        return output

    def _replace_advantages(self, output: dict[str, Any], advantages: torch.Tensor, keep: torch.Tensor) -> None:
        local_size = output["completion_ids"].size(0)
        process_slice = slice(
            self.accelerator.process_index * local_size, (self.accelerator.process_index + 1) * local_size
        )
        local_keep = keep[process_slice].to(output["completion_mask"].device)
        loss_mask = output.get("tool_mask")
        if loss_mask is None:
            loss_mask = torch.ones_like(output["completion_mask"])
        output["tool_mask"] = loss_mask * local_keep.unsqueeze(1).to(loss_mask.dtype)
        kept_tokens = (output["completion_mask"] * output["tool_mask"]).sum()
        output["num_items_in_batch"] = self.accelerator.gather(kept_tokens).sum()
        output["advantages"] = advantages[process_slice].to(output["advantages"].device, output["advantages"].dtype)
        # TRL logged its own group-normalised advantages for the completions table; show the ones we train on.
        logged = self._logs["advantages"]
        for _ in range(min(len(advantages), len(logged))):
            logged.pop()
        logged.extend(advantages.tolist())

    def _record_metrics(
        self,
        mode: str,
        correct: torch.Tensor,
        scorable: torch.Tensor,
        keep: torch.Tensor,
        advantages: torch.Tensor,
        num_generations: int,
    ) -> None:
        incorrect = scorable & ~correct
        num_samples = correct.numel()
        groups_correct = correct.view(-1, num_generations)
        groups_incorrect = incorrect.view(-1, num_generations)
        metrics = self._metrics[mode]
        metrics["objective/positive_frac"].append(correct.float().mean().item())
        metrics["objective/negative_frac"].append(incorrect.float().mean().item())
        metrics["objective/kept_frac"].append(keep.float().mean().item())
        metrics["objective/groups_without_positive_frac"].append((~groups_correct.any(dim=1)).float().mean().item())
        metrics["objective/groups_without_negative_frac"].append((~groups_incorrect.any(dim=1)).float().mean().item())
        kept_advantages = advantages[keep.to(advantages.device)]
        metrics["objective/mean_advantage"].append(kept_advantages.mean().item() if keep.any() else 0.0)
        empty = not bool(keep.any())
        metrics["objective/empty_batch_frac"].append(float(empty))
        if mode == "train":
            self.empty_batches += int(empty)
            self._window_counts.update(
                samples=num_samples,
                kept=int(keep.sum()),
                positive=int(correct.sum()),
                negative=int(incorrect.sum()),
                scorable=int(scorable.sum()),
            )

    def console_line(self, step: int) -> str:
        """The greppable summary of the samples seen since the last logging step."""
        counts = self._window_counts
        accuracy = counts["positive"] / max(counts["scorable"], 1)
        name = self.objective.mode.upper()
        kept, total = counts["kept"], counts["samples"]
        if self.objective.mode == "psr":
            body = f"{kept}/{total} positive samples kept"
        elif self.objective.mode == "nsr":
            body = f"{kept}/{total} negative samples kept"
        elif self.objective.mode == "w-reinforce":
            body = (
                f"{kept}/{total} samples kept ({counts['positive']} positive at +{self.objective.lambda_psr:g}, "
                f"{counts['negative']} negative at -1)"
            )
        else:
            body = f"{total} samples, {counts['positive']} correct"
        return f"{name} [step {step}]: {body} | accuracy {accuracy:.2f} | empty batches {self.empty_batches}"

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        is_training_log = self.model.training and "loss" in logs and self._window_counts["samples"] > 0
        if is_training_log and self.accelerator.is_main_process:
            print(self.console_line(self.state.global_step), flush=True)
        if is_training_log:
            self._window_counts.clear()
        super().log(logs, start_time)
