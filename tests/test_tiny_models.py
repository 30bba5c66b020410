"""The offline tiny models load through the auto classes, like any hub model, and generate."""

from __future__ import annotations

import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from rlvr.models.registry import resolve_model
from rlvr.models.tiny import QWEN_SPECIAL_TOKENS

IMAGE_PROMPT = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is the value?"}]}]


def test_tiny_vl_model_loads_with_auto_classes_and_generates_for_an_image(tiny_vl_path):
    processor = AutoProcessor.from_pretrained(tiny_vl_path)
    model = AutoModelForImageTextToText.from_pretrained(tiny_vl_path)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert sum(p.numel() for p in model.parameters()) < 2_000_000

    text = processor.apply_chat_template(IMAGE_PROMPT, add_generation_prompt=True)
    inputs = processor(text=[text], images=[Image.new("RGB", (200, 150), "white")], return_tensors="pt")
    image_token_id = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (inputs["input_ids"] == image_token_id).sum() == inputs["image_grid_thw"].prod() // 4
    torch.manual_seed(0)
    output = model.generate(**inputs, max_new_tokens=5, do_sample=True)
    assert output.shape[1] > inputs["input_ids"].shape[1]


def test_tiny_tokenizer_carries_the_qwen_special_tokens_and_chatml(tiny_vl_path):
    tokenizer = AutoProcessor.from_pretrained(tiny_vl_path).tokenizer
    for token in QWEN_SPECIAL_TOKENS:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    rendered = tokenizer.apply_chat_template(IMAGE_PROMPT, add_generation_prompt=True, tokenize=False)
    assert rendered == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>What is the value?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tokenizer.padding_side == "left"


def test_tiny_text_model_loads_and_generates(tiny_text_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_text_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_text_path)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    encoded = tokenizer.apply_chat_template(
        [{"role": "user", "content": "2+3="}], add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    output = model.generate(**encoded, max_new_tokens=4, do_sample=False)
    assert output.shape[1] > encoded["input_ids"].shape[1]


def test_registry_resolves_tiny_names_and_aliases(tiny_vl_path, tiny_text_path):
    assert resolve_model("tiny").is_vision_language
    assert not resolve_model("tiny-text").is_vision_language
    assert resolve_model(str(tiny_vl_path)).is_vision_language
    assert resolve_model(str(tiny_text_path)).is_tiny is False


def test_registry_rejects_a_name_that_is_neither_alias_nor_folder_nor_hub_id():
    import pytest

    from rlvr.errors import UserError

    with pytest.raises(UserError, match="short name"):
        resolve_model("no-such-model")


def test_a_saved_tiny_checkpoint_keeps_the_pixel_budget_it_was_trained_with(tiny_vl_path, tmp_path):
    """A folder saved from ``tiny`` (main.py's output, checkpoint-N) sees pictures at tiny's budget, a few dozen image
    tokens, as in training; any other local folder gets the real models' budget, as a hub model does."""
    import json
    import shutil

    from rlvr.models.registry import REAL_MODEL_PIXELS, load_processor

    tiny_size = load_processor(resolve_model("tiny")).image_processor.size
    saved = shutil.copytree(tiny_vl_path, tmp_path / "sft")
    resolved = resolve_model(str(saved))
    assert resolved.is_tiny and load_processor(resolved).image_processor.size == tiny_size

    config_path = saved / "processor_config.json"
    config = json.loads(config_path.read_text())
    config["image_processor"]["size"] = {"longest_edge": 12845056, "shortest_edge": 3136}  # Qwen2.5-VL's own
    config_path.write_text(json.dumps(config))
    other = resolve_model(str(saved))
    size = load_processor(other).image_processor.size
    assert not other.is_tiny and (size.shortest_edge, size.longest_edge) == (REAL_MODEL_PIXELS, REAL_MODEL_PIXELS)


def test_building_a_tiny_model_prints_nothing_on_standard_error(tmp_path, monkeypatch, capfd):
    """A tiny model is built inside the first command that names it; a refusal of that command is one line on standard
    error, so the build must not add progress bars there."""
    from rlvr.models.registry import resolve_model

    monkeypatch.setenv("RLVR_CACHE", str(tmp_path))
    capfd.readouterr()
    for name in ("tiny-text", "tiny-carry"):
        resolve_model(name)
    assert capfd.readouterr().err.strip() == ""
