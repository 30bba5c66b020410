"""The vLLM tests run in .venv-vllm (`make vllm-env`, then `make test-vllm`), against vLLM's CPU build itself.

They are not part of the main suite (pyproject's testpaths is tests/). Run in an environment without vLLM, every
one of them is skipped with that reason: there is nothing to test them against there.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests_vllm.runs import warm_arith_model_path

VLLM_MISSING = importlib.util.find_spec("vllm") is None

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "offline")
# vLLM's CPU build, kept small and polite on a shared machine: the engine in this process (no engine-core
# subprocess), 1 GiB of KV cache, its threads not pinned to cores that other work uses.
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")


def pytest_collection_modifyitems(config, items) -> None:
    if VLLM_MISSING:
        reason = "vLLM is not installed in this environment: these tests run in .venv-vllm (make test-vllm)"
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def warm_arith_model() -> Path:
    """tiny-arith after a short supervised warm start (tests_vllm/runs.py), built once and cached."""
    return warm_arith_model_path()
