"""Loading a trained checkpoint for generation: a full model (folder, hub id, short name) or a LoRA adapter folder
merged into its base model, with the right processor; and the same merge written out as a full model folder for an
engine that loads weights from files (vLLM)."""

from __future__ import annotations

import gc
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr.errors import UserError
from rlvr.models.names import adapter_base_name
from rlvr.models.registry import ResolvedModel, load_model, load_processor, resolve_model

MISSING_ADAPTER_KEYS = "Found missing adapter keys"  # the start of PEFT's warning


@dataclass(frozen=True)
class LoadedCheckpoint:
    model: Any
    processor: Any
    adapter_base: str | None  # the base model named by a LoRA adapter, None for a full model


def load_checkpoint(checkpoint: str, device: torch.device) -> LoadedCheckpoint:
    """A full model (folder, hub id, short name) or a LoRA adapter folder merged into its base, in eval mode."""
    resolved = resolve_model(checkpoint)
    adapter_config = Path(resolved.source) / "adapter_config.json"
    if adapter_config.is_file():
        base = resolve_model(adapter_base_name(adapter_config))
        # A folder written by main.py also holds the processor; an adapter saved alone uses its base's.
        has_processor = (adapter_config.parent / "tokenizer_config.json").is_file()
        processor_source = resolved if has_processor else base
        processor = _load_or_explain(load_processor, _like(processor_source, base), "processor")
        model = _merge_adapter(_load_or_explain(load_model, base, "base model"), adapter_config.parent, base.name)
        adapter_base = base.name
    else:
        processor = _load_or_explain(load_processor, resolved, "processor")
        model = _load_or_explain(load_model, resolved, "model")
        adapter_base = None
    model.to(device)
    model.eval()
    return LoadedCheckpoint(model, processor, adapter_base)


@dataclass(frozen=True)
class FullModelSource:
    source: str  # a model folder or hub id that loads without PEFT
    processor: Any
    adapter_base: str | None  # as in LoadedCheckpoint


@contextmanager
def full_model_source(checkpoint: str) -> Iterator[FullModelSource]:
    """The checkpoint as a full model to load from files, with its processor: a full model as it is; a LoRA adapter
    folder merged into its base by load_checkpoint (the weights the transformers path samples with), saved with its
    processor into a temporary folder (under $TMPDIR) that is removed when the block ends, also on an error or an
    interrupt."""
    resolved = resolve_model(checkpoint)
    if not (Path(resolved.source) / "adapter_config.json").is_file():
        yield FullModelSource(resolved.source, _load_or_explain(load_processor, resolved, "processor"), None)
        return
    with tempfile.TemporaryDirectory(prefix="rlvr-merged-") as folder:
        loaded = load_checkpoint(checkpoint, torch.device("cpu"))
        loaded.model.save_pretrained(folder)
        loaded.processor.save_pretrained(folder)
        processor, adapter_base = loaded.processor, loaded.adapter_base
        # The merged model's memory goes back before the engine loads its own copy from the folder.
        del loaded
        gc.collect()
        yield FullModelSource(folder, processor, adapter_base)


def _like(source: ResolvedModel, base: ResolvedModel) -> ResolvedModel:
    # An adapter folder's processor is read with its base's kind (vision-language or not, tiny or not).
    return ResolvedModel(source.name, source.source, base.is_vision_language, base.is_tiny)


def _merge_adapter(base_model, adapter_folder: Path, base_name: str):
    from peft import PeftModel

    misfit = (
        f"the LoRA adapter in {adapter_folder} does not fit its base model {base_name} ({type(base_model).__name__})"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            adapted = PeftModel.from_pretrained(base_model, str(adapter_folder))
        except RuntimeError as error:  # a weight of another shape: PyTorch's size mismatch
            raise UserError(f"{misfit}: {_first_line(error)}") from None
        except (OSError, ValueError, KeyError) as error:
            raise UserError(f"cannot load the LoRA adapter in {adapter_folder}: {_first_line(error)}") from None
    # PEFT only warns when the adapter's weights name layers the model lacks: they would be left at zero, and the
    # merged model would be the base model itself.
    if any(MISSING_ADAPTER_KEYS in str(warning.message) for warning in caught):
        raise UserError(
            f"{misfit}: its weights name layers that model does not have; set base_model_name_or_path in "
            "adapter_config.json to the model it was trained on"
        )
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    # Merged, generation runs at the speed of a plain model.
    return adapted.merge_and_unload()


def _first_line(error: Exception) -> str:
    """The line of PyTorch's many-line load error that says what is wrong (its first size mismatch), else line 1."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    return next((line for line in lines if line.startswith("size mismatch")), lines[0])


def _load_or_explain(loader, model: ResolvedModel, what: str):
    try:
        return loader(model)
    except (OSError, ValueError, KeyError, TypeError) as error:
        # transformers reads a damaged settings file without checking it: a key or a type is what it meets first.
        raise UserError(
            f"cannot load the {what} from {model.source}: {type(error).__name__}: {_first_line(error)}"
        ) from None
