"""Resolving a model name to a loadable source, and loading a model with its processor.

``--vlm-name`` / ``--model`` accept a short name from ``MODEL_ALIASES`` (rlvr/models/names.py, which checks names
without torch), ``tiny`` (vision-language) or ``tiny-text`` (causal LM), their vLLM-shaped twins ``tiny-vllm`` and
``tiny-text-vllm``, a local folder, or any hub id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rlvr.errors import UserError
from rlvr.models.model_files import check_model_folder
from rlvr.models.names import (
    MODEL_ALIASES,
    TINY_ARITH_NAME,
    TINY_CARRY_NAME,
    TINY_TEXT_NAME,
    TINY_VL_NAME,
    TINY_VLLM_TEXT_NAME,
    TINY_VLLM_VL_NAME,
    VISION_LANGUAGE_MODEL_TYPES,
    folder_reads_images,
    is_hub_id,
    unknown_model,
)

if TYPE_CHECKING:
    import torch

# Pixel budget of the original script for real models: min = max = 320 * 28 * 28.
REAL_MODEL_PIXELS = 320 * 28 * 28


@dataclass(frozen=True)
class ResolvedModel:
    """What a model name stands for: where to load it from, and whether it reads images."""

    name: str
    source: str
    is_vision_language: bool
    is_tiny: bool


def resolve_model(name: str) -> ResolvedModel:
    """Map a user-given model name to a loadable source. Builds the tiny models on first use."""
    from rlvr.models.tiny import (
        tiny_arith_model_path,
        tiny_text_model_path,
        tiny_vl_model_path,
        tiny_vllm_text_model_path,
        tiny_vllm_vl_model_path,
    )

    if name == TINY_VL_NAME:
        return ResolvedModel(name, str(tiny_vl_model_path()), True, True)
    if name == TINY_TEXT_NAME:
        return ResolvedModel(name, str(tiny_text_model_path()), False, True)
    if name in (TINY_ARITH_NAME, TINY_CARRY_NAME):
        return ResolvedModel(name, str(tiny_arith_model_path(name)), False, True)
    if name == TINY_VLLM_VL_NAME:
        return ResolvedModel(name, str(tiny_vllm_vl_model_path()), True, True)
    if name == TINY_VLLM_TEXT_NAME:
        return ResolvedModel(name, str(tiny_vllm_text_model_path()), False, True)
    source = MODEL_ALIASES.get(name, name)
    local = Path(source)
    if local.is_dir():
        check_model_folder(local)
        return ResolvedModel(name, str(local), folder_reads_images(local) is True, saved_from_tiny(local))
    if not is_hub_id(source):
        raise unknown_model(name)
    return ResolvedModel(name, source, _hub_model_is_vision_language(source), False)


def saved_from_tiny(folder: Path) -> bool:
    """Whether a model folder's processor records the tiny model's pixel budget: a checkpoint of ``tiny``, which must
    see images as it was trained on them (a few dozen image tokens), not at the real models' budget."""
    from rlvr.models.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS

    for name in ("processor_config.json", "preprocessor_config.json"):
        try:
            saved = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        size = (saved.get("image_processor", saved) if isinstance(saved, dict) else {}).get("size")
        return size == {"longest_edge": TINY_MAX_PIXELS, "shortest_edge": TINY_MIN_PIXELS}
    return False


def _hub_model_is_vision_language(hub_id: str) -> bool:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(hub_id)
    except OSError as error:
        raise UserError(f"cannot load model {hub_id!r} from the hub or the local cache: {error}") from error
    return config.model_type in VISION_LANGUAGE_MODEL_TYPES


def training_dtype() -> torch.dtype:
    """bf16 where the GPU has it, fp16 where it does not (T4), fp32 on CPU."""
    import torch

    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_processor(model: ResolvedModel):
    """The processor (vision-language) or tokenizer (text), padding on the left for generation."""
    from transformers import AutoProcessor, AutoTokenizer

    if model.is_vision_language:
        # As a size, not min_pixels/max_pixels: those are kept as call arguments and warn on every rollout.
        budget = {"shortest_edge": REAL_MODEL_PIXELS, "longest_edge": REAL_MODEL_PIXELS}
        pixels = {} if model.is_tiny else {"size": budget}
        processor = AutoProcessor.from_pretrained(model.source, padding_side="left", **pixels)
        processor.tokenizer.padding_side = "left"
        return processor
    tokenizer = AutoTokenizer.from_pretrained(model.source, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: ResolvedModel, dtype: torch.dtype | str | None = None, attn_implementation: str | None = None):
    """The model, without device_map so that DeepSpeed ZeRO-3 can shard it. ``dtype`` may be a torch dtype's name
    or "auto" (the checkpoint's own); ``training_dtype()`` when None."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    if isinstance(dtype, str) and dtype != "auto":
        dtype = getattr(torch, dtype)
    model_class = AutoModelForImageTextToText if model.is_vision_language else AutoModelForCausalLM
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    return model_class.from_pretrained(model.source, dtype=dtype or training_dtype(), **extra)
