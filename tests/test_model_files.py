"""A model, adapter or checkpoint folder is checked before anything loads (rlvr/models/model_files.py): a truncated
safetensors file, a shard its index names but that is missing, or a full model folder without its tokenizer's
vocabulary is refused in one line naming the file; a LoRA adapter whose base is another architecture is refused
naming both, instead of merging into the base unchanged."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from bad_input import assert_refused, write
from lora_adapter import random_lora_adapter

import generate_samples
import main as train_main
from rlvr.errors import UserError
from rlvr.models.checkpoints import load_checkpoint
from rlvr.models.registry import resolve_model
from trainers.config_parser import parse_run_config
from trainers.micro_batch import with_micro_batch


@pytest.fixture
def model_folder(tmp_path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(resolve_model("tiny-text").source, folder)
    return folder


def truncate(path: Path) -> Path:
    os.truncate(path, path.stat().st_size // 2)
    return path


def generate_argv(tmp_path: Path, checkpoint: Path) -> list[str]:
    return ["--checkpoint-path", str(checkpoint), "--task", "countdown", "--output", str(tmp_path / "samples.json")]


def test_a_truncated_weights_file_is_named_before_torch_loads_it(model_folder, tmp_path, capsys):
    weights = truncate(model_folder / "model.safetensors")
    assert_refused(generate_samples.main, generate_argv(tmp_path, model_folder), f"{weights}: truncated", capsys)
    assert not (tmp_path / "samples.json").exists()


def test_a_shard_the_index_names_must_be_there(model_folder, tmp_path, capsys):
    write(model_folder / "model.safetensors.index.json", json.dumps({"weight_map": {"lm_head.weight": "part-2.bin"}}))
    fragment = "names the weights file part-2.bin, which is missing"
    assert_refused(generate_samples.main, generate_argv(tmp_path, model_folder), fragment, capsys)


def test_a_model_folder_without_its_vocabulary_is_refused(model_folder, tmp_path, capsys):
    (model_folder / "tokenizer.json").unlink()
    fragment = f"model folder {model_folder} has no tokenizer files (tokenizer.json"
    assert_refused(generate_samples.main, generate_argv(tmp_path, model_folder), fragment, capsys)


def test_resuming_from_a_checkpoint_with_truncated_weights_is_refused(model_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_main, "run", lambda *args, **kwargs: pytest.fail("got past the checks"))
    run = tmp_path / "run"
    flags = ["--mode", "nsr", "--output-dir", str(run), "--report-to", "none"]
    config = with_micro_batch(parse_run_config(flags), processes=1, is_multimodal=True)
    write(run / "run_config.json", json.dumps({**config.as_dict(), "segments": []}))
    write(run / "checkpoint-2" / "trainer_state.json", json.dumps({"global_step": 2, "log_history": []}))
    weights = truncate(Path(shutil.copy(model_folder / "model.safetensors", run / "checkpoint-2")))
    assert_refused(train_main.main, flags, f"{weights}: truncated", capsys)


def test_an_adapter_on_a_base_of_another_architecture_is_refused_naming_both(tmp_path):
    adapter = tmp_path / "adapter"
    random_lora_adapter("tiny-text", ["q_proj", "v_proj"]).save_pretrained(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "tiny"}))
    expected = f"the LoRA adapter in {adapter} does not fit its base model tiny (Qwen2_5_VLForConditionalGeneration)"
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_checkpoint(str(adapter), torch.device("cpu"))
