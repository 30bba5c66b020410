"""generate_samples.py on a LoRA adapter folder as main.py writes it (LoRA is the training default), through vLLM's
CPU build against the transformers path.

vLLM takes the adapter merged into its base (rlvr/models/checkpoints.py ``full_model_source``), in a temporary model
folder that is removed when sampling ends. Specified here, for a text adapter (tiny-arith after its warm start) and
a vision-language one (tiny-vllm on charts, with ``--lora-target-modules`` naming the seven projections, taken as
named, so the adapter reaches the vision tower's MLP too):

- greedy samples of ``--engine vllm`` equal those of ``--engine transformers`` string for string, with the same
  metadata, which names the adapter folder;
- the adapter changes the samples (the base model's greedy samples differ), so the first point is not met by an
  engine that loads the base alone;
- the merged model folder is made in $TMPDIR and is gone afterwards.

Why merged and not served by vLLM's own LoRA support (``enable_lora``, ``LoRARequest``): on Qwen2.5-VL the CPU
build applies an adapter of the language model as the merge does, but ignores the vision tower's LoRA modules ("no
matching PunicaWrapper is found; ... will be ignored"), and an adapter whose targets are named by the user may
reach the vision tower's MLP (its projections carry the language model's names). The last test states it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests_vllm.runs import ARITHMETIC, run_script

# The seven projections taken as named: in Qwen2.5-VL the MLP names match the vision tower's MLP as well.
VISION_REACHING_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
GREEDY_TOP_P = "1e-6"  # below any runner-up's probability: only the most likely token is left to draw
# A few steps of main.py's default LoRA (rank 8 on the attention and MLP projections) at a large learning rate:
# enough for the adapter to change greedy answers. The run record and processor land in the folder as always.
LORA_STEPS = [
    "--mode", "sft", "--learning-rate", "1e-2", "--max-steps", "6", "--batch-size", "8",
    "--gradient-accumulation-steps", "1", "--seed", "2025", "--logging-steps", "3", "--save-steps", "1000",
    "--disable-gradient-checkpointing", "--report-to", "none",
]  # fmt: skip


def train_adapter(output: Path, *flags: str) -> Path:
    run_script("main.py", *LORA_STEPS, *flags, "--output-dir", str(output))
    assert (output / "adapter_config.json").is_file() and not (output / "config.json").exists()
    return output


@pytest.fixture(scope="module")
def arithmetic_adapter(tmp_path_factory, warm_arith_model) -> Path:
    """A LoRA adapter of tiny-arith after its warm start, trained on two-digit addition."""
    output = tmp_path_factory.mktemp("arith-adapter") / "run"
    return train_adapter(output, "--model", str(warm_arith_model), *ARITHMETIC)


@pytest.fixture(scope="module")
def chart_adapter(tmp_path_factory) -> Path:
    """A LoRA adapter of tiny-vllm, trained on the synthetic charts, in the language model and the vision tower."""
    output = tmp_path_factory.mktemp("chart-adapter") / "run"
    targets = ["--lora-target-modules", *VISION_REACHING_TARGETS]
    return train_adapter(output, "--model", "tiny-vllm", "--task", "chart", "--subset-size", "16", *targets)


def sample(tmp_path: Path, name: str, engine: str, *flags: str) -> tuple[dict, str]:
    """generate_samples.py with ``--engine`` and its own temporary folder: the samples file it wrote and its standard
    output."""
    output = tmp_path / f"{name}-{engine}.json"
    env = {**os.environ, "TMPDIR": str(tmp_path / f"{name}-{engine}-tmp")}
    Path(env["TMPDIR"]).mkdir()
    result = run_script("generate_samples.py", "--engine", engine, *flags, "--output-path", str(output), env=env)
    return json.loads(output.read_text()), result.stdout


def merged_model_folder(printed: str) -> Path:
    [line] = [line for line in printed.splitlines() if line.startswith("Merged model in ")]
    return Path(line.removeprefix("Merged model in ").removesuffix(" (removed when sampling ends)"))


def samples_of(samples_file: dict) -> list[list[str]]:
    return [problem["samples"] for problem in samples_file["problems"]]


def check_adapter_greedy(tmp_path: Path, adapter: Path, base: str, flags: list[str]) -> None:
    adapter_flags = ["--checkpoint-path", str(adapter), *flags]
    ours, printed = sample(tmp_path, "adapter", "vllm", *adapter_flags)
    theirs, _ = sample(tmp_path, "adapter", "transformers", *adapter_flags)
    base_file, _ = sample(tmp_path, "base", "transformers", "--checkpoint-path", base, *flags)

    assert "Merged the LoRA adapter" in printed and "Sampling with vLLM" in printed
    merged = merged_model_folder(printed)
    assert merged.parent == tmp_path / "adapter-vllm-tmp" and not merged.exists()  # in $TMPDIR, and removed
    assert ours["metadata"]["checkpoint"] == str(adapter.resolve())
    assert {**ours["metadata"], "date": None} == {**theirs["metadata"], "date": None}
    assert samples_of(ours) == samples_of(theirs)
    assert [p["num_correct"] for p in ours["problems"]] == [p["num_correct"] for p in theirs["problems"]]
    changed = sum(a != b for a, b in zip(samples_of(ours), samples_of(base_file), strict=True))
    print(f"{changed} of {len(ours['problems'])} problems answered otherwise than by the base model")
    assert changed > 0


def test_arithmetic_adapter_greedy_samples_match_the_transformers_path(tmp_path, arithmetic_adapter, warm_arith_model):
    flags = [
        *ARITHMETIC, "--max-problems", "24", "--num-samples", "1", "--top-p", GREEDY_TOP_P, "--max-new-tokens", "8",
    ]  # fmt: skip
    check_adapter_greedy(tmp_path, arithmetic_adapter, str(warm_arith_model), flags)


def test_chart_adapter_greedy_samples_match_the_transformers_path(tmp_path, chart_adapter):
    flags = [
        "--task", "chart", "--max-problems", "4", "--num-samples", "2", "--top-p", GREEDY_TOP_P,
        "--max-new-tokens", "16",
    ]  # fmt: skip
    check_adapter_greedy(tmp_path, chart_adapter, "tiny-vllm", flags)


# ---------------------------------------------------------------------------------------------------------------
# Why the adapter is merged

LANGUAGE_MODEL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]  # the vision tower names its own qkv and proj


def until_stop(token_ids: list[int], stops: set[int]) -> list[int]:
    """The generated tokens before the first stop token (transformers pads after it, vLLM ends with it)."""
    for index, token in enumerate(token_ids):
        if token in stops:
            return token_ids[:index]
    return token_ids


def merged_greedy(adapter: Path, processor, task, rows: list[dict]) -> list[list[int]]:
    """Greedy tokens of the transformers path, which merges the adapter. Tokens, not text: a random tiny model's
    tokens often decode to the same replacement characters, and text would then hide a difference."""
    import torch

    from rlvr.generation import encode_prompts
    from rlvr.models.checkpoints import load_checkpoint

    cpu = torch.device("cpu")
    encoded = encode_prompts(processor, task, rows, task.default_prompt_style, cpu)
    model = load_checkpoint(str(adapter), cpu).model
    with torch.no_grad():
        output = model.generate(**encoded, max_new_tokens=12, do_sample=False)
    new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
    return [until_stop(row, stop_tokens(model)) for row in new_tokens]


def stop_tokens(model) -> set[int]:
    eos = model.generation_config.eos_token_id
    return {*(eos if isinstance(eos, list) else [eos]), model.generation_config.pad_token_id} - {None}


def served_greedy(llm, adapter: Path, number: int, stops: set[int], rows: list[dict], processor, task):
    """Greedy tokens of vLLM serving the adapter on its base (``LoRARequest``)."""
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    from evaluation.vllm_sampling import vllm_prompt

    prompts = [vllm_prompt(processor, task, row, task.default_prompt_style) for row in rows]
    request = LoRARequest(adapter.name, number, str(adapter))
    outputs = llm.generate(prompts, SamplingParams(temperature=0, max_tokens=12), lora_request=request)
    return [until_stop(list(output.outputs[0].token_ids), stops) for output in outputs]


def test_vllm_lora_serving_matches_the_merge_for_the_language_model_only(tmp_path):
    from vllm import LLM

    from rlvr.models.registry import load_model, load_processor, resolve_model
    from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
    from tests.lora_adapter import random_lora_adapter

    language_only, main_like = tmp_path / "language-model-only", tmp_path / "vision-reaching"
    random_lora_adapter("tiny-vllm", LANGUAGE_MODEL_TARGETS, seed=0).save_pretrained(language_only)
    random_lora_adapter("tiny-vllm", list(VISION_REACHING_TARGETS), seed=1).save_pretrained(main_like)
    base = resolve_model("tiny-vllm")
    task, processor = get_task("chart"), load_processor(base)
    rows = [dict(row) for row in task.load_dataset("synthetic", "test", None, 3, HELD_OUT_DATASET_SEED)]
    llm = LLM(
        model=base.source, dtype="float32", enforce_eager=True, enable_chunked_prefill=False, enable_lora=True,
        max_lora_rank=8,
    )  # fmt: skip
    stops = stop_tokens(load_model(base))
    merged = merged_greedy(language_only, processor, task, rows)
    assert len(merged) == 3 and all(merged)
    assert served_greedy(llm, language_only, 1, stops, rows, processor, task) == merged
    # The vision tower's part of the adapter is dropped: the answers are another model's.
    vision_reaching = merged_greedy(main_like, processor, task, rows)
    assert served_greedy(llm, main_like, 2, stops, rows, processor, task) != vision_reaching
