"""Where a rollout's samples go: kept samples into the first update slots, dropped ones out of the computation.

A rollout of ``steps_per_generation`` micro-steps is cut into update slots of ``gradient_accumulation_steps``
micro-steps; each slot ends in one optimizer update. The official code (RLVR-Decomposed, on verl) removes the
dropped samples from the rollout and makes ceil(kept / update size) updates. Here each process puts its kept
samples first, in micro-batches of its per-device batch size, and every process runs the same number of
micro-batches: the largest number any process needs (ZeRO-3 gathers parameters inside every forward, so a
process that ran fewer forwards than the others would hang them). A micro-batch holds kept samples only, so the
last one may be smaller than the others. With several processes the micro-batches of one micro-step must also have
as many rows on every process (TRL's loss gathers per-row statistics, and a gather of unequal sizes fails), so a
process with fewer kept samples for a micro-step fills up with dropped samples at zero weight, as many as the
process with the most has more. On one process no dropped sample is ever forwarded.

Active micro-steps fill whole slots from the first; a last, partial slot runs its *final* micro-steps, because the
final micro-step of a slot is where data-parallel gradients synchronise and the optimizer (or DeepSpeed) steps.
The remaining slots run nothing: no forward, no backward, no optimizer or scheduler step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

# What a scored batch passes to the model besides the token ids (images of a vision-language model).
MODEL_INPUT_KEYS = (
    "pixel_values",
    "image_grid_thw",
    "num_images",
    "pixel_attention_mask",
    "spatial_shapes",
    "num_tiles",
    "image_sizes",
    "token_type_ids",
    "mm_token_type_ids",
    "image_position_ids",
)


def micro_batches_needed(kept: int, batch_size: int) -> int:
    """Micro-batches of ``batch_size`` rows that hold ``kept`` samples."""
    return math.ceil(kept / batch_size)


def updates_for(active_micro_steps: int, accumulation_steps: int) -> int:
    """Optimizer updates a rollout takes when ``active_micro_steps`` micro-steps carry kept samples."""
    return math.ceil(active_micro_steps / accumulation_steps)


def active_slot_layout(active_micro_steps: int, steps_per_rollout: int, accumulation_steps: int) -> list[bool]:
    """Which micro-steps of a rollout run: whole update slots first, a partial last slot at its end.

    >>> active_slot_layout(5, 8, 4)
    [True, True, True, True, False, False, False, True]
    """
    if not 0 <= active_micro_steps <= steps_per_rollout:
        raise ValueError(f"{active_micro_steps} active micro-steps in a rollout of {steps_per_rollout}")
    full_slots, remainder = divmod(active_micro_steps, accumulation_steps)
    layout = [index < full_slots * accumulation_steps for index in range(steps_per_rollout)]
    if remainder:
        slot_end = (full_slots + 1) * accumulation_steps
        for index in range(slot_end - remainder, slot_end):
            layout[index] = True
    return layout


def kept_first_order(keep: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A permutation of the rows: kept rows first, dropped rows after, each group shuffled (as TRL shuffles)."""
    keep = keep.bool().cpu()
    kept, dropped = keep.nonzero().flatten(), (~keep).nonzero().flatten()
    kept = kept[torch.randperm(len(kept), generator=generator)]
    dropped = dropped[torch.randperm(len(dropped), generator=generator)]
    return torch.cat([kept, dropped])


def micro_batch_sizes(kept_per_process: Sequence[int], batch_size: int) -> list[int]:
    """Rows of each micro-batch of a rollout, the same on every process: at each micro-step, the most kept samples
    any process has for it (kept samples fill micro-batches of ``batch_size`` in order).

    >>> micro_batch_sizes([5], batch_size=2), micro_batch_sizes([1, 8], batch_size=2), micro_batch_sizes([3, 1], 2)
    ([2, 2, 1], [2, 2, 2, 2], [2, 1])
    """
    micro_batches = max(micro_batches_needed(kept, batch_size) for kept in kept_per_process)
    return [
        max(min(batch_size, kept - index * batch_size) for kept in kept_per_process) for index in range(micro_batches)
    ]


def micro_batch_rows(order: torch.Tensor, kept: int, batch_size: int, sizes: Sequence[int]) -> list[torch.Tensor]:
    """The rows of each micro-batch, from ``order`` (kept rows first, as ``kept_first_order`` gives).

    Micro-batch i holds this process's kept rows for it (up to ``batch_size``), then dropped rows, each used once,
    up to ``sizes[i]`` rows: zero-weight padding where another process has more kept samples for that micro-step.

    >>> [rows.tolist() for rows in micro_batch_rows(torch.arange(8), kept=3, batch_size=2, sizes=[2, 2, 1])]
    [[0, 1], [2, 3], [4]]
    """
    rows, next_dropped = [], kept
    for index, size in enumerate(sizes):
        start = min(index * batch_size, kept)
        own = order[start : min(start + batch_size, kept)]
        padding = size - len(own)
        if next_dropped + padding > len(order):
            raise ValueError(f"micro-batch {index} needs {padding} padding rows; too few dropped rows are left")
        rows.append(torch.cat([own, order[next_dropped : next_dropped + padding]]))
        next_dropped += padding
    return rows


def take_rows(batch: dict[str, Any], rows: torch.Tensor) -> dict[str, Any]:
    """The batch with only ``rows``, in that order; per-batch values (0-d tensors, None) are kept as they are."""

    def take(value: Any) -> Any:
        if value is None or (isinstance(value, torch.Tensor) and value.ndim == 0):
            return value
        if isinstance(value, torch.Tensor):
            return value[rows.to(value.device)]
        return [value[index] for index in rows.tolist()]

    return {key: take(value) for key, value in batch.items()}


def loss_tokens(batch: dict[str, Any]) -> torch.Tensor:
    """The number of tokens a micro-batch puts into the loss (completion mask times the loss-only mask)."""
    mask = batch["completion_mask"]
    if batch.get("tool_mask") is not None:
        mask = mask * batch["tool_mask"]
    return mask.sum()


def place_in_slots(micro_batches: Sequence[dict[str, Any]], layout: Sequence[bool]) -> list[dict[str, Any] | None]:
    """The micro-batches at the active positions of ``layout``, in order; None at the idle ones."""
    if len(micro_batches) != sum(layout):
        raise ValueError(f"{len(micro_batches)} micro-batches for {sum(layout)} active micro-steps")
    remaining = iter(micro_batches)
    return [next(remaining) if active else None for active in layout]


class SkipsIdleUpdates:
    """A learning-rate scheduler, except that an idle update slot (``is_idle()`` true) does not advance it."""

    def __init__(self, scheduler: Any, is_idle: Callable[[], bool]) -> None:
        self.scheduler = scheduler
        self.is_idle = is_idle

    def step(self, *args: Any, **kwargs: Any) -> None:
        if not self.is_idle():
            self.scheduler.step(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.scheduler, name)
