"""LoRA the user chooses, on the tiny Qwen2.5-VL: ``--lora-target-modules`` (names, or all-linear) wraps exactly
those modules and adapter_config.json says so; by default the language model's seven projections are wrapped and
nothing of the vision tower (as EasyR1 and VLM-R1 do); ``--freeze-vision-tower`` keeps LoRA out of the vision tower
and, in full fine-tuning, stops its gradients; ``--lora-modules-to-save`` trains modules in full beside the
adapter."""

from __future__ import annotations

import json

import pytest

from rlvr.errors import UserError
from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.lora import DEFAULT_TARGETS
from trainers.rl_run import build_rl_trainer

ONE_STEP = [
    "--model", "tiny", "--task", "chart", "--max-steps", "1", "--report-to", "none", "--subset-size", "2",
    "--num-generations", "2", "--max-completion-length", "4", "--reward-funcs", "accuracy_reward",
]  # fmt: skip


def trainer_for(tmp_path, *flags: str):
    config = parse_run_config([*ONE_STEP, *flags, "--output-dir", str(tmp_path)])
    source = resolve_model(config.model)
    return build_rl_trainer(config, load_model(source), load_processor(source))


def wrapped(trainer) -> list[str]:
    """The modules that hold a LoRA adapter."""
    return sorted({name.rsplit(".lora_A", 1)[0] for name, _ in trainer.model.named_modules() if ".lora_A" in name})


def test_named_modules_are_exactly_the_adapter_and_are_saved(tmp_path):
    trainer = trainer_for(tmp_path, "--lora-target-modules", "q_proj", "v_proj")
    assert wrapped(trainer) and {name.rsplit(".", 1)[1] for name in wrapped(trainer)} == {"q_proj", "v_proj"}
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "adapter_config.json").read_text())
    assert sorted(saved["target_modules"]) == ["q_proj", "v_proj"] and saved["exclude_modules"] is None


def test_the_default_is_the_language_model_and_no_vision_module(tmp_path):
    names = wrapped(trainer_for(tmp_path))
    assert names and all(".visual." not in name for name in names)
    assert {name.rsplit(".", 1)[1] for name in names} == set(DEFAULT_TARGETS)
    assert len(names) == 2 * len(DEFAULT_TARGETS)  # two language-model layers in the tiny model


def test_all_linear_reaches_the_vision_tower_unless_it_is_frozen(tmp_path):
    everything = wrapped(trainer_for(tmp_path / "a", "--lora-target-modules", "all-linear"))
    assert any(".visual." in name for name in everything)
    frozen = wrapped(trainer_for(tmp_path / "b", "--lora-target-modules", "all-linear", "--freeze-vision-tower"))
    assert frozen and not any(".visual." in name for name in frozen)
    assert set(frozen) < set(everything)


def test_full_fine_tuning_with_a_frozen_vision_tower(tmp_path):
    trainer = trainer_for(tmp_path, "--no-lora", "--freeze-vision-tower")
    trainable = {name for name, weight in trainer.model.named_parameters() if weight.requires_grad}
    assert trainable and not any(".visual." in name for name in trainable)
    assert any("language_model" in name for name in trainable)


def test_modules_to_save_are_trained_in_full(tmp_path):
    trainer = trainer_for(tmp_path, "--lora-modules-to-save", "lm_head")
    assert trainer.model.peft_config["default"].modules_to_save == ["lm_head"]
    assert any("lm_head.modules_to_save" in name for name, _ in trainer.model.named_parameters())


def test_bad_lora_choices_are_one_line(tmp_path):
    with pytest.raises(UserError, match="all-linear alone"):
        parse_run_config(["--lora-target-modules", "all-linear", "q_proj"])
    text = ["--model", "tiny-text", "--task", "countdown", "--freeze-vision-tower", "--output-dir", str(tmp_path)]
    config = parse_run_config([*text, "--max-steps", "1", "--report-to", "none", "--subset-size", "2"])
    source = resolve_model(config.model)
    with pytest.raises(UserError, match="--freeze-vision-tower: tiny-text has no vision tower"):
        build_rl_trainer(config, load_model(source), load_processor(source))
