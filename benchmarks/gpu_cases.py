"""The cases of benchmarks/bench_gpu.py and the worker that measures one: main.py's trainer on a random model.

A case is a model size, a mode, LoRA or full fine-tuning, and optionally ZeRO-3 or a compiled static-cache
generation. The worker builds the randomly initialised model in memory (rlvr/models/random_init.py), writes its
config beside the run so main.py's own micro-batch choice can read it, builds the trainer exactly as main.py does
(trainers/rl_run.py) and trains ``ROLLOUTS`` rollouts: the first warms up (CUDA kernels, compilation), the last is
reported. It prints one ``BENCH_RESULT {json}`` line per case.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import TrainerCallback

from benchmarks.common import peak_memory_mb
from rlvr.models.random_init import build_random_model
from rlvr.models.real_sizes import QWEN25_MATH_1_5B, QWEN25_VL_3B, DecoderSize
from rlvr.models.tiny import TINY_MAX_PIXELS
from trainers.config_parser import parse_run_config
from trainers.generation_probe import GenerationRecorder
from trainers.input_grad_hooks import input_grad_hook_count
from trainers.rl_run import build_rl_trainer

RESULT_PREFIX = "BENCH_RESULT "
ROLLOUTS = 2
NUM_GENERATIONS = 4
EPOCH_PROMPTS = 10_000
EPOCH_CAP = 768


@dataclass(frozen=True)
class Scale:
    """What a run measures at: the real sizes on a GPU, tiny ones on the CPU (``--dry``)."""

    rollout_prompts: int
    update_prompts: int
    completion_tokens: int
    dry: bool

    def size(self, model: str) -> DecoderSize:
        real = QWEN25_VL_3B if model == "vl3b" else QWEN25_MATH_1_5B
        if not self.dry:
            return real
        return dataclasses.replace(real.scaled(64, vocab=2048, vision_depth=2), layers=2)


GPU_SCALE = Scale(rollout_prompts=64, update_prompts=16, completion_tokens=128, dry=False)
DRY_SCALE = Scale(rollout_prompts=2, update_prompts=1, completion_tokens=4, dry=True)
TASKS = {
    "vl3b": ["--task", "chart", "--reward-funcs", "accuracy_reward", "format_reward"],
    "math1.5b": ["--task", "math"],
}


@dataclass(frozen=True)
class Case:
    model: str  # vl3b or math1.5b
    mode: str
    lora: bool
    zero3: bool = False
    compiled: bool = False

    @property
    def name(self) -> str:
        parts = [self.model, self.mode, "lora" if self.lora else "full"]
        return "-".join(parts + ["zero3"] * self.zero3 + ["compiled"] * self.compiled)


# In the order a GPU session runs them: what the goal needs first, so a budget that runs out cuts the tail.
GPU_CASES = (
    Case("vl3b", "nsr", lora=True),  # the README's GPU command
    Case("vl3b", "grpo", lora=True, compiled=True),  # compiling a 36-layer step may take a minute or two
    Case("vl3b", "grpo", lora=True),
    Case("vl3b", "nsr", lora=True, zero3=True),
    Case("math1.5b", "grpo", lora=False),
    Case("vl3b", "nsr", lora=False),
    Case("math1.5b", "nsr", lora=True),
    Case("vl3b", "grpo", lora=False),
    Case("math1.5b", "nsr", lora=False, zero3=True),
)
# The CPU dry run covers each path once in two processes: VL and text, grpo and nsr, LoRA and full, plain and ZeRO-3.
# Compiled generation compiles for a minute on the CPU; `--dry --cases math1.5b-grpo-full-compiled` runs it.
DRY_CASES = (
    Case("vl3b", "grpo", lora=True),
    Case("math1.5b", "nsr", lora=False, zero3=True),
)
COMPILED_DRY_CASE = Case("math1.5b", "grpo", lora=False, compiled=True)
CASES_BY_NAME = {case.name: case for case in (*GPU_CASES, *DRY_CASES, COMPILED_DRY_CASE)}


class RolloutClock(TrainerCallback):
    """Wall time, the input-gradient hooks on ``model`` and dynamo's compiled graphs at the end of each rollout
    (every ``slots`` optimizer steps)."""

    def __init__(self, slots: int, model) -> None:
        self.slots, self.model = slots, model
        self.marks: list[float] = []
        self.hooks: list[int] = []
        self.graphs: list[int] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.marks = [time.perf_counter()]

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.slots == 0:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.marks.append(time.perf_counter())
            self.hooks.append(input_grad_hook_count(self.model))
            self.graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def case_flags(case: Case, scale: Scale, model_folder: Path, output_dir: Path) -> list[str]:
    update_prompts = scale.update_prompts
    flags = [
        "--model", str(model_folder), *TASKS[case.model], "--mode", case.mode, "--output-dir", str(output_dir),
        "--rollout-prompts", str(scale.rollout_prompts), "--update-prompts", str(update_prompts),
        "--num-generations", str(NUM_GENERATIONS), "--max-completion-length", str(scale.completion_tokens),
        "--max-steps", str(scale.rollout_prompts // update_prompts * ROLLOUTS),
        "--subset-size", str(scale.rollout_prompts * ROLLOUTS),
        "--report-to", "none", "--no-resume", "--save-steps", "100000",
    ]  # fmt: skip
    if not case.lora:
        flags.append("--no-lora")
    if case.compiled:
        flags.append("--compile-generation")
    return flags


def measure(case: Case, scale: Scale) -> dict:
    """Train ROLLOUTS rollouts of ``case`` and report the last one."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    pixels = TINY_MAX_PIXELS if scale.dry else None
    started = time.perf_counter()
    size = scale.size(case.model)
    model, processor = build_random_model(size, dtype, device, **({"pixels": pixels} if pixels else {}))
    with tempfile.TemporaryDirectory() as folder:
        model_folder = Path(folder) / "model"
        model.config.save_pretrained(model_folder)  # main.py's micro-batch choice reads the sizes from here
        config = parse_run_config(case_flags(case, scale, model_folder, Path(folder) / "run"))
        trainer = build_rl_trainer(config, model, processor)
        build_seconds = time.perf_counter() - started
        recorder = GenerationRecorder(trainer)
        slots = trainer.args.steps_per_generation // trainer.args.gradient_accumulation_steps
        clock = RolloutClock(slots, trainer.accelerator.unwrap_model(trainer.model))
        trainer.add_callback(clock)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
    rollout_seconds = [after - before for before, after in zip(clock.marks, clock.marks[1:], strict=False)]
    call = recorder.calls[-1]
    return {
        "case": case.name,
        "layers": size.layers,
        "hidden": size.hidden,
        "vocab": size.vocab,
        "micro_batch": trainer.args.per_device_train_batch_size,
        "build_seconds": build_seconds,
        "first_rollout_seconds": rollout_seconds[0],
        "rollout_seconds": rollout_seconds[-1],
        "generation_seconds": call.seconds,
        "prefill_seconds": call.prefill_seconds,
        "decode_step_seconds": call.decode_step_seconds,
        "sequences_per_generate_call": call.sequences,
        "decode_forwards": len(call.forwards),
        "prompt_tokens": call.forwards[0].new_tokens,
        "generated_tokens": call.generated_tokens,
        "cache_problems": call.cache_problems()[:3],
        "input_grad_hooks": clock.hooks,  # after each rollout: flat when nothing leaks
        "compiled_graphs": clock.graphs,  # after each rollout: flat after the first when nothing recompiles
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9 if device.type == "cuda" else None,
        "peak_rss_mb": peak_memory_mb(),
        "rollout_prompts": scale.rollout_prompts,
        "completion_tokens": scale.completion_tokens,
    }


def run_worker(names: list[str], dry: bool) -> None:
    """Measure each named case in this process, one result line each (a failure is a result too)."""
    scale = DRY_SCALE if dry else GPU_SCALE
    for name in names:
        try:
            result = measure(CASES_BY_NAME[name], scale)
        except Exception as error:  # one case failing must not cost the others their figures
            result = {"case": name, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
        print(RESULT_PREFIX + json.dumps(result), flush=True)
