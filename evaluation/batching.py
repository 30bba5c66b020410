"""How generate_samples.py splits its work: which problems a shard owns, which problems share a generate call, and
how many sequences one call may hold when --batch-size is not given.

Reproducibility: a generate call is seeded with ``seed + (index of its first problem)``. With n samples per
problem and a batch of B sequences, P = B // n problems share a call (P = 1 when n >= B, the default at n = 256,
and then the call holds one problem's samples in chunks of B). Calls hold fixed blocks of consecutive problem
indices (block = index // P), never "whichever problems are left", so a problem's samples depend on the seed,
its index, B and n only: a run resumed after a kill, and each shard, write what one uninterrupted run with the same
batch size writes (shards exactly so when P = 1 or their boundaries fall on block boundaries).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Past this many sequences per call a GPU is saturated and a bigger batch only costs memory.
MAX_AUTO_BATCH_SIZE = 1024
# Share of the GPU memory left after loading the model that the KV cache may take; the rest covers activations,
# logits and the allocator's slack.
_KV_CACHE_SHARE = 0.5


def shard_indices(num_problems: int, num_shards: int, shard_index: int) -> range:
    """The contiguous run of problem indices shard ``shard_index`` of ``num_shards`` owns (sizes differ by <= 1)."""
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard index {shard_index} is not in 0..{num_shards - 1}")
    base, extra = divmod(num_problems, num_shards)
    start = shard_index * base + min(shard_index, extra)
    return range(start, start + base + (1 if shard_index < extra else 0))


def problems_per_call(batch_size: int, num_samples: int) -> int:
    """Problems whose samples fit in one generate call of ``batch_size`` sequences (at least 1)."""
    return max(1, batch_size // num_samples)


def call_groups(indices: Iterable[int], per_call: int) -> list[list[int]]:
    """``indices`` grouped by their fixed block (index // per_call), in order; a block may be partial."""
    groups: dict[int, list[int]] = {}
    for index in indices:
        groups.setdefault(index // per_call, []).append(index)
    return list(groups.values())


def batch_size_for_memory(free_bytes: int, bytes_per_sequence: int, num_samples: int) -> int:
    """Sequences per call that fit the KV-cache share of ``free_bytes``: a whole number of problems when at least
    one fits (no problem is split across calls needlessly), else as many as fit; 1 at least."""
    fits = int(free_bytes * _KV_CACHE_SHARE) // max(1, bytes_per_sequence)
    fits = max(1, min(fits, MAX_AUTO_BATCH_SIZE))
    if fits >= num_samples:
        return (fits // num_samples) * num_samples
    return fits


def kv_cache_bytes_per_sequence(model, sequence_tokens: int) -> int:
    """Keys and values of every layer for one sequence of ``sequence_tokens`` tokens, in the model's dtype."""
    config = getattr(model.config, "text_config", None) or model.config
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    import torch  # here: generate_samples.py shards the problems before torch is imported

    element_bytes = torch.finfo(model.dtype).bits // 8 if model.dtype.is_floating_point else 4
    return 2 * config.num_hidden_layers * kv_heads * head_dim * element_bytes * sequence_tokens


def choose_batch_size(model, device: torch.device, num_samples: int, sequence_tokens: int) -> int:
    """--batch-size when not given: from the memory the model leaves, on the GPU or in the machine's RAM.

    Total memory minus what the model holds, not the momentary free memory, so the same machine and command always
    choose the same size (it decides which problems share a call, hence the samples). On a CPU the work grows with
    the sequences whether or not problems share a call, while problems that share a call lose the prompt cache
    (padded prompts, rlvr/generation.py): one problem per call, its n samples together, as far as memory allows
    (measured in benchmarks/bench_sampling.py).
    """
    bytes_per_sequence = kv_cache_bytes_per_sequence(model, sequence_tokens)
    if device.type != "cuda":
        free = _physical_memory_bytes() - sum(p.numel() * p.element_size() for p in model.parameters())
        return min(num_samples, batch_size_for_memory(free, bytes_per_sequence, num_samples))
    import torch

    total = torch.cuda.get_device_properties(device).total_memory
    free = total - torch.cuda.memory_allocated(device)
    return batch_size_for_memory(free, bytes_per_sequence, num_samples)


def _physical_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
