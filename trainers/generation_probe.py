"""What a trainer's rollouts cost and whether they reuse the KV cache: a recorder around its ``generate`` calls.

``GenerationRecorder(trainer)`` wraps the trainer's ``_generate_single_turn`` (the one place TRL 1.16 calls
``generate`` during training) and hooks the model's forward. For every generate call it keeps the sequences it
decoded, its wall seconds, and for every forward inside it how many new tokens each sequence brought and how many
the KV cache already held. With the cache in use, the first forward reads the prompt (nothing cached) and every
later one reads exactly one new token per sequence on top of all the tokens before it; without it (gradient
checkpointing left on in training mode, for one) the cache stays empty and every step attends to one token only.

A compiled decode step (``--compile-generation``) must not see the recorder: a hook inside the compiled region is
traced into it, and its changing state would make every step recompile. Compiled steps are therefore recorded
around the compiled call, from outside, and the forward hook does nothing while the compiler traces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class DecodeForward:
    """One forward of the model inside a generate call."""

    sequences: int
    new_tokens: int  # per sequence
    cached_tokens: int  # per sequence, before this forward
    started: float  # seconds since the generate call began (decode loops synchronise once per step)


@dataclass
class GenerateCall:
    sequences: int
    seconds: float = 0.0
    forwards: list[DecodeForward] = field(default_factory=list)
    completion_ids: list[list[int]] = field(default_factory=list)

    @property
    def decode_steps(self) -> list[DecodeForward]:
        """The forwards after the prompt's."""
        return self.forwards[1:]

    @property
    def prefill_seconds(self) -> float | None:
        """From the call's start to the first decode forward: the prompt forward and the first sampled token."""
        return self.decode_steps[0].started if self.decode_steps else None

    @property
    def decode_step_seconds(self) -> float | None:
        """Mean seconds per decode forward, sampling included."""
        if not self.decode_steps:
            return None
        return (self.seconds - self.decode_steps[0].started) / len(self.decode_steps)

    @property
    def generated_tokens(self) -> int:
        """Tokens decoded for all sequences (random weights run every sequence to its cap)."""
        return self.sequences * len(self.forwards)

    def cache_problems(self) -> list[str]:
        """Why this call did not decode with the KV cache; empty when it did."""
        if not self.forwards:
            return ["no forward was recorded"]
        problems = []
        if self.forwards[0].cached_tokens != 0:
            problems.append(f"the prompt forward found {self.forwards[0].cached_tokens} tokens already cached")
        expected = self.forwards[0].new_tokens
        for index, step in enumerate(self.decode_steps, start=1):
            if step.new_tokens != 1:
                problems.append(f"decode forward {index} read {step.new_tokens} new tokens per sequence, not 1")
            if step.cached_tokens != expected:
                problems.append(f"decode forward {index} found {step.cached_tokens} cached tokens, not {expected}")
            expected += step.new_tokens
        return problems


def _token_count(kwargs: dict[str, Any]) -> tuple[int, int]:
    """(sequences, new tokens per sequence) of a forward's inputs."""
    inputs = kwargs.get("input_ids")
    if inputs is None:
        inputs = kwargs["inputs_embeds"]
    return int(inputs.shape[0]), int(inputs.shape[1])


def _cached_tokens(kwargs: dict[str, Any]) -> int:
    cache = kwargs.get("past_key_values")
    return 0 if cache is None else int(cache.get_seq_length())


class GenerationRecorder:
    """Records every generate call of ``trainer`` (see the module docstring); ``calls`` holds them in order."""

    def __init__(self, trainer) -> None:
        self.calls: list[GenerateCall] = []
        self._current: GenerateCall | None = None
        self._started = 0.0
        model = trainer.accelerator.unwrap_model(trainer.model)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._handle = base.register_forward_pre_hook(self._record_forward, with_kwargs=True)
        compiled_call = base.get_compiled_call

        def recorded_compiled_call(compile_config):
            compiled = compiled_call(compile_config)

            def recorded(**kwargs: Any):
                self._record_forward(base, (), kwargs)
                return compiled(**kwargs)

            return recorded

        base.get_compiled_call = recorded_compiled_call
        self._base = base
        generate = trainer._generate_single_turn

        def recorded_generate(prompt_ids, *args: Any, **kwargs: Any):
            self._current = GenerateCall(sequences=len(prompt_ids))
            started = self._started = time.perf_counter()
            try:
                completion_ids, logprobs = generate(prompt_ids, *args, **kwargs)
                self._current.completion_ids = [list(map(int, ids)) for ids in completion_ids]
                return completion_ids, logprobs
            finally:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self._current.seconds = time.perf_counter() - started
                self.calls.append(self._current)
                self._current = None

        trainer._generate_single_turn = recorded_generate

    def _record_forward(self, module, args, kwargs) -> None:
        if torch.compiler.is_compiling() or self._current is None:
            return
        sequences, new_tokens = _token_count(kwargs)
        started = time.perf_counter() - self._started
        self._current.forwards.append(DecodeForward(sequences, new_tokens, _cached_tokens(kwargs), started))

    def remove(self) -> None:
        self._handle.remove()
        del self._base.get_compiled_call  # the class's own again
