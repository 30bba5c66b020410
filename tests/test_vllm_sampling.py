"""The vLLM path of generate_samples.py with a stand-in vllm module (vLLM is not installed here): when it is taken,
what each request asks for, that the samples file has the transformers path's schema, and that a LoRA adapter
folder reaches vLLM merged into a temporary full model folder, removed afterwards, while the samples and progress
files name the adapter folder."""

from __future__ import annotations

import functools
import importlib.machinery
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lora_adapter import random_lora_adapter

import generate_samples
from evaluation import vllm_sampling
from evaluation.progress import ProgressWriter, SamplingSettings, progress_path_for
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


def test_vllm_is_used_only_when_importable_with_a_gpu(fake_vllm, monkeypatch):
    assert vllm_sampling.vllm_usable(has_gpu=True)
    assert not vllm_sampling.vllm_usable(has_gpu=False)
    monkeypatch.delitem(sys.modules, "vllm")
    monkeypatch.setattr(vllm_sampling.importlib.util, "find_spec", lambda name: None)
    assert not vllm_sampling.vllm_usable(has_gpu=True)


def test_engine_vllm_asks_for_vllm_on_any_device_and_transformers_never_takes_it(fake_vllm):
    assert vllm_sampling.uses_vllm("vllm", has_gpu=False)
    assert not vllm_sampling.uses_vllm("transformers", has_gpu=True)
    assert vllm_sampling.uses_vllm("auto", has_gpu=True)
    assert not vllm_sampling.uses_vllm("auto", has_gpu=False)


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
    monkeypatch.setattr("evaluation.vllm_sampling.vllm_usable", lambda has_gpu: True)
    vllm_path = tmp_path / "vllm.json"
    assert generate_samples.main([*FLAGS, "--output-path", str(vllm_path)]) == 0

    ours, theirs = (json.loads(Path(path).read_text()) for path in (vllm_path, transformers_path))
    assert set(ours["metadata"]) == set(theirs["metadata"])
    assert [set(problem) for problem in ours["problems"]] == [set(problem) for problem in theirs["problems"]]
    assert [problem["num_total"] for problem in ours["problems"]] == [3, 3]
    assert ours["problems"][0]["samples"] == ["<answer>0</answer>", "<answer>1</answer>", "<answer>2</answer>"]


# ---------------------------------------------------------------------------------------------------------------
# A LoRA adapter folder


@pytest.fixture
def adapter_folder(tmp_path) -> Path:
    """A LoRA adapter of tiny on attention and MLP projections (the vision tower's MLP among them)."""
    folder = tmp_path / "adapter"
    random_lora_adapter("tiny", ["q_proj", "v_proj", "gate_proj"]).save_pretrained(folder)
    return folder


def adapter_flags(adapter_folder: Path, output: Path) -> list[str]:
    return ["--checkpoint-path", str(adapter_folder), *FLAGS[2:], "--engine", "vllm", "--output-path", str(output)]


@pytest.fixture
def temporary_root(monkeypatch, tmp_path) -> Path:
    """tempfile's folder for this test, so what is left there can be seen."""
    import tempfile

    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@dataclass
class EngineStarts:
    """Stands in for vllm.LLM: records each start's model folder, its files and the weights a load of it gives, as
    they were then."""

    models: list[str] = field(default_factory=list)
    files: list[set[str]] = field(default_factory=list)
    weights: list[dict] = field(default_factory=list)
    engine: FakeLLM = field(default_factory=FakeLLM)

    def __call__(self, model: str, **options) -> FakeLLM:
        import torch

        from rlvr.models.registry import load_model, resolve_model

        self.models.append(model)
        self.files.append({path.name for path in Path(model).iterdir()})
        self.weights.append(load_model(resolve_model(model), torch.float32).state_dict())
        return self.engine


def test_an_adapter_reaches_vllm_merged_into_a_temporary_model_folder(
    fake_vllm, adapter_folder, temporary_root, tmp_path, capsys
):
    import torch

    from rlvr.models.checkpoints import load_checkpoint
    from rlvr.models.registry import load_model, resolve_model

    fake_vllm.LLM = starts = EngineStarts()
    output = tmp_path / "samples.json"
    flags = adapter_flags(adapter_folder, output)
    assert generate_samples.main(flags) == 0

    [model_folder] = starts.models
    assert Path(model_folder).parent == temporary_root and list(temporary_root.iterdir()) == []  # removed
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= starts.files[0]
    merged = load_checkpoint(str(adapter_folder), torch.device("cpu")).model.state_dict()
    base = load_model(resolve_model("tiny"), torch.float32).state_dict()
    [saved] = starts.weights
    assert saved.keys() == merged.keys() and all(torch.equal(saved[name], merged[name]) for name in saved)
    changed = {name for name in saved if not torch.equal(saved[name], base[name])}
    assert any("visual" in name and "gate_proj" in name for name in changed)
    assert any("language_model" in name and "q_proj" in name for name in changed)

    assert "Merged the LoRA adapter" in capsys.readouterr().out
    document = json.loads(output.read_text())
    assert document["metadata"]["checkpoint"] == str(adapter_folder.resolve())  # the adapter, not the merge
    assert [problem["num_total"] for problem in document["problems"]] == [3, 3]


@dataclass
class InterruptedLLM(FakeLLM):
    """Stands in for vllm.LLM: answers its first call, then is interrupted (Ctrl-C) in the second."""

    def generate(self, prompts, params):
        if self.calls:
            raise KeyboardInterrupt
        return super().generate(prompts, params)


def test_an_interrupted_adapter_run_removes_its_merge_and_resumes_under_the_adapter_folder(
    fake_vllm, adapter_folder, temporary_root, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(vllm_sampling, "PROBLEMS_PER_REQUEST_BATCH", 1)  # one problem per call
    output = tmp_path / "samples.json"
    flags = adapter_flags(adapter_folder, output)
    fake_vllm.LLM = lambda **options: InterruptedLLM()
    assert generate_samples.main(flags) == generate_samples.INTERRUPTED_EXIT_CODE
    assert list(temporary_root.iterdir()) == []
    [header, first] = (json.loads(line) for line in progress_path_for(output).read_text().splitlines())
    assert header["settings"]["checkpoint"] == str(adapter_folder.resolve()) and first["problem_id"] == 0

    fake_vllm.LLM = starts = EngineStarts()
    capsys.readouterr()
    assert generate_samples.main(flags) == 0
    assert "Resuming from" in capsys.readouterr().out
    assert [len(prompts) for prompts, _ in starts.engine.calls] == [1]  # only problem 1 was left
    assert [problem["problem_id"] for problem in json.loads(output.read_text())["problems"]] == [0, 1]
    assert list(temporary_root.iterdir()) == []
