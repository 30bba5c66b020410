"""Randomly initialised models of the real architectures (rlvr/models/real_sizes.py), built in memory, no hub.

The project's offline tokenizer drives them (its ids are the first thousand of the real vocabulary); the weights
are random, so every completion runs to its length cap, which is what a throughput measurement wants. A
vision-language model gets the stock Qwen2.5-VL processor at ``pixels`` per image (the real runs' 320 merged
patches by default).
"""

from __future__ import annotations

import torch

from rlvr.models.real_sizes import DecoderSize, decoder_config, vision_config
from rlvr.models.registry import REAL_MODEL_PIXELS
from rlvr.models.tiny import (
    _special_token_ids,
    build_qwen_tokenizer,
    qwen_vl_processor,
    set_generation_stops,
    vision_token_ids,
)


def build_random_model(size: DecoderSize, dtype: torch.dtype, device: torch.device, pixels: int = REAL_MODEL_PIXELS):
    """(model, processor) of ``size``: Qwen2.5-VL when it has a vision tower, else a Qwen2 causal LM."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = build_qwen_tokenizer()
    text = {**decoder_config(size), **_special_token_ids(tokenizer)}
    with torch.device(device):
        if size.vision_depth:
            model, processor = _vision_language(size, text, tokenizer, dtype, pixels)
        else:
            model, processor = Qwen2ForCausalLM._from_config(Qwen2Config(**text), dtype=dtype), tokenizer
    set_generation_stops(model, tokenizer)
    return model, processor


def _vision_language(size: DecoderSize, text: dict, tokenizer, dtype: torch.dtype, pixels: int):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision_config(size),
        tie_word_embeddings=size.tied_embeddings,
        **vision_token_ids(tokenizer),
    )
    model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
    return model, qwen_vl_processor(tokenizer, pixels, pixels)
