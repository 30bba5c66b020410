"""``--log-kl``: the KL of the policy to the start model on the completions it trains on, logged at ``--beta 0``.

At beta 0 (every paper recipe) TRL builds no reference model and logs no ``kl``, so how far a run has moved from
where it started is not seen. This mixin adds one no-gradient forward pass per micro-batch under the start model's
weights, beside the loss's own pass, and logs ``kl``: the mean over the loss mask's tokens (the kept completions:
the decomposed modes drop the others, trainers/decomposed_trainer.py) of TRL's per-token estimator
exp(ref - logp) - (ref - logp) - 1, the one TRL logs as ``kl`` when beta is above 0. The loss is not changed.

The start model: with LoRA, the same model with its adapters disabled (TRL's own way for beta > 0), so no second copy
of the weights; with full fine-tuning, a frozen copy made when training is set up, which costs the model's weights
once more in memory (not its gradients or optimizer state). Under DeepSpeed the weights are sharded and a copy
cannot be taken this way: use LoRA, or --beta above 0 (TRL's own reference model and ``kl``).

TRL's ``entropy`` metric is taken over the same loss mask, so it is the entropy of the kept completions in every
mode already; nothing is added for it.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any

import torch
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.utils import use_adapter

from rlvr.errors import UserError


def per_token_kl(policy_logps: torch.Tensor, reference_logps: torch.Tensor) -> torch.Tensor:
    """TRL's k3 estimator of KL(policy || reference) per sampled token: never negative, 0 where they agree."""
    log_ratio = reference_logps - policy_logps
    return torch.exp(log_ratio) - log_ratio - 1.0


class PolicyKLLogging:
    """Mixin for GRPOTrainer (before it in the bases): ``enable_kl_logging()`` turns the logging on."""

    _log_kl = False
    _kl_wanted = False
    _kl_logps: tuple[torch.Tensor, torch.Tensor] | None = None
    _start_model_copy: torch.nn.Module | None = None

    def enable_kl_logging(self) -> None:
        """Log ``kl`` from the next micro-batch on; a no-op at beta above 0, where TRL logs its own."""
        if self.beta != 0.0:  # type: ignore[attr-defined]
            return
        model = self.accelerator.unwrap_model(self.model)  # type: ignore[attr-defined]
        if not hasattr(model, "peft_config"):
            if self.is_deepspeed_enabled:  # type: ignore[attr-defined]
                raise UserError(
                    "--log-kl with full fine-tuning under DeepSpeed cannot copy the sharded weights; use LoRA (the "
                    "default) or --beta above 0, where TRL keeps its own reference model and logs kl"
                )
            self._start_model_copy = copy.deepcopy(model).requires_grad_(False)
        self._log_kl = True

    def _compute_loss(self, model, inputs):
        self._kl_wanted, self._kl_logps = self._log_kl, None
        try:
            loss = super()._compute_loss(model, inputs)  # type: ignore[misc]
        finally:
            self._kl_wanted = False
        if self._kl_logps is not None:
            self._record_kl(inputs, *self._kl_logps)
            self._kl_logps = None
        return loss

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs):
        result = super()._get_per_token_logps_and_entropies(  # type: ignore[misc]
            model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
        )
        if self._kl_wanted:  # the loss's own pass: the first one inside _compute_loss
            self._kl_wanted = False
            reference_kwargs = {**kwargs, "compute_entropy": False, "compute_aux_loss": False}
            with torch.no_grad(), self._start_model(model) as start_model:
                reference_logps, _, _ = super()._get_per_token_logps_and_entropies(  # type: ignore[misc]
                    start_model, input_ids, attention_mask, logits_to_keep, *args, **reference_kwargs
                )
            self._kl_logps = (result[0].detach(), reference_logps)
        return result

    @contextmanager
    def _start_model(self, model):
        """The model with the start weights, in the same train/eval mode as ``model`` (dropout alike)."""
        with disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):  # type: ignore[attr-defined]
            if self._start_model_copy is not None:
                self._start_model_copy.train(model.training)
                yield self._start_model_copy
                return
            unwrapped = self.accelerator.unwrap_model(self.model)  # type: ignore[attr-defined]
            with use_adapter(unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None):
                yield model

    def _record_kl(self, inputs: dict[str, Any], policy_logps: torch.Tensor, reference_logps: torch.Tensor) -> None:
        mask = inputs["completion_mask"]
        if inputs.get("tool_mask") is not None:
            mask = mask * inputs["tool_mask"]
        mask = mask.to(policy_logps.dtype)
        local = torch.stack([(per_token_kl(policy_logps, reference_logps) * mask).sum(), mask.sum()])
        total = self.accelerator.reduce(local, reduction="sum")  # type: ignore[attr-defined]
        mode = "train" if self.model.training else "eval"  # type: ignore[attr-defined]
        self._metrics[mode]["kl"].append((total[0] / total[1].clamp(min=1.0)).item())  # type: ignore[attr-defined]
