"""The vLLM path of generate_samples.py with a stand-in vllm module (vLLM is not installed here): when it is taken,
what each request asks for, and that the samples file has the transformers path's schema."""

from __future__ import annotations

import functools
import importlib.machinery
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import generate_samples
from evaluation import vllm_sampling
from evaluation.progress import ProgressWriter, SamplingSettings
from rlvr.errors import UserError
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task

CHART = get_task("chart")
FLAGS = ["--checkpoint-path", "tiny", "--num-samples", "3", "--max-new-tokens", "6", "--max-problems", "2"]


@dataclass
class Params:
    """Stands in for vllm.SamplingParams: keeps what it was given."""

    n: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int


@functools.cache
def tiny_tokenizer():
    from rlvr.generation import tokenizer_of
    from rlvr.models.registry import load_processor, resolve_model

    return tokenizer_of(load_processor(resolve_model("tiny")))


def completion(text: str) -> types.SimpleNamespace:
    """Stands in for vllm's CompletionOutput: the token ids of ``text`` (which the vLLM path decodes), and no
    ``text`` attribute, so a path that read it instead would fail here."""
    return types.SimpleNamespace(token_ids=tiny_tokenizer().encode(text, add_special_tokens=False))


@dataclass
class FakeLLM:
    """Stands in for vllm.LLM: answers every request with n numbered completions, and records the calls."""

    calls: list = field(default_factory=list)

    def generate(self, prompts, params):
        self.calls.append((prompts, params))
        return [
            types.SimpleNamespace(outputs=[completion(f"<answer>{i}</answer>") for i in range(p.n)]) for p in params
        ]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.SamplingParams = Params
    module.LLM = lambda **options: FakeLLM()
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_vllm_is_used_only_when_importable_with_a_gpu_and_a_full_model(fake_vllm, monkeypatch, tmp_path):
    assert vllm_sampling.vllm_usable("some/model", has_gpu=True)
    assert not vllm_sampling.vllm_usable("some/model", has_gpu=False)
    (tmp_path / "adapter_config.json").write_text("{}")
    assert not vllm_sampling.vllm_usable(str(tmp_path), has_gpu=True)
    monkeypatch.delitem(sys.modules, "vllm")
    monkeypatch.setattr(vllm_sampling.importlib.util, "find_spec", lambda name: None)
    assert not vllm_sampling.vllm_usable("some/model", has_gpu=True)


def test_engine_vllm_asks_for_vllm_on_any_device_and_transformers_never_takes_it(fake_vllm, tmp_path):
    assert vllm_sampling.uses_vllm("vllm", "some/model", has_gpu=False)
    assert not vllm_sampling.uses_vllm("transformers", "some/model", has_gpu=True)
    assert vllm_sampling.uses_vllm("auto", "some/model", has_gpu=True)
    assert not vllm_sampling.uses_vllm("auto", "some/model", has_gpu=False)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(UserError, match="LoRA adapter folder; merge it first"):
        vllm_sampling.uses_vllm("vllm", str(tmp_path), has_gpu=True)


def test_engine_vllm_without_vllm_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(vllm_sampling.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as stopped:
        generate_samples.main([*FLAGS, "--engine", "vllm", "--output-path", str(tmp_path / "samples.json")])
    assert stopped.value.code == 2
    assert "error: --engine vllm: vLLM is not installed in this environment" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # stopped before any file was opened


def test_one_request_of_n_samples_per_problem_seeded_by_its_index(fake_vllm, tmp_path):
    from rlvr.models.registry import load_processor, resolve_model

    processor = load_processor(resolve_model("tiny"))
    dataset = CHART.load_dataset("synthetic", "test", None, 3, HELD_OUT_DATASET_SEED)
    settings = SamplingSettings(
        checkpoint="tiny", task="chart", dataset="synthetic", dataset_path=None, split="test", max_problems=3,
        prompt_style=CHART.default_prompt_style, num_samples=4, temperature=0.6, top_p=0.9, max_new_tokens=7,
        seed=100, reward_threshold=0.5,
    )  # fmt: skip
    llm, done = FakeLLM(), {}
    with ProgressWriter(tmp_path / "progress.jsonl", settings, None) as progress:
        vllm_sampling.sample_problems_vllm(llm, processor, CHART, dataset, [0, 2], settings, progress, done)

    [(prompts, params)] = llm.calls
    assert [p.seed for p in params] == [100, 102]
    assert all((p.n, p.temperature, p.top_p, p.max_tokens) == (4, 0.6, 0.9, 7) for p in params)
    assert prompts[1]["multi_modal_data"]["image"] is not None
    assert dataset[2]["query"] in prompts[1]["prompt"] and prompts[1]["prompt"].rstrip().endswith("assistant")
    assert sorted(done) == [0, 2] and done[2]["samples"] == [f"<answer>{i}</answer>" for i in range(4)]
    assert (tmp_path / "progress.jsonl").read_text().count("\n") == 3  # header and two problems


def test_the_vllm_path_writes_the_schema_of_the_transformers_path(fake_vllm, monkeypatch, tmp_path):
    transformers_path = tmp_path / "transformers.json"
    assert generate_samples.main([*FLAGS, "--output-path", str(transformers_path)]) == 0
    monkeypatch.setattr("evaluation.vllm_sampling.vllm_usable", lambda source, has_gpu: True)
    vllm_path = tmp_path / "vllm.json"
    assert generate_samples.main([*FLAGS, "--output-path", str(vllm_path)]) == 0

    ours, theirs = (json.loads(Path(path).read_text()) for path in (vllm_path, transformers_path))
    assert set(ours["metadata"]) == set(theirs["metadata"])
    assert [set(problem) for problem in ours["problems"]] == [set(problem) for problem in theirs["problems"]]
    assert [problem["num_total"] for problem in ours["problems"]] == [3, 3]
    assert ours["problems"][0]["samples"] == ["<answer>0</answer>", "<answer>1</answer>", "<answer>2</answer>"]
