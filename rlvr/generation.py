"""Encoding prompts and decoding completions, shared by --mode eval and generate_samples.py."""

from __future__ import annotations

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
) -> list[str]:
    """Completions for an encoded batch, decoding only the generated tokens (never the prompt).

    Returns ``batch_size * num_return_sequences`` strings, the samples of each prompt next to each other.
    """
    tokenizer = tokenizer_of(processor)
    # top_k=0 turns off the model's default top-k, so top_p alone truncates the distribution.
    sampling = {"temperature": temperature, "top_p": top_p, "top_k": 0} if do_sample else {}
    output = model.generate(
        **encoded,
        max_new_tokens=max_new_tokens,
        num_return_sequences=num_return_sequences,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=do_sample,
        **sampling,
    )
    prompt_length = encoded["input_ids"].shape[1]
    return tokenizer.batch_decode(output[:, prompt_length:], skip_special_tokens=True)
