"""A model's context (``max_position_embeddings``) read without torch, and the token options checked against it.

A prompt and its completion share the context: a completion budget of the whole context or more leaves no room for
the prompt, so generation would run past the positions the model has (or stop with a shape error after the weights
have loaded). The context is read from the model's config.json: a tiny model's is known by name, a folder's (or a
LoRA adapter's base's) is on disk, a hub model's is in the local hub cache once it was downloaded. A hub model not
downloaded yet is not checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.files import read_json
from rlvr.models.names import MODEL_ALIASES, TINY_CONTEXT_TOKENS, adapter_base_name, is_hub_id


def context_tokens(name: str) -> int | None:
    """The context of the model ``name`` stands for, in tokens; None where its config is not at hand."""
    if name in TINY_CONTEXT_TOKENS:
        return TINY_CONTEXT_TOKENS[name]
    config = _config_of(MODEL_ALIASES.get(name, name), ())
    if config is None:
        return None
    text_config = config.get("text_config")
    for holder in (config, text_config if isinstance(text_config, dict) else {}):
        tokens = holder.get("max_position_embeddings")
        if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
            return tokens
    return None


def check_tokens_fit(name: str, tokens: int | None, flag: str) -> None:
    """Refuse ``flag`` ``tokens`` (a completion budget) that leaves no room for a prompt in the model's context."""
    context = context_tokens(name)
    if tokens is None or context is None or tokens < context:
        return
    raise UserError(
        f"{flag} {tokens} does not fit the context of {name} ({context} tokens, max_position_embeddings in its "
        f"config), which must also hold the prompt; use at most {context - 1}"
    )


def _config_of(source: str, seen: tuple[Path, ...]) -> dict[str, Any] | None:
    folder = Path(source)
    if folder.is_dir():
        if folder.resolve() in seen:
            return None  # an adapter whose base leads back to itself: rlvr/models/names.py refuses it
        if (folder / "config.json").is_file():
            config = read_json(folder / "config.json", "model config")
            return config if isinstance(config, dict) else None
        if (folder / "adapter_config.json").is_file():
            base = adapter_base_name(folder / "adapter_config.json")
            if base in TINY_CONTEXT_TOKENS:
                return {"max_position_embeddings": TINY_CONTEXT_TOKENS[base]}
            return _config_of(MODEL_ALIASES.get(base, base), (*seen, folder.resolve()))
        return None
    if is_hub_id(source):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "config.json")
        if isinstance(cached, str):
            config = read_json(Path(cached), "model config")
            return config if isinstance(config, dict) else None
    return None
