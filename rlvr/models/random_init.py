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
from rlvr.models.tiny import QWEN_CHAT_TEMPLATE, _special_token_ids, build_qwen_tokenizer


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
    ids = _special_token_ids(tokenizer)
    model.generation_config.eos_token_id = [ids["eos_token_id"], ids["bos_token_id"]]
    model.generation_config.pad_token_id = ids["pad_token_id"]
    return model, processor


def _vision_language(size: DecoderSize, text: dict, tokenizer, dtype: torch.dtype, pixels: int):
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    token_id = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision_config(size),
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
        tie_word_embeddings=size.tied_embeddings,
    )
    model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
    budget = {"min_pixels": pixels, "max_pixels": pixels}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**budget),
        video_processor=Qwen2VLVideoProcessor(**budget),
        tokenizer=tokenizer,
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    return model, processor
