"""Rollouts leave the model as they found it: one input-gradient hook, and a compiled decode step compiled once.

TRL switches gradient checkpointing off around every generate call and on again afterwards; in transformers 5.23
each switch-on registers one more forward hook on the input embeddings and nothing removes the old ones
(trainers/input_grad_hooks.py). Through main.py's own training path (trainers/rl_run.py), the number of hooks after
rollout 4 must equal the number after rollout 1: text and vision-language, LoRA and full fine-tuning. ZeRO-3 is
checked by the GPU benchmark's dry run (tests/test_bench_gpu.py). With ``--compile-generation`` the decode step is
compiled in the first rollout and never again, with the benchmark's recorder attached, whose timing stays outside
the compiled region.
"""

from __future__ import annotations

import pytest
import torch
from transformers import TrainerCallback

from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.generation_probe import GenerationRecorder
from trainers.input_grad_hooks import input_grad_hook_count
from trainers.rl_run import build_rl_trainer

ROLLOUTS = 4
# One optimizer update per rollout (2 prompts x 2 completions, update of 2 prompts), so a step is a rollout.
FOUR_ROLLOUTS = [
    "--max-steps", str(ROLLOUTS), "--report-to", "none", "--subset-size", "8", "--num-generations", "2",
    "--rollout-prompts", "2", "--update-prompts", "2", "--max-completion-length", "4", "--no-resume",
]  # fmt: skip
MODELS = {
    "text": ["--model", "tiny-text", "--task", "countdown"],
    "vision-language": ["--model", "tiny", "--task", "chart", "--reward-funcs", "accuracy_reward"],
}


class AfterEachRollout(TrainerCallback):
    """The input-gradient hooks and dynamo's compiled graphs after every optimizer step (here: every rollout)."""

    def __init__(self, model) -> None:
        self.model = model
        self.hooks: list[int] = []
        self.graphs: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.hooks.append(input_grad_hook_count(self.model))
        self.graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def train_four_rollouts(flags: list[str], output_dir) -> tuple[AfterEachRollout, GenerationRecorder]:
    config = parse_run_config([*flags, *FOUR_ROLLOUTS, "--output-dir", str(output_dir)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    after = AfterEachRollout(trainer.accelerator.unwrap_model(trainer.model))
    trainer.add_callback(after)
    recorder = GenerationRecorder(trainer)
    trainer.train()
    return after, recorder


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
@pytest.mark.parametrize("flags", MODELS.values(), ids=MODELS.keys())
def test_the_input_gradient_hooks_stay_flat_over_rollouts(flags, lora, tmp_path):
    after, recorder = train_four_rollouts([*flags, *([] if lora else ["--no-lora"])], tmp_path)
    assert len(recorder.calls) == ROLLOUTS
    assert len(after.hooks) == ROLLOUTS
    assert after.hooks[0] >= 1, "gradient checkpointing is on by default, so the embeddings carry the hook"
    assert after.hooks == [after.hooks[0]] * ROLLOUTS


@pytest.mark.slow
def test_compiled_generation_compiles_in_the_first_rollout_only(tmp_path):
    """torch.compile of the decode step takes about a minute on the CPU: marked slow (make test runs it)."""
    after, recorder = train_four_rollouts([*MODELS["text"], "--compile-generation"], tmp_path)
    assert after.graphs[0] >= 1, "the first rollout compiled the decode step"
    assert after.graphs == [after.graphs[0]] * ROLLOUTS, "a later rollout compiled again"
    assert after.hooks == [after.hooks[0]] * ROLLOUTS
    for call in recorder.calls:  # the recorder saw every compiled decode step, each on the KV cache
        assert len(call.decode_steps) == 3 and call.cache_problems() == []
