"""``tiny-arith``: a randomly initialised ~1M-parameter Qwen2 with a character-level tokenizer for the arithmetic
toy task (rlvr/tasks/arithmetic), small enough to warm up and train with RL on two CPU cores in minutes.

One token per character of ``ALPHABET``, so the model never has to learn how a number was split into pieces. The
chat template is deliberately trivial: it writes each message's text with no role markers and closes an assistant
turn with the end-of-sequence token. Conversational prompts then go through every shared code path unchanged
(TRL's GRPOTrainer and SFTTrainer, rlvr/generation.py's ``apply_chat_template``), the prompt the model sees is the
bare problem ``12+34*5=``, and a supervised completion ends in ``<eos>`` so the model learns to stop.

Built once under ``$RLVR_CACHE/models`` (see rlvr/models/tiny.py); the folder name carries a hash of the recipe.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from rlvr.models.tiny import _build_atomically, cache_root

TINY_ARITH_NAME = "tiny-arith"

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
    "max_position_embeddings": 64,
    "tie_word_embeddings": True,
}


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


def _build_tiny_arith(folder: Path) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = build_char_tokenizer()
    config = Qwen2Config(
        **TINY_ARITH_CONFIG,
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def tiny_arith_model_path() -> Path:
    """Folder of the untrained ``tiny-arith`` model and its tokenizer, built on first use."""
    recipe = json.dumps([ALPHABET, SPECIAL_TOKENS, CHAR_CHAT_TEMPLATE, TINY_ARITH_CONFIG], sort_keys=True)
    name = f"tiny-arith-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    return _build_atomically(cache_root() / "models" / name, _build_tiny_arith)
