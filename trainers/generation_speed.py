"""Faster transformers generation during training: a static KV cache, and torch.compile of the decode step.

vLLM stays the first choice where it is installed (``--use-vllm``). Without it TRL calls ``model.generate`` with
its own GenerationConfig, which turns compilation off (``disable_compile=True``) and grows a dynamic cache.
``--static-cache`` preallocates the cache (``cache_implementation="static"``), so a decode step allocates nothing;
``--compile-generation`` also lets transformers compile the decode step, which it does for static caches only.

A compiled step is specialised to the cache's shape. transformers sizes a static cache for the call at hand
(prompt + completion) and keeps the largest size seen, so every rollout with a longer prompt than before would
reallocate the cache and recompile the step. The cache is therefore sized once, for ``--static-cache-tokens`` tokens
per sequence (``max_cache_len``), which every rollout reuses; prompts are padded to a multiple of
``COMPILED_PROMPT_MULTIPLE`` tokens so that the prompt forward, which runs uncompiled, sees few shapes as well.
"""

from __future__ import annotations

import torch

from trainers.config import RunConfig

COMPILED_PROMPT_MULTIPLE = 64
# Room for the prompt in the default static cache: a chart prompt of Qwen2.5-VL (text and image tokens) or a
# MATH/Countdown prompt fits it; a longer one grows the cache once, with one recompilation.
STATIC_CACHE_PROMPT_TOKENS = 1024


def uses_static_cache(config: RunConfig) -> bool:
    return config.static_cache or config.compile_generation


def static_cache_tokens(config: RunConfig) -> int:
    """Tokens per sequence of the static KV cache: prompt + completion, the same in every rollout."""
    if config.static_cache_tokens is not None:
        return config.static_cache_tokens
    return config.max_completion_length + STATIC_CACHE_PROMPT_TOKENS


def grpo_generation_fields(config: RunConfig) -> dict:
    """GRPOConfig fields for the generation cache; none under vLLM, which keeps its own cache (and would take
    ``generation_kwargs`` as sampling parameters)."""
    if config.use_vllm or not uses_static_cache(config):
        return {}
    fields: dict = {
        "cache_implementation": "static",
        "generation_kwargs": {"max_cache_len": static_cache_tokens(config)},
    }
    if config.compile_generation:
        fields["pad_to_multiple_of"] = COMPILED_PROMPT_MULTIPLE
    return fields


def with_user_generation_kwargs(fields: dict, trl_args: dict) -> dict:
    """The user's TRL fields over ours, except ``generation_kwargs``, whose keys are merged (the user's win), so a
    user's sampling option does not silently drop the static cache's size."""
    merged = {**fields, **trl_args}
    ours, theirs = fields.get("generation_kwargs"), trl_args.get("generation_kwargs")
    if isinstance(ours, dict) and isinstance(theirs, dict):
        merged["generation_kwargs"] = {**ours, **theirs}
    return merged


def enable_compiled_generation(trainer) -> None:
    """Undo TRL's ``disable_compile`` on the trainer's generation config (transformers then compiles the decode
    step of static-cache generation; on a CPU only when told to compile on every device)."""
    from transformers import CompileConfig

    compile_config = CompileConfig()
    if not torch.cuda.is_available():
        compile_config._compile_all_devices = True
    trainer.generation_config.disable_compile = False
    trainer.generation_config.compile_config = compile_config
