"""TRL's GRPOTrainer with the decomposed objectives (PSR, NSR, W-REINFORCE) applied to the advantages.

It changes only what it must (TRL 1.16.0, private methods, pinned in requirements.txt):
- ``_calculate_rewards``: keep the gathered reward matrix, shape (num_samples_global, num_reward_funcs);
- ``_generate_and_score_completions``: replace TRL's advantages by the table in ``trainers/objectives.py``, and take
  dropped samples out of the loss mask and out of ``num_items_in_batch``;
- ``_prepare_inputs``, ``training_step``, ``_clip_grad_norm``, ``create_scheduler``: in the decomposed modes the
  rollout is compacted (trainers/rollout.py): kept samples fill the first update slots, dropped samples are neither
  forwarded nor back-propagated, and slots left without a kept sample do nothing at all, so a rollout makes
  ceil(kept / update size) optimizer updates as in the official code. ``--fixed-updates-per-rollout`` keeps TRL's
  geometry (every slot steps, dropped samples ride along at zero weight);
- ``_get_per_token_logps_and_entropies`` (compacted rollouts only): TRL's no-gradient pass for the rollout policy's
  log-probabilities runs over every sample before the rewards are known. It is deferred until the rollout is
  arranged, then skipped when the rollout makes at most one update in one iteration (the policy has not moved, so
  TRL's own stand-in, the current log-probabilities detached, is exact) and otherwise run on the forwarded rows only.
The loss mask travels as ``tool_mask``, which TRL multiplies into the loss mask only (the attention still sees the
whole completion); ``num_items_in_batch`` is the token count the token-mean ("dapo") loss divides by.
In ``grpo`` mode the advantages and the geometry are TRL's own; only the objective metrics are added.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from trl import GRPOTrainer
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.utils import split_pixel_values_by_grid, unsplit_pixel_values_by_grid

from rlvr.methods import DECOMPOSED_MODES, RL_MODES
from trainers.completion_log import log_rollout_sample
from trainers.model_card import card_identity
from trainers.objectives import coin_flip_rewards, decomposed_advantages, sample_correctness, shuffled_rows
from trainers.policy_kl import PolicyKLLogging
from trainers.rollout import (
    MODEL_INPUT_KEYS,
    SkipsIdleUpdates,
    active_slot_layout,
    kept_first_order,
    loss_tokens,
    micro_batch_rows,
    micro_batch_sizes,
    place_in_slots,
    take_rows,
    updates_for,
)
from trainers.trl_names import TOKEN_MEAN_LOSS_TYPES
from trainers.vllm_cpu_sync import sync_weights_by_reload, vllm_runs_on_cpu

# The private TRL methods this trainer overrides or relies on; tests check the installed TRL still has them.
TRL_METHODS_WE_OVERRIDE = (
    "_calculate_rewards",
    "_generate_and_score_completions",
    "_prepare_inputs",
    "training_step",
    "_clip_grad_norm",
    "create_scheduler",
    "_compute_loss",
    "_get_per_token_logps_and_entropies",
    "log",
)


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which objective to train and how a sample counts as correct."""

    mode: str
    lambda_psr: float
    reward_threshold: float
    split_on: str
    correctness_reward: str
    fixed_updates_per_rollout: bool
    shuffle_rewards: bool = False  # the controls of an experiment, never a training recipe
    random_rewards: bool = False

    def __post_init__(self) -> None:
        if self.mode not in RL_MODES:
            raise ValueError(f"mode must be one of {', '.join(RL_MODES)}, got {self.mode!r}")


class DecomposedGRPOTrainer(PolicyKLLogging, GRPOTrainer):
    """GRPOTrainer whose advantages follow ``objective.mode``; see the module docstring."""

    def __init__(self, *args: Any, objective: ObjectiveConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        self._name, self._paper, self._tag_names = card_identity(objective.mode, self._paper)
        if objective.correctness_reward not in self.reward_func_names:
            raise ValueError(
                f"the correctness reward {objective.correctness_reward!r} is not among the reward functions "
                f"{self.reward_func_names}; add it (with weight 0 to keep it out of the total reward)"
            )
        self._correctness_index = self.reward_func_names.index(objective.correctness_reward)
        if self.use_vllm and self.vllm_mode == "colocate":
            # The colocated engine loaded this very checkpoint (model.name_or_path): at step 0 its weights are the
            # trainer's, and TRL would push them once more before the first rollout. A resumed run starts at a later
            # step and is synced as before.
            self._last_loaded_step = 0
            if vllm_runs_on_cpu():  # TRL's push cannot reach the CPU build's packed layers: trainers/vllm_cpu_sync.py
                self.vllm_generation.sync_weights = functools.partial(sync_weights_by_reload, self.vllm_generation)
        if objective.mode in DECOMPOSED_MODES and self.loss_type not in TOKEN_MEAN_LOSS_TYPES:
            raise ValueError(
                f"--mode {objective.mode} needs a token-mean loss ({' or '.join(TOKEN_MEAN_LOSS_TYPES)}) so that "
                f"dropped samples leave the normaliser; got loss_type {self.loss_type!r}"
            )
        self._rewards_per_func: torch.Tensor | None = None
        self._local_keep: torch.Tensor | None = None
        self._rollouts = 0
        self._window_counts: Counter[str] = Counter()
        self.empty_update_slots = 0
        # The compacted rollout: one entry per micro-step, None where the micro-step does nothing.
        self._active_micro_steps: list[bool] = []
        self._rollout_started_at: int | None = None
        self._idle_update = False  # True from the last micro-step of an empty update slot until the next micro-step
        # Set while TRL scores a compacted rollout and would compute the old log-probabilities of every sample.
        self._defer_old_logps = False
        self._old_logps_deferred = False

    @property
    def compacts_rollouts(self) -> bool:
        """Whether dropped samples leave the rollout (decomposed modes, unless --fixed-updates-per-rollout)."""
        return self.objective.mode in DECOMPOSED_MODES and not self.objective.fixed_updates_per_rollout

    @property
    def update_slots_per_rollout(self) -> int:
        return self.args.steps_per_generation // self.args.gradient_accumulation_steps

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if self.objective.shuffle_rewards and self.model.training:
            rewards_per_func = rewards_per_func[
                shuffled_rows(rewards_per_func.size(0), self.args.seed, self._rollouts)
            ]
        if self.objective.random_rewards and self.model.training:
            rewards_per_func = coin_flip_rewards(rewards_per_func, self.args.seed, self._rollouts)
        self._rollouts += int(self.model.training)
        self._rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        self._rewards_per_func = None
        self._defer_old_logps = self._old_logps_deferred = self.compacts_rollouts and self._trl_needs_old_logps()
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self._defer_old_logps = False
        if self._rewards_per_func is None:
            raise RuntimeError("TRL did not call _calculate_rewards; the pinned TRL version is required")
        return self.apply_objective(output, self._rewards_per_func)

    def _trl_needs_old_logps(self) -> bool:
        """Whether TRL computes the rollout policy's log-probabilities of every sample while scoring (TRL 1.16.0's
        rule: the rollout spans several updates or iterations), for no reason but the geometry: with vLLM's
        importance-sampling correction it needs them for every sample, and they are not deferred."""
        several = self.args.gradient_accumulation_steps % (self.args.steps_per_generation * self.num_iterations) != 0
        return several and self.model.training and not (self.use_vllm and self.vllm_importance_sampling_correction)

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        if self._defer_old_logps:
            # TRL's first call while scoring is the old-log-prob pass (the reference pass comes after it):
            # answer None, which TRL reads as "not computed"; _compact_rollout fills in what the updates need.
            self._defer_old_logps = False
            return None, None, None
        return super()._get_per_token_logps_and_entropies(*args, **kwargs)

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
            self._local_keep = self._replace_advantages(output, advantages, keep)
        else:
            keep = scorable
            advantages = self.accelerator.gather(output["advantages"].float())
        self._record_metrics(mode, correct, scorable, keep, advantages, num_generations)
        log_rollout_sample(self, rewards_per_func, correct, keep, advantages)
        return output

    def _replace_advantages(
        self, output: dict[str, Any], advantages: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """Write the objective's advantages and loss mask into this process's slice; return its keep mask."""
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
        return local_keep

    # -----------------------------------------------------------------------------------------------------------
    # The rollout's update geometry

    def _prepare_inputs(self, generation_batch):
        """One micro-batch of the current rollout; at a rollout's first micro-step, generate, score and arrange it."""
        if not self.model.training:
            return super()._prepare_inputs(generation_batch)
        steps_per_rollout = self.args.steps_per_generation
        starts_rollout = self._step % (steps_per_rollout * self.num_iterations) == 0
        if self._buffered_inputs is None or (starts_rollout and self._rollout_started_at != self._step):
            # training_step asks first, so a rollout whose first micro-step is idle is still generated; the
            # Trainer's own call for the same micro-step must not generate again.
            self._rollout_started_at = self._step
            if self.compacts_rollouts:
                scored = split_pixel_values_by_grid(self._generate_and_score_completions(generation_batch))
                self._buffered_inputs = self._compact_rollout(scored)
            else:
                self._buffered_inputs = None
                super()._prepare_inputs(generation_batch)
                self._active_micro_steps = [True] * steps_per_rollout
                self._record_geometry(self._buffered_inputs)
        return self._buffered_inputs[self._step % steps_per_rollout]

    def _compact_rollout(self, scored: dict[str, Any]) -> list[dict[str, Any] | None]:
        """Kept samples into the first update slots; see trainers/rollout.py for the layout and why."""
        if self._local_keep is None:
            raise RuntimeError("the objective did not record which samples to keep")
        batch_size, accumulation = self.args.per_device_train_batch_size, self.args.gradient_accumulation_steps
        steps_per_rollout = self.args.steps_per_generation
        kept = int(self._local_keep.sum())
        # Every process runs as many micro-batches, of as many rows at each micro-step (ZeRO-3 would hang, and TRL's
        # per-row gathers in the loss fail, otherwise): the kept counts of all processes decide the sizes.
        kept_per_process = self.accelerator.gather(torch.tensor([kept], device=self.accelerator.device)).tolist()
        sizes = micro_batch_sizes(kept_per_process, batch_size)
        active = len(sizes)
        self._active_micro_steps = active_slot_layout(active, steps_per_rollout, accumulation)
        rows = micro_batch_rows(kept_first_order(self._local_keep), kept, batch_size, sizes)
        micro_batches = [unsplit_pixel_values_by_grid(take_rows(scored, batch_rows)) for batch_rows in rows]
        if self._old_logps_deferred and (self.num_iterations > 1 or updates_for(active, accumulation) > 1):
            for batch in micro_batches:
                batch["old_per_token_logps"] = self._rollout_policy_logps(batch)
        self._metrics["train"]["objective/padding_rows"].append(float(sum(sizes) - kept))
        slots = place_in_slots(micro_batches, self._active_micro_steps)
        self._record_geometry(slots)
        return slots

    @torch.no_grad()
    def _rollout_policy_logps(self, batch: dict[str, Any]) -> torch.Tensor:
        """The log-probabilities of a micro-batch's completion tokens under the weights that generated them (no update
        has run yet), read from the same inputs the loss reads."""
        input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        model_inputs = {key: batch.get(key) for key in MODEL_INPUT_KEYS}
        # As TRL's own pass: checkpointing has nothing to save without gradients (and would warn under no_grad).
        with disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            logps, _, _ = super()._get_per_token_logps_and_entropies(
                self.model, input_ids, attention_mask, batch["completion_ids"].size(1), **model_inputs
            )
        return logps

    def _record_geometry(self, micro_batches: list[dict[str, Any] | None]) -> None:
        """Per update slot: the kept tokens of all processes (the token-mean loss's normaliser), updates, empties."""
        accumulation, steps_per_rollout = self.args.gradient_accumulation_steps, self.args.steps_per_generation
        device = self.accelerator.device
        local_tokens = torch.zeros(self.update_slots_per_rollout, device=device)
        for index, batch in enumerate(micro_batches):
            if batch is not None:
                local_tokens[index // accumulation] += loss_tokens(batch).to(device)
        slot_tokens = self.accelerator.reduce(local_tokens, reduction="sum")
        for index, batch in enumerate(micro_batches):
            if batch is not None and self.compacts_rollouts:
                # TRL divides by num_items_in_batch * accumulation / steps_per_generation (and by the processes):
                # this value makes that the kept tokens of this update slot, so each update is a token mean over
                # its own tokens, however the kept samples fall across slots.
                tokens = slot_tokens[index // accumulation] * steps_per_rollout / accumulation
                batch["num_items_in_batch"] = tokens.to(batch["completion_mask"].device)
        slots = self.update_slots_per_rollout
        updates = updates_for(sum(self._active_micro_steps), accumulation) if self.compacts_rollouts else slots
        empty = int((slot_tokens == 0).sum())
        self.empty_update_slots += empty
        self._metrics["train"]["objective/updates"].append(float(updates))
        self._metrics["train"]["objective/empty_batch_frac"].append(empty / slots)
        self._window_counts.update(updates=updates, update_slots=slots)

    def training_step(self, model, inputs, num_items_in_batch):
        """A micro-step; one with no kept sample in a compacted rollout does nothing at all."""
        self._idle_update = False
        if not self.compacts_rollouts:
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()  # as the Trainer's own training_step does first: _prepare_inputs reads the mode
        self._prepare_inputs(inputs)
        position = self._step % self.args.steps_per_generation
        if self._active_micro_steps[position]:
            return super().training_step(model, inputs, num_items_in_batch)
        self._step += 1
        if (position + 1) % self.args.gradient_accumulation_steps == 0:
            # The Trainer steps the optimizer and scheduler after this micro-step; with nothing accumulated in the
            # whole slot, neither may move (AdamW would still move every weight from its running moments).
            self._idle_update = True
            self.accelerator.gradient_state._set_sync_gradients(False)
        return torch.zeros((), device=self.accelerator.device)

    def _clip_grad_norm(self, model):
        if self._idle_update:
            return torch.zeros((), device=self.accelerator.device)
        return super()._clip_grad_norm(model)

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if not isinstance(scheduler, SkipsIdleUpdates):
            self.lr_scheduler = SkipsIdleUpdates(scheduler, lambda: self._idle_update)
        return self.lr_scheduler

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
        if mode == "train":
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
        updates = f"updates {counts['updates']}/{counts['update_slots']} | empty slots {self.empty_update_slots}"
        return f"{name} [step {step}]: {body} | accuracy {accuracy:.2f} | {updates}"

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        is_training_log = self.model.training and "loss" in logs and self._window_counts["samples"] > 0
        if is_training_log and self.accelerator.is_main_process:
            print(self.console_line(self.state.global_step), flush=True)
        if is_training_log:
            self._window_counts.clear()
        super().log(logs, start_time)
