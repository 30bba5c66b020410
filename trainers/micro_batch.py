"""The per-device micro-batch of an RL update when ``--batch-size`` is omitted: from the GPU's memory.

The micro-batch is a memory choice only: the rollout (sequences per ``generate`` call, what sets the speed) and the
optimizer update are fixed by ``--rollout-prompts``, ``--update-prompts`` and ``--num-generations``; the micro-batch
only says how many of an update's completions go through one forward and backward. So when those two flags are
given on a GPU, it is the largest divisor of the completions each process takes per update that fits the memory
left after the model, its gradients and optimizer state, by an estimate of one sequence's activations and logits.
Anywhere else (CPU, or TRL's own knobs, where the micro-batch also sets the rollout) it is ``CPU_MICRO_BATCH``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from trainers.config import RunConfig

CPU_MICRO_BATCH = 2
MAX_MICRO_BATCH = 64
# Share of the GPU the update may plan for; the rest absorbs allocator fragmentation and what the estimate misses.
USABLE_MEMORY_SHARE = 0.8
# Prompt tokens assumed per sequence: a chart at the real pixel budget is 320 image tokens plus the question.
PROMPT_TOKENS_MULTIMODAL, PROMPT_TOKENS_TEXT = 512, 256


@dataclass(frozen=True)
class ModelDims:
    hidden: int
    intermediate: int
    layers: int
    vocab: int
    tied_embeddings: bool

    @property
    def parameters(self) -> int:
        """Decoder parameters (the vision tower, about a fifth of a 3B VL model, is in the margin)."""
        per_layer = 4 * self.hidden * self.hidden + 3 * self.hidden * self.intermediate
        embeddings = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return self.layers * per_layer + embeddings


def model_dims(config) -> ModelDims:
    """The decoder's sizes from a transformers config (a vision-language config's ``text_config``)."""
    text = getattr(config, "text_config", None) or config
    return ModelDims(
        hidden=text.hidden_size,
        intermediate=text.intermediate_size,
        layers=text.num_hidden_layers,
        vocab=text.vocab_size,
        tied_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
    )


def update_bytes_per_sequence(dims: ModelDims, tokens: int, checkpointing: bool) -> int:
    """Activation and logit bytes one sequence of ``tokens`` needs in a bf16 forward and backward.

    Logits dominate at Qwen's vocabulary: bf16 logits, their fp32 log-softmax and its gradient (12 bytes a row
    entry). With checkpointing every layer keeps its input and one layer at a time is recomputed; without, every
    layer keeps its attention and MLP activations.
    """
    logits = tokens * dims.vocab * 12
    layer_activations = tokens * (8 * dims.hidden + 4 * dims.intermediate) * 2
    if checkpointing:
        return logits + dims.layers * tokens * dims.hidden * 2 + 2 * layer_activations
    return logits + dims.layers * layer_activations


def model_state_bytes(dims: ModelDims, lora: bool) -> int:
    """bf16 weights, plus bf16 gradients and AdamW's two moments for a full fine-tune (LoRA's are negligible)."""
    return dims.parameters * (2 if lora else 8)


def micro_batch_for_memory(total_bytes: int, state_bytes: int, per_sequence: int, completions: int) -> int:
    """The largest divisor of ``completions`` (per process and update) whose activations fit; 1 at least."""
    fits = max(1, (int(total_bytes * USABLE_MEMORY_SHARE) - state_bytes) // max(1, per_sequence))
    limit = min(fits, MAX_MICRO_BATCH, completions)
    return max(size for size in range(1, limit + 1) if completions % size == 0)


def completions_per_process_and_update(config: RunConfig, processes: int) -> int | None:
    if config.update_prompts is None:
        return None
    return config.update_prompts * config.num_generations // processes


def with_micro_batch(config: RunConfig, processes: int, is_multimodal: bool) -> RunConfig:
    """``config`` with ``batch_size`` filled in when it was omitted (see the module docstring)."""
    if config.batch_size is not None:
        return config
    completions = completions_per_process_and_update(config, processes)
    if not (config.is_rl and completions):
        return dataclasses.replace(config, batch_size=CPU_MICRO_BATCH)
    # Imported here, not above: main.py checks a geometry with --batch-size given, or without --update-prompts,
    # before torch is imported (a bad option is refused in seconds); only a GPU choice needs torch.
    import torch

    if not torch.cuda.is_available():
        return dataclasses.replace(config, batch_size=CPU_MICRO_BATCH)
    from transformers import AutoConfig

    from rlvr.models.registry import resolve_model

    dims = model_dims(AutoConfig.from_pretrained(resolve_model(config.model).source))
    prompt = PROMPT_TOKENS_MULTIMODAL if is_multimodal else PROMPT_TOKENS_TEXT
    per_sequence = update_bytes_per_sequence(
        dims, prompt + config.max_completion_length, not config.disable_gradient_checkpointing
    )
    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    size = micro_batch_for_memory(total, model_state_bytes(dims, config.lora), per_sequence, completions)
    return dataclasses.replace(config, batch_size=size)
