"""Two hours per epoch with transformers generation, or vLLM? A probe that answers in about 5 GPU minutes.

    python -m benchmarks.epoch_probe --results probe.jsonl     # on a GPU: Qwen2.5-VL-3B at real size
    python -m benchmarks.epoch_probe --dry --results probe.jsonl   # the same code at tiny sizes on the CPU

Randomly initialised Qwen2.5-VL-3B with the real vocabulary (rlvr/models/random_init.py), bf16. A chart prompt is
``PROMPT_TOKENS`` tokens: the image's 320 merged patches and about 350 text tokens. Measured:
- the decode step of ``model.generate`` (sampling, the training rollout's settings) at 256 and 1,024 sequences per
  call, at the context of a rollout's first token (the prompt) and of its last (prompt + 768), plain (dynamic cache)
  and compiled (static cache of one size, ``torch.compile`` of the step; the first call's extra seconds are reported
  as compile time). A step is the difference of two clock readings inside one generate call, after ``FIRST_MARK``
  and after ``LAST_MARK`` new tokens, each taken once the GPU has finished: the prompt forward stays out of it, and
  is what the first reading holds beyond its steps;
- one LoRA update (forward and backward, gradient checkpointing) and one no-gradient forward (TRL's rollout
  log-probabilities) on a micro-batch of ``UPDATE_BATCH`` sequences of prompt + 768 tokens.
Then hours per 10,000-chart epoch at a 768-token cap for 64-prompt rollouts (plain and compiled) and 256-prompt
rollouts (plain): per rollout, the prompt forward, 768 steps at the mean of the first and last step time (a step's
cost grows linearly with the context), and per sequence one no-gradient forward and one update. Random weights run
every completion to its cap, as a generate call runs until its longest sequence stops. The vision tower is not
included: it reads each image once per forward. Each measurement is one JSON line in ``--results`` as soon as it
ends (a killed run keeps what it measured); a measurement that runs out of memory is a line saying so.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from rlvr.models.random_init import build_random_model
from rlvr.models.real_sizes import QWEN25_VL_3B
from rlvr.models.registry import REAL_MODEL_PIXELS

EPOCH_CHARTS, EPOCH_HOURS_GOAL, COMPLETIONS_PER_PROMPT = 10_000, 2.0, 4
PROMPT_TOKENS = REAL_MODEL_PIXELS // (28 * 28) + 350
UPDATE_BATCH = 8


@dataclass(frozen=True)
class Sizes:
    """Real sizes on a GPU; tiny ones on the CPU (``--dry``), to run every line of the probe in a minute or two."""

    prompt_tokens: int
    completion_cap: int
    sequences: tuple[int, int]  # per generate call: 64 and 256 prompts x 4 completions
    marks: tuple[int, int]  # new tokens at the two clock readings
    update_batch: int
    dry: bool

    def model(self):
        """The random model with LoRA adapters on the seven projections (the training default), in eval mode."""
        from peft import LoraConfig, get_peft_model

        size = QWEN25_VL_3B
        if self.dry:
            size = dataclasses.replace(size.scaled(64, vocab=2048, vision_depth=1), layers=2)
        device, dtype = ("cpu", torch.float32) if self.dry else ("cuda", torch.bfloat16)
        model, _ = build_random_model(size, dtype, torch.device(device))
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        return get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=targets)).eval()


GPU_SIZES = Sizes(PROMPT_TOKENS, 768, (256, 1024), (4, 16), UPDATE_BATCH, dry=False)
DRY_SIZES = Sizes(24, 16, (4, 8), (2, 6), 2, dry=True)


class StepClock(LogitsProcessor):
    """Reads the clock when the sequences reach ``marks`` new tokens, once the device has finished its work."""

    def __init__(self, prompt_length: int, marks: tuple[int, int]) -> None:
        self.prompt_length, self.marks, self.readings = prompt_length, marks, {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        new_tokens = input_ids.shape[1] - self.prompt_length
        if new_tokens in self.marks:
            if scores.is_cuda:
                torch.cuda.synchronize()
            self.readings[new_tokens] = time.perf_counter()
        return scores


def generation_config(compiled: bool, cache_tokens: int, new_tokens: int) -> GenerationConfig:
    """The rollout's sampling settings; compiled: one static cache size for every call, and the step compiled."""
    from transformers import CompileConfig

    fields = {"do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0}
    fields |= {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "pad_token_id": 0}
    if not compiled:
        return GenerationConfig(**fields, disable_compile=True)
    compile_config = CompileConfig()
    compile_config._compile_all_devices = not torch.cuda.is_available()  # transformers compiles on GPUs only else
    return GenerationConfig(
        **fields, cache_implementation="static", max_cache_len=cache_tokens, compile_config=compile_config
    )


def timed_generate(model, sequences: int, context: int, config: GenerationConfig, marks: tuple[int, int]) -> dict:
    """One generate call from ``context`` prompt tokens: the call's seconds, the prompt forward and the step."""
    prompt = torch.randint(20, 1000, (sequences, context), device=model.device)
    clock = StepClock(context, marks)
    started = time.perf_counter()
    with torch.no_grad():
        model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            generation_config=config,
            logits_processor=LogitsProcessorList([clock]),
        )
    first, last = (clock.readings[mark] for mark in marks)
    step = (last - first) / (marks[1] - marks[0])
    # Reading k follows the prompt forward and k decode steps.
    prompt_forward = first - started - marks[0] * step
    return {"call_seconds": time.perf_counter() - started, "step_seconds": step, "prompt_seconds": prompt_forward}


def decode_cells(model, sizes: Sizes, engine: str, measure) -> None:
    """The engine's cells: 2 batch sizes x 2 contexts; compiled after one warm-up call per batch size."""
    cache_tokens = sizes.prompt_tokens + sizes.completion_cap + sizes.marks[1] + 1
    contexts = {"start": sizes.prompt_tokens, "end": sizes.prompt_tokens + sizes.completion_cap}
    config = generation_config(engine == "compiled", cache_tokens, sizes.marks[1] + 1)
    for sequences in sizes.sequences:
        cell = {"kind": "decode", "engine": engine, "sequences": sequences}
        call = functools.partial(timed_generate, model, sequences, config=config, marks=sizes.marks)
        warm_up = measure({}, functools.partial(call, contexts["start"])) if engine == "compiled" else {}
        for position, context in contexts.items():
            about = {**cell, "position": position, "context": context}
            measure(about, functools.partial(call, context), warm_up if position == "start" else {})


def update_cells(model, sizes: Sizes, measure) -> None:
    """One no-gradient forward and one update with checkpointing, at prompt + cap tokens per sequence, as training
    switches the model: checkpointing and train mode for the update, off again for generation afterwards."""
    tokens = sizes.prompt_tokens + sizes.completion_cap
    batch = torch.randint(20, 1000, (sizes.update_batch, tokens), device=model.device)

    def forward_only() -> None:
        with torch.no_grad():
            model(input_ids=batch, logits_to_keep=sizes.completion_cap + 1)

    def update() -> None:
        model(input_ids=batch, labels=batch).loss.backward()
        model.zero_grad(set_to_none=True)

    model.gradient_checkpointing_enable({"use_reentrant": False})
    model.train()
    for name, step in (("forward", forward_only), ("update", update)):
        about = {"kind": name, "sequences": sizes.update_batch, "tokens": tokens}
        measure(about, lambda step=step: {"seconds": synchronized_seconds(step)}, {"warm-up": step})
    model.gradient_checkpointing_disable()
    model.eval()


def synchronized_seconds(step) -> float:
    started = time.perf_counter()
    step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started


class Measurements:
    """Runs each measurement under the budget, keeps it, and appends it to the results file at once."""

    def __init__(self, results: Path, budget_s: float) -> None:
        self.results, self.cells = results, []
        self.deadline = time.perf_counter() + budget_s

    def __call__(self, about: dict, measure, warm_up: dict | None = None) -> dict:
        if time.perf_counter() > self.deadline:
            result = {"error": "skipped: the probe's budget was spent"}
        else:
            result = self._guarded(measure, warm_up or {})
        if about:  # a warm-up call is measured but not kept
            self.emit({**about, **result})
        return result

    def _guarded(self, measure, warm_up: dict) -> dict:
        try:
            if callable(warm_up.get("warm-up")):
                warm_up["warm-up"]()
            result = measure()
        except torch.OutOfMemoryError:  # an answer too: this geometry does not fit the GPU
            torch.cuda.empty_cache()
            return {"error": "out of memory"}
        if "call_seconds" in warm_up:  # compiled: what the first call took beyond a compiled one
            result["compile_seconds"] = warm_up["call_seconds"] - result["call_seconds"]
        return result

    def emit(self, cell: dict) -> None:
        self.cells.append(cell)
        with self.results.open("a", encoding="utf-8") as results:
            results.write(json.dumps(cell) + "\n")


def epoch_lines(cells: list[dict], sizes: Sizes) -> list[str]:
    """Hours per 10,000-chart epoch for each rollout recipe, and the verdict."""
    decode = {(c["engine"], c["sequences"], c["position"]): c for c in cells if c["kind"] == "decode"}
    passes = [c for c in cells if c["kind"] in ("forward", "update") and "seconds" in c]
    per_sequence = {c["kind"]: c["seconds"] / c["sequences"] for c in passes}
    small, large = sizes.sequences
    lines, hours = [], {}
    for engine, sequences in (("plain", small), ("compiled", small), ("plain", large)):
        name = f"{sequences // COMPLETIONS_PER_PROMPT}-prompt rollouts, {engine}"
        start, end = decode.get((engine, sequences, "start"), {}), decode.get((engine, sequences, "end"), {})
        missing = [c.get("error", "not measured") for c in (start, end) if "step_seconds" not in c]
        if missing or len(per_sequence) < 2:
            lines.append(f"- {name}: not measured ({missing[0] if missing else 'no update figure'})")
            continue
        generation = start["prompt_seconds"] + sizes.completion_cap * (start["step_seconds"] + end["step_seconds"]) / 2
        rest = sequences * (per_sequence["forward"] + per_sequence["update"])
        rollouts = math.ceil(EPOCH_CHARTS / (sequences // COMPLETIONS_PER_PROMPT))
        hours[name] = rollouts * (generation + rest) / 3600
        lines.append(
            f"- {name}: {rollouts} rollouts x ({start['prompt_seconds']:.1f} s prompt + {sizes.completion_cap} x "
            f"({1000 * start['step_seconds']:.1f} + {1000 * end['step_seconds']:.1f}) / 2 ms steps + {sequences} x "
            f"({per_sequence['forward']:.3f} + {per_sequence['update']:.3f}) s forward and update) = "
            f"**{hours[name]:.2f} h per epoch**"
        )
    lines.append(verdict(hours))
    return lines


def verdict(hours: dict[str, float]) -> str:
    if not hours:
        return "verdict: not measured"
    best = min(hours, key=hours.get)
    if hours[best] <= EPOCH_HOURS_GOAL:
        return f"verdict: HF generate reaches a {EPOCH_HOURS_GOAL:g}-hour epoch ({best}: {hours[best]:.2f} h)"
    return (
        f"verdict: HF generate does not reach a {EPOCH_HOURS_GOAL:g}-hour epoch (best, {best}: {hours[best]:.2f} h); "
        "vLLM colocate is needed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--results", type=Path, required=True, help="JSON lines, one per measurement as it ends")
    parser.add_argument("--budget-s", type=float, default=270, help="start no measurement after this many seconds")
    args = parser.parse_args(argv)
    if not args.dry and not torch.cuda.is_available():
        print("error: no GPU here; run with --dry for the CPU check", file=sys.stderr)
        return 2
    sizes = DRY_SIZES if args.dry else GPU_SIZES
    measure = Measurements(args.results, args.budget_s)
    started = time.perf_counter()
    model = sizes.model()
    measure.emit({"kind": "build", "seconds": time.perf_counter() - started, "prompt_tokens": sizes.prompt_tokens})
    timed_generate(model, 2, 8, generation_config(False, 16, sizes.marks[1] + 1), sizes.marks)  # kernels, once
    # Plain decoding and the update first: the 64- and 256-prompt plain recipes need nothing else.
    decode_cells(model, sizes, "plain", measure)
    update_cells(model, sizes, measure)
    decode_cells(model, sizes, "compiled", measure)
    cells = measure.cells
    device = "CPU (dry run: tiny sizes, says nothing about a GPU)" if args.dry else torch.cuda.get_device_name(0)
    print(f"## Epoch probe (benchmarks/epoch_probe.py) on {device}\n")
    print(f"Chart prompt {sizes.prompt_tokens} tokens, {sizes.completion_cap}-token cap, {EPOCH_CHARTS:,} charts.\n")
    print("\n".join(epoch_lines(cells, sizes)))
    print(f"\nProbe seconds: {time.perf_counter() - started:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
