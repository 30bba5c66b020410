"""Generation inside ``trainer.train()`` decodes with the KV cache, with the default flags.

Gradient checkpointing is on by default, and a checkpointed layer in training mode drops the cache (transformers
sets ``past_key_values=None`` inside it): every decode step would then attend to its own token only and the rollout
would cost as much as recomputing everything, or worse, sample from the wrong distribution. TRL 1.16 turns
checkpointing off around generation; a PEFT wrapper or the vision-language path could hide that switch. So each
configuration below trains for one step and checks every forward of the rollout's generate call: the prompt first,
then exactly one new token per sequence on top of every token before it. The last test shows the check catches a
model that decodes without the cache.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.generation_probe import GenerationRecorder
from trainers.rl_run import build_rl_trainer

COMPLETION_TOKENS = 5
ONE_STEP = [
    "--max-steps", "1", "--report-to", "none", "--subset-size", "4", "--num-generations", "2",
    "--max-completion-length", str(COMPLETION_TOKENS), "--no-resume",
]  # fmt: skip
CASES = {
    "text, LoRA": ["--model", "tiny-text", "--task", "countdown"],
    "text, full": ["--model", "tiny-text", "--task", "countdown", "--no-lora"],
    "vision-language chart, LoRA": ["--model", "tiny", "--task", "chart", "--reward-funcs", "accuracy_reward"],
    "vision-language chart, full": [
        "--model", "tiny", "--task", "chart", "--reward-funcs", "accuracy_reward", "--no-lora",
    ],
}  # fmt: skip


@pytest.mark.parametrize("flags", CASES.values(), ids=CASES.keys())
def test_training_time_generation_reads_one_new_token_per_sequence_per_step(flags, tmp_path):
    config = parse_run_config([*flags, *ONE_STEP, "--output-dir", str(tmp_path)])
    assert not config.disable_gradient_checkpointing, "the defaults checkpoint the update"
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    recorder = GenerationRecorder(trainer)
    trainer.train()

    base_model = trainer.accelerator.unwrap_model(trainer.model)
    base_model = base_model.get_base_model() if hasattr(base_model, "get_base_model") else base_model
    assert base_model.is_activation_checkpointing, "checkpointing is back on for the update"
    [call] = recorder.calls
    assert call.sequences == 4  # batch 2 x accumulation 2
    assert call.forwards[0].new_tokens > 1  # the prompt
    assert len(call.forwards) <= COMPLETION_TOKENS
    assert len(call.decode_steps) >= 1
    assert call.cache_problems() == []


def test_the_check_catches_decoding_without_the_cache(tiny_text_path):
    """A checkpointed model in training mode, generating as it is: the cache stays empty and the check says so."""

    class Stub:
        def __init__(self, model) -> None:
            self.model = model
            self.accelerator = type("Unwrap", (), {"unwrap_model": staticmethod(lambda model: model)})()

        def _generate_single_turn(self, prompt_ids):
            with torch.no_grad():
                output = self.model.generate(torch.tensor(prompt_ids), max_new_tokens=4, do_sample=False)
                return output.tolist(), None

    model = AutoModelForCausalLM.from_pretrained(tiny_text_path, dtype=torch.float32)
    model.activation_checkpointing_enable()
    model.train()
    stub = Stub(model)
    recorder = GenerationRecorder(stub)
    prompt = AutoTokenizer.from_pretrained(tiny_text_path)("the chart shows")["input_ids"]
    stub._generate_single_turn([prompt, prompt])

    [call] = recorder.calls
    assert [step.new_tokens for step in call.decode_steps] == [1, 1, 1]
    assert "decode forward 1 found 0 cached tokens" in call.cache_problems()[0]
