"""generate_samples.py on a LoRA adapter folder as main.py writes it (LoRA is the training default), through vLLM's
CPU build against the transformers path.

vLLM takes the adapter merged into its base (rlvr/models/checkpoints.py ``full_model_source``), in a temporary model
folder that is removed when sampling ends. Specified here, for a text adapter (tiny-arith after its warm start) and
a vision-language one (tiny-vllm on charts; main.py's LoRA also adapts the vision tower's MLP):

- greedy samples of ``--engine vllm`` equal those of ``--engine transformers`` string for string, with the same
  metadata, which names the adapter folder;
- the adapter changes the samples (the base model's greedy samples differ), so the first point is not met by an
  engine that loads the base alone;
- the temporary model folder is gone afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests_vllm.runs import ARITHMETIC, run_script

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
    """A LoRA adapter of tiny-vllm, trained on the synthetic charts."""
    output = tmp_path_factory.mktemp("chart-adapter") / "run"
    return train_adapter(output, "--model", "tiny-vllm", "--task", "chart", "--subset-size", "16")


def sample(tmp_path: Path, name: str, engine: str, *flags: str) -> tuple[dict, str]:
    """generate_samples.py with ``--engine`` and its own, at first empty, temporary folder: the samples file it wrote
    and its standard output; the temporary folder must be empty again afterwards."""
    output, temporary = tmp_path / f"{name}-{engine}.json", tmp_path / f"{name}-{engine}-tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    result = run_script("generate_samples.py", "--engine", engine, *flags, "--output-path", str(output), env=env)
    assert list(temporary.iterdir()) == [], "a temporary file or folder was left behind"
    return json.loads(output.read_text()), result.stdout


def samples_of(samples_file: dict) -> list[list[str]]:
    return [problem["samples"] for problem in samples_file["problems"]]


def check_adapter_greedy(tmp_path: Path, adapter: Path, base: str, flags: list[str]) -> None:
    adapter_flags = ["--checkpoint-path", str(adapter), *flags]
    ours, printed = sample(tmp_path, "adapter", "vllm", *adapter_flags)
    theirs, _ = sample(tmp_path, "adapter", "transformers", *adapter_flags)
    base_file, _ = sample(tmp_path, "base", "transformers", "--checkpoint-path", base, *flags)

    assert "Merged the LoRA adapter" in printed and "Sampling with vLLM" in printed
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
