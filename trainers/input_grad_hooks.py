"""One input-gradient hook per embedding, however often checkpointing is switched off and on.

With gradient checkpointing (or a PEFT adapter), transformers registers a forward hook on the input embeddings
(``enable_input_require_grads``: ``make_inputs_require_grads``) so that gradients reach the checkpointed layers.
TRL switches checkpointing off around every generate call and for its no-gradient log-probability passes, and on
again afterwards (``unwrap_model_for_generation``, ``disable_gradient_checkpointing``). In transformers 5.23 each
``activation_checkpointing_enable`` registers a new hook, while ``activation_checkpointing_disable`` removes them only
for a model with an adapter loaded through transformers' own PEFT integration (``_hf_peft_config_loaded``), not for a
``PeftModel`` or a fully fine-tuned model; and ``enable_input_require_grads`` overwrites its record of the hooks it
registered, so the earlier ones can never be removed. The hooks pile up, two per rollout: every forward of every
decode step calls all of them, and a compiled decode step, which guards on the hooks, recompiles every rollout.

The fix, here and upstream: ``enable_input_require_grads`` removes the hooks it registered before registering new
ones. The hooks all do the same thing (mark the embeddings' output as requiring gradients), so one per embedding is
what the model needs.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel


def register_input_grad_hooks_once(model: torch.nn.Module) -> None:
    """Make every ``enable_input_require_grads`` of ``model``'s transformers models replace its earlier hooks."""
    for module in model.modules():
        if isinstance(module, PreTrainedModel) and not getattr(module, "_input_grad_hooks_once", False):
            module.enable_input_require_grads = _replacing_earlier_hooks(module)
            module._input_grad_hooks_once = True


def _replacing_earlier_hooks(module: PreTrainedModel):
    register = module.enable_input_require_grads

    def enable_input_require_grads() -> None:
        module.disable_input_require_grads()
        register()

    return enable_input_require_grads


def input_grad_hook_count(model: torch.nn.Module) -> int:
    """Forward hooks on ``model``'s input embeddings (a ``PeftModel`` or a transformers model)."""
    return len(model.get_input_embeddings()._forward_hooks)
