"""Where a decode step's time goes at Qwen2.5-VL-3B's depth, measured on the CPU as ratios.

    python -m benchmarks.bench_gpu --cpu-profile

A decoder of the VL-3B depth (36 layers, the real 151,936-entry vocabulary) at a small width (hidden 128), so a
CPU can run it: at this width, as on a GPU at batch 4, a decode step costs what its operator calls cost, not their
arithmetic. It measures, with the KV cache (which training-time generation uses, tests/test_generation_cache.py):
- seconds per generated token at 4 and at 64 sequences per generate call, and their ratio;
- operator calls per decode step, plain and with LoRA on the seven projections (what a GPU pays in launches);
- the profile of a batch-4 decode step: the share of each operator group, and of the time outside any operator
  (Python and framework overhead).
Markdown on standard output.
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch

from benchmarks.common import machine_line
from rlvr.models.random_init import build_random_model
from rlvr.models.real_sizes import QWEN25_VL_3B, QWEN_VOCAB_SIZE

PROMPT_TOKENS, NEW_TOKENS = 32, 16
WIDTH = 128
GROUPS = {
    "matmul (projections, LoRA, output layer)": ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear"),
    "attention": ("aten::scaled_dot_product_attention", "aten::_scaled_dot_product"),
    "cache update (cat, copy)": ("aten::cat", "aten::copy_", "aten::index_copy", "aten::slice_scatter"),
    "norms and activations": ("aten::pow", "aten::mean", "aten::rsqrt", "aten::silu", "aten::mul", "aten::add"),
    "rotary and reshapes": ("aten::neg", "aten::view", "aten::transpose", "aten::reshape", "aten::expand"),
    # Sampling draws one exponential per vocabulary entry and sequence (multinomial); isin checks end tokens.
    "sampling and stopping": (
        "aten::exponential_",
        "aten::_softmax",
        "aten::softmax",
        "aten::multinomial",
        "aten::isin",
    ),
}


def decoder(lora: bool):
    size = QWEN25_VL_3B.scaled(WIDTH, vocab=QWEN_VOCAB_SIZE)
    text_only = type(size)(**{**size.__dict__, "vision_depth": None, "vision_hidden": None})
    model, _ = build_random_model(text_only, torch.float32, torch.device("cpu"))
    if lora:
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=targets, lora_dropout=0.05))
    return model.eval()


def generate(model, sequences: int) -> None:
    prompt = torch.randint(20, 1000, (sequences, PROMPT_TOKENS))
    with torch.no_grad():
        model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=True,
            top_k=0,
            pad_token_id=0,
        )


def seconds_per_token(model, sequences: int, repeats: int = 3) -> float:
    generate(model, sequences)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        generate(model, sequences)
        best = min(best, time.perf_counter() - started)
    return best / (sequences * NEW_TOKENS)


def profile(model, sequences: int) -> tuple[dict[str, float], float, float, list[str]]:
    """(self CPU seconds per operator group, wall seconds, operator calls, the largest ungrouped operators) of one
    generate call. Calls count every aten operator, nested ones too (aten::linear and the aten::addmm inside it)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    generate(model, sequences)
    wall = float("inf")
    for _ in range(2):  # the quicker of two: a busy machine slows one now and then
        with torch_profile(activities=[ProfilerActivity.CPU]) as attempt:
            started = time.perf_counter()
            generate(model, sequences)
            seconds = time.perf_counter() - started
        if seconds < wall:
            wall, recorded = seconds, attempt
    groups: dict[str, float] = defaultdict(float)
    others: dict[str, float] = {}
    calls = 0
    for event in recorded.key_averages():
        if not event.key.startswith("aten::"):
            continue
        calls += event.count
        group = next((name for name, keys in GROUPS.items() if event.key.startswith(keys)), "other operators")
        groups[group] += event.self_cpu_time_total / 1e6
        if group == "other operators":
            others[event.key] = event.self_cpu_time_total / 1e6
    largest = sorted(others, key=others.get, reverse=True)[:4]
    return dict(groups), wall, calls, [f"{name} {others[name] / wall:.0%}" for name in largest]


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # one thread: operator costs, not how two busy cores share them
    print("## Decode steps at Qwen2.5-VL-3B depth on the CPU (bench_gpu.py --cpu-profile)\n")
    print(machine_line() + "; one thread\n")
    print(
        f"Decoder: 36 layers, hidden {WIDTH}, vocabulary {QWEN_VOCAB_SIZE:,}, random weights; prompts of "
        f"{PROMPT_TOKENS} tokens, {NEW_TOKENS} new tokens, KV cache on, sampling at temperature 1.\n"
    )
    plain, lora = decoder(lora=False), decoder(lora=True)
    at_4, at_64, lora_at_4 = seconds_per_token(plain, 4), seconds_per_token(plain, 64), seconds_per_token(lora, 4)
    print("| model | sequences per generate call | ms per generated token | relative |\n|---|---|---|---|")
    print(f"| plain | 4 | {1000 * at_4:.2f} | 1.00 |")
    print(f"| plain | 64 | {1000 * at_64:.2f} | {at_64 / at_4:.2f} |")
    print(f"| LoRA r 8 on 7 projections | 4 | {1000 * lora_at_4:.2f} | {lora_at_4 / at_4:.2f} |\n")
    steps = NEW_TOKENS  # the prompt forward and NEW_TOKENS - 1 decode forwards, plus sampling each
    groups, wall, calls, largest = profile(plain, 4)
    lora_groups, lora_wall, lora_calls, _ = profile(lora, 4)
    print("| batch 4, one generate call under the profiler | plain | LoRA r 8 on 7 projections |\n|---|---|---|")
    print(f"| wall ms per decode step | {1000 * wall / steps:.1f} | {1000 * lora_wall / steps:.1f} |")
    print(f"| aten operator calls per decode step (nested counted) | {calls / steps:.0f} | {lora_calls / steps:.0f} |")
    print(f"| operator calls per layer and step | {calls / steps / 36:.0f} | {lora_calls / steps / 36:.0f} |\n")
    print("Share of the batch-4 wall time (self time of the operators; the rest is Python and framework):\n")
    print("| where | plain | LoRA |\n|---|---|---|")
    for name in [*GROUPS, "other operators"]:
        print(f"| {name} | {groups.get(name, 0) / wall:.0%} | {lora_groups.get(name, 0) / lora_wall:.0%} |")
    outside, lora_outside = wall - sum(groups.values()), lora_wall - sum(lora_groups.values())
    print(f"| outside operators (Python, module calls, generate's loop) | {outside / wall:.0%} "
          f"| {lora_outside / lora_wall:.0%} |")  # fmt: skip
    print(f"\nLargest other operators (plain): {', '.join(largest)}.\n")


if __name__ == "__main__":
    main()
