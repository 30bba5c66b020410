"""Encoding prompts and decoding completions, shared by --mode eval and generate_samples.py."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from rlvr.tasks.base import Task


def encode_prompts(processor, task: Task, rows: Sequence[dict], style: str, device: torch.device) -> dict:
    """Tokenise a batch of rows' prompts (left padded), with their images for a multimodal task."""
    messages = [task.build_prompt(row, style) for row in rows]
    if task.is_multimodal:
        texts = [processor.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in messages]
        encoded = processor(text=texts, images=[row["image"] for row in rows], padding=True, return_tensors="pt")
    else:
        encoded = processor.apply_chat_template(
            messages, add_generation_prompt=True, padding=True, return_dict=True, return_tensors="pt"
        )
    return {key: value.to(device) if hasattr(value, "to") else value for key, value in encoded.items()}


# Inputs with one entry per prompt token: the prefill reads all but the last token of each.
_PER_TOKEN_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")
# Image inputs, read once by the prefill; afterwards their features live in the cache.
_PIXEL_KEYS = ("pixel_values", "pixel_values_videos")


@torch.no_grad()
def prefill_prompts(model, encoded: dict):
    """The KV cache of every prompt but its last token, computed once for all the samples drawn from it.

    generate() with ``num_return_sequences = m`` copies each prompt m times and reads every copy in full; for a long
    prompt (an image is hundreds of tokens) and short answers that is most of the work. With this cache, copied m
    times, generate reads only the last prompt token. None when the model cannot give a cache that can be copied
    (a stand-in without forward(), an old tuple cache) or when the prompts are padded to a common length: the caller
    then samples without it.
    """
    if not isinstance(model, torch.nn.Module):
        return None
    mask = encoded.get("attention_mask")
    if mask is not None and not bool(mask.all()):
        # Prompts of different lengths are left-padded. generate() derives positions from the mask, but a plain
        # forward numbers the padding too, so a cache built here would put every shorter prompt at the wrong
        # positions (measured: 40.5% instead of 45.9% correct on tiny-arith). Without a cache generate() is right.
        return None
    prefix = {key: value[:, :-1] if key in _PER_TOKEN_KEYS else value for key, value in encoded.items()}
    cache = model(**prefix, use_cache=True).past_key_values
    return cache if hasattr(cache, "batch_repeat_interleave") else None


def tokenizer_of(processor):
    return getattr(processor, "tokenizer", processor)


@torch.inference_mode()
def generate_completions(
    model,
    processor,
    encoded: dict,
    num_return_sequences: int = 1,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 768,
    prompt_cache=None,
) -> list[str]:
    """Completions for an encoded batch, decoding only the generated tokens (never the prompt).

    Returns ``batch_size * num_return_sequences`` strings, the samples of each prompt next to each other.
    ``prompt_cache`` (from prefill_prompts on the same ``encoded``) spares reading the prompts again; the samples
    are the same as without it (tests/test_sampling_batching.py checks it on both tiny models).
    """
    tokenizer = tokenizer_of(processor)
    # top_k=0 turns off the model's default top-k, so top_p alone truncates the distribution.
    sampling = {"temperature": temperature, "top_p": top_p, "top_k": 0} if do_sample else {}
    cached = {}
    if prompt_cache is not None:
        cache = copy.deepcopy(prompt_cache)  # generate() appends to the cache it is given; the original is reused
        cache.batch_repeat_interleave(num_return_sequences)
        encoded = {key: value for key, value in encoded.items() if key not in _PIXEL_KEYS}
        cached = {"past_key_values": cache}
    output = model.generate(
        **encoded,
        **cached,
        max_new_tokens=max_new_tokens,
        num_return_sequences=num_return_sequences,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=do_sample,
        **sampling,
    )
    prompt_length = encoded["input_ids"].shape[1]
    return tokenizer.batch_decode(output[:, prompt_length:], skip_special_tokens=True)
