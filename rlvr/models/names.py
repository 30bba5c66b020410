"""Model names users type, and what can be known about them without torch: whether the name stands for a model at
all, and whether that model reads images. The commands check this first, so a typo or a text-only model on the
chart task is refused in a second instead of after the minute torch and transformers take to import.
"""

from __future__ import annotations

from pathlib import Path

from rlvr.errors import UserError
from rlvr.files import read_json
from rlvr.models.model_files import check_model_folder

TINY_VL_NAME = "tiny"
TINY_TEXT_NAME = "tiny-text"
TINY_ARITH_NAME = "tiny-arith"
TINY_CARRY_NAME = "tiny-carry"
# Twins of tiny and tiny-text with heads vLLM's CPU attention accepts (tests_vllm/).
TINY_VLLM_VL_NAME = "tiny-vllm"
TINY_VLLM_TEXT_NAME = "tiny-text-vllm"
TINY_READS_IMAGES = {
    TINY_VL_NAME: True,
    TINY_TEXT_NAME: False,
    TINY_ARITH_NAME: False,
    TINY_CARRY_NAME: False,
    TINY_VLLM_VL_NAME: True,
    TINY_VLLM_TEXT_NAME: False,
}

# The context (max_position_embeddings) of each tiny model, known without building it (rlvr/models/tiny.py builds
# them with these).
TINY_CONTEXT_TOKENS = {
    TINY_VL_NAME: 4096,
    TINY_TEXT_NAME: 4096,
    TINY_ARITH_NAME: 64,
    TINY_CARRY_NAME: 32,
    TINY_VLLM_VL_NAME: 4096,
    TINY_VLLM_TEXT_NAME: 4096,
}

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
TEXT_ONLY_ALIASES = ("qwen2.5-math-7b", "qwen3-4b")

VISION_LANGUAGE_MODEL_TYPES = ("qwen2_5_vl", "qwen2_vl", "qwen3_vl")


def is_hub_id(source: str) -> bool:
    """owner/name, and nothing on disk by that name."""
    return not Path(source).exists() and not source.startswith((".", "/")) and source.count("/") == 1


def unknown_model(name: str) -> UserError:
    short_names = ", ".join([*TINY_READS_IMAGES, *MODEL_ALIASES])
    return UserError(
        f"model {name!r} is neither a short name ({short_names}), a model folder, nor a hub id of the form owner/name"
    )


def reads_images(name: str) -> bool | None:
    """Whether the model ``name`` stands for reads images; None for a hub id, whose config is fetched later.

    Raises UserError for a name that stands for no model, and for a model folder whose config cannot be read
    (config.json or adapter_config.json that is no JSON object, an adapter whose base leads back to itself).
    """
    if name in TINY_READS_IMAGES:
        return TINY_READS_IMAGES[name]
    if name in MODEL_ALIASES:
        return name not in TEXT_ONLY_ALIASES
    if Path(name).is_dir():
        return folder_reads_images(Path(name))
    if not is_hub_id(name):
        raise unknown_model(name)
    return None


def folder_reads_images(folder: Path, seen: tuple[Path, ...] = ()) -> bool | None:
    """A model folder's config.json model_type, or for a LoRA adapter folder that of its base model."""
    if folder.resolve() in seen:
        raise UserError(f"{seen[0]}/adapter_config.json: its base model leads back to {folder}, not to a model")
    config_path = folder / "config.json"
    if config_path.exists():
        config = read_json(config_path, "model config")
        if not isinstance(config, dict):
            raise UserError(f"{config_path}: not a model config (expected a JSON object)")
        return config.get("model_type") in VISION_LANGUAGE_MODEL_TYPES
    adapter_path = folder / "adapter_config.json"
    if not adapter_path.exists():
        raise UserError(f"model folder {folder} has no config.json")
    base = adapter_base_name(adapter_path)
    if base in TINY_READS_IMAGES or base in MODEL_ALIASES or not Path(base).is_dir():
        return reads_images(base)
    return folder_reads_images(Path(base), (*seen, folder.resolve()))


def adapter_base_name(adapter_path: Path) -> str:
    """The base model a LoRA adapter_config.json names."""
    config = read_json(adapter_path, "adapter config")
    base = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    if not isinstance(base, str) or not base:
        raise UserError(f"{adapter_path}: no base_model_name_or_path, so the adapter's base model is unknown")
    return base


def check_model_for_task(name: str, task_name: str, task_reads_images: bool, flag: str) -> None:
    """Refuse, without torch, a name that is no model, a local model folder whose files are damaged or missing (and
    an adapter's local base folder), and a text-only model on a task whose prompts hold images."""
    model_reads_images = reads_images(name)  # a config that is no JSON is named before files that are missing
    check_local_model_files(name)
    if task_reads_images and model_reads_images is False:
        raise UserError(
            f"{flag} {name} is a text-only model, but the {task_name} task shows images; use a vision-language "
            f"model ({TINY_VL_NAME}, qwen2-5-3b, ...)"
        )


def check_local_model_files(name: str) -> None:
    """``name``'s folder, if it is one, checked by ``check_model_folder``; for a LoRA adapter, its base folder too."""
    folder, seen = Path(name), set()
    while folder.is_dir() and folder.resolve() not in seen:
        seen.add(folder.resolve())
        check_model_folder(folder)
        adapter_path = folder / "adapter_config.json"
        if (folder / "config.json").is_file() or not adapter_path.is_file():
            return
        folder = Path(adapter_base_name(adapter_path))
