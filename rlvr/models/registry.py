"""Model names users type, and loading a model with its processor.

``--vlm-name`` / ``--model`` accept a short name from ``MODEL_ALIASES``, ``tiny`` (vision-language) or
``tiny-text`` (causal LM), their vLLM-shaped twins ``tiny-vllm`` and ``tiny-text-vllm`` (rlvr/models/tiny.py), a
local folder, or any hub id (owner/name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from rlvr.errors import UserError
from rlvr.models.tiny import (
    TINY_ARITH_NAME,
    TINY_TEXT_NAME,
    TINY_VL_NAME,
    TINY_VLLM_TEXT_NAME,
    TINY_VLLM_VL_NAME,
    tiny_arith_model_path,
    tiny_text_model_path,
    tiny_vl_model_path,
    tiny_vllm_text_model_path,
    tiny_vllm_vl_model_path,
)

MODEL_ALIASES = {
    # The original chart script's names.
    "qwen2-5-3b": "Qwen/Qwen2.5-VL-3B-Instruct",
    "qwen2-5-7b": "Qwen/Qwen2.5-VL-7B-Instruct",
    "qwen-2b": "Qwen/Qwen2-VL-2B-Instruct",
    "qwen-7b": "Qwen/Qwen2-VL-7B-Instruct",
    "qwen2-2b-base": "Qwen/Qwen2-VL-2B",
    # The paper's text models.
    "qwen2.5-math-7b": "Qwen/Qwen2.5-Math-7B",
    "qwen3-4b": "Qwen/Qwen3-4B",
}

# Pixel budget of the original script for real models: min = max = 320 * 28 * 28.
REAL_MODEL_PIXELS = 320 * 28 * 28

VISION_LANGUAGE_MODEL_TYPES = ("qwen2_5_vl", "qwen2_vl", "qwen3_vl")


@dataclass(frozen=True)
class ResolvedModel:
    """What a model name stands for: where to load it from, and whether it reads images."""

    name: str
    source: str
    is_vision_language: bool
    is_tiny: bool


def resolve_model(name: str) -> ResolvedModel:
    """Map a user-given model name to a loadable source. Builds the tiny models on first use."""
    if name == TINY_VL_NAME:
        return ResolvedModel(name, str(tiny_vl_model_path()), True, True)
    if name == TINY_TEXT_NAME:
        return ResolvedModel(name, str(tiny_text_model_path()), False, True)
    if name == TINY_ARITH_NAME:
        return ResolvedModel(name, str(tiny_arith_model_path()), False, True)
    if name == TINY_VLLM_VL_NAME:
        return ResolvedModel(name, str(tiny_vllm_vl_model_path()), True, True)
    if name == TINY_VLLM_TEXT_NAME:
        return ResolvedModel(name, str(tiny_vllm_text_model_path()), False, True)
    source = MODEL_ALIASES.get(name, name)
    local = Path(source)
    if local.is_dir():
        return ResolvedModel(name, str(local), _folder_is_vision_language(local), False)
    if local.exists() or source.startswith((".", "/")) or source.count("/") != 1:
        raise UserError(
            f"model {name!r} is neither a short name ({', '.join([TINY_VL_NAME, TINY_TEXT_NAME, *MODEL_ALIASES])}), "
            "a model folder, nor a hub id of the form owner/name"
        )
    return ResolvedModel(name, source, _hub_model_is_vision_language(source), False)


def _folder_is_vision_language(folder: Path) -> bool:
    config_path = folder / "config.json"
    if not config_path.exists():
        adapter_config = folder / "adapter_config.json"
        if adapter_config.exists():
            base = json.loads(adapter_config.read_text()).get("base_model_name_or_path", "")
            return resolve_model(base).is_vision_language
        raise UserError(f"model folder {folder} has no config.json")
    config = json.loads(config_path.read_text())
    return config.get("model_type") in VISION_LANGUAGE_MODEL_TYPES


def _hub_model_is_vision_language(hub_id: str) -> bool:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(hub_id)
    except OSError as error:
        raise UserError(f"cannot load model {hub_id!r} from the hub or the local cache: {error}") from error
    return config.model_type in VISION_LANGUAGE_MODEL_TYPES


def training_dtype() -> torch.dtype:
    """bf16 where the GPU has it, fp16 where it does not (T4), fp32 on CPU."""
    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_processor(model: ResolvedModel):
    """The processor (vision-language) or tokenizer (text), padding on the left for generation."""
    from transformers import AutoProcessor, AutoTokenizer

    if model.is_vision_language:
        pixels = {} if model.is_tiny else {"min_pixels": REAL_MODEL_PIXELS, "max_pixels": REAL_MODEL_PIXELS}
        processor = AutoProcessor.from_pretrained(model.source, padding_side="left", **pixels)
        processor.tokenizer.padding_side = "left"
        return processor
    tokenizer = AutoTokenizer.from_pretrained(model.source, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: ResolvedModel, dtype: torch.dtype | None = None):
    """The model, without device_map so that DeepSpeed ZeRO-3 can shard it."""
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    model_class = AutoModelForImageTextToText if model.is_vision_language else AutoModelForCausalLM
    return model_class.from_pretrained(model.source, dtype=dtype or training_dtype())
