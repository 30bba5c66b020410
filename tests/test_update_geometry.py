"""The paper's update geometry: dropped samples leave the rollout, and updates follow what is kept.

A rollout here has 16 completions (4 prompts x 4 samples) on one process, in micro-batches of 4, with 2 micro-steps
per optimizer update: 4 micro-steps, 2 update slots of 8 completions. The official code makes
ceil(kept / update size) updates per rollout; so must we, and a slot with nothing kept must change nothing.
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig

from rlvr.errors import UserError
from trainers.builders import objective_config
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer
from trainers.geometry import batch_geometry
from trainers.rollout import active_slot_layout, updates_for

ROLLOUT, MICRO_BATCH, ACCUMULATION, STEPS_PER_ROLLOUT = 16, 4, 2, 4
PROMPT_LENGTH, COMPLETION_LENGTH = 5, 6


def accuracy_reward(completions, **kwargs):
    """Stand-in verifiable reward; tests that call the trainer directly feed the reward matrix themselves."""
    return [0.0 for _ in completions]


def make_trainer(mode, model_path, output_dir, reward=accuracy_reward, **config_overrides) -> DecomposedGRPOTrainer:
    torch.manual_seed(0)
    settings = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": MICRO_BATCH,
        "gradient_accumulation_steps": ACCUMULATION,
        "steps_per_generation": STEPS_PER_ROLLOUT,
        "num_generations": 4,
        "max_completion_length": COMPLETION_LENGTH,
        "report_to": [],
        "bf16": False,
        "use_cpu": True,
        "activation_checkpointing": False,
        "logging_steps": 1,
        "save_strategy": "no",
        **config_overrides,
    }
    run = RunConfig(mode=mode, fixed_updates_per_rollout=settings.pop("fixed_updates_per_rollout", False))
    trainer = DecomposedGRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32),
        reward_funcs=[reward],
        args=GRPOConfig(**settings),
        train_dataset=Dataset.from_list([{"prompt": [{"role": "user", "content": "2+3="}]}] * 8),
        processing_class=AutoTokenizer.from_pretrained(model_path, padding_side="left"),
        objective=objective_config(run, reward.__name__),
    )
    trainer.model.train()
    return trainer


def scored_rollout(vocab_size: int) -> dict:
    """A scored rollout as TRL returns it; row i's first prompt token is 20 + i, so rows can be found again."""
    generator = torch.Generator().manual_seed(1)
    prompt_ids = torch.randint(40, vocab_size, (ROLLOUT, PROMPT_LENGTH), generator=generator)
    prompt_ids[:, 0] = 20 + torch.arange(ROLLOUT)
    completion_ids = torch.randint(40, vocab_size, (ROLLOUT, COMPLETION_LENGTH), generator=generator)
    completion_mask = torch.ones(ROLLOUT, COMPLETION_LENGTH, dtype=torch.long)
    completion_mask[1::3, 4:] = 0  # completions of different lengths
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": torch.ones(ROLLOUT, PROMPT_LENGTH, dtype=torch.long),
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": torch.zeros(ROLLOUT),
        "num_items_in_batch": completion_mask.sum(),
    }


def compact(trainer, correct: torch.Tensor) -> tuple[dict, list]:
    rollout = scored_rollout(trainer.model.config.vocab_size)
    scored = trainer.apply_objective(dict(rollout), correct.float().unsqueeze(1))
    return rollout, trainer._compact_rollout(scored)


def rows_of(micro_batch: dict) -> list[int]:
    return (micro_batch["prompt_ids"][:, 0] - 20).tolist()


def kept_rows_of(micro_batch: dict) -> list[int]:
    """The rollout rows a micro-batch trains on (the others are zero-weight padding)."""
    return [row for row, kept in zip(rows_of(micro_batch), micro_batch["tool_mask"][:, 0], strict=True) if kept]


def completion_token_logps(model, batch: dict) -> torch.Tensor:
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, -COMPLETION_LENGTH - 1 : -1]
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)


def gradient(model, loss: torch.Tensor) -> torch.Tensor:
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten().clone() for p in model.parameters() if p.grad is not None])


def wrong_pattern(num_wrong: int) -> torch.Tensor:
    """Correctness of the 16 samples with ``num_wrong`` wrong ones spread over the rollout."""
    correct = torch.ones(ROLLOUT, dtype=torch.bool)
    correct[torch.randperm(ROLLOUT, generator=torch.Generator().manual_seed(num_wrong))[:num_wrong]] = False
    return correct


# The layout of a rollout


def test_full_slots_come_first_and_a_partial_slot_runs_its_last_micro_steps():
    # The last micro-step of a slot is where gradients synchronise and the optimizer steps, so it must run.
    assert active_slot_layout(0, 8, 4) == [False] * 8
    assert active_slot_layout(1, 8, 4) == [False, False, False, True, False, False, False, False]
    assert active_slot_layout(4, 8, 4) == [True] * 4 + [False] * 4
    assert active_slot_layout(6, 8, 4) == [True] * 4 + [False, False, True, True]
    assert active_slot_layout(8, 8, 4) == [True] * 8


@pytest.mark.parametrize(("kept_fraction", "updates"), [(0, 0), (1 / 8, 1), (1 / 2, 2), (1, 4)])
def test_updates_per_rollout_follow_the_kept_count_as_in_the_official_code(kept_fraction, updates):
    # The paper's rollout: 1,024 prompts x 8 samples, updates of 256 prompts x 8 = 2,048 samples.
    kept = int(8192 * kept_fraction)
    assert updates_for(-(-kept // 32), accumulation_steps=2048 // 32) == updates == -(-kept // 2048)


@pytest.mark.parametrize(("num_wrong", "updates"), [(0, 0), (2, 1), (8, 1), (10, 2), (16, 2)])
def test_nsr_takes_as_many_updates_as_its_wrong_samples_fill(num_wrong, updates, tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    _, slots = compact(trainer, wrong_pattern(num_wrong))
    assert trainer._metrics["train"]["objective/updates"][-1] == updates
    assert trainer._metrics["train"]["objective/empty_batch_frac"][-1] == (2 - updates) / 2
    active = [slot for slot in slots if slot is not None]
    assert len(active) == -(-num_wrong // MICRO_BATCH)
    kept_rows = [row for slot in active for row in kept_rows_of(slot)]
    assert sorted(kept_rows) == (~wrong_pattern(num_wrong)).nonzero().flatten().tolist()  # each wrong sample once


def test_fixed_updates_per_rollout_keeps_every_slot(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path, fixed_updates_per_rollout=True)
    assert not trainer.compacts_rollouts
    assert make_trainer("nsr", tiny_text_path, tmp_path).compacts_rollouts
    assert not make_trainer("grpo", tiny_text_path, tmp_path).compacts_rollouts


# The gradient of a compacted rollout


@pytest.mark.parametrize("num_wrong", [6, 10])
def test_each_update_is_the_token_mean_over_its_own_kept_samples(num_wrong, tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    trainer.current_gradient_accumulation_steps = ACCUMULATION
    model = trainer.model
    rollout, slots = compact(trainer, wrong_pattern(num_wrong))
    for slot_index in range(len(slots) // ACCUMULATION):
        micro_batches = [b for b in slots[slot_index * ACCUMULATION : (slot_index + 1) * ACCUMULATION] if b]
        if not micro_batches:
            continue
        ours = gradient(model, sum(trainer._compute_loss(model, batch) for batch in micro_batches))
        # The masked computation on the whole, uncompacted rollout, keeping only this slot's wrong samples.
        slot_rows = [row for batch in micro_batches for row in kept_rows_of(batch)]
        mask = torch.zeros_like(rollout["completion_mask"])
        mask[slot_rows] = rollout["completion_mask"][slot_rows]
        masked = (completion_token_logps(model, rollout) * mask).sum() / mask.sum()  # NSR: minimise log-prob
        expected = gradient(model, masked)
        assert (ours - expected).norm() / expected.norm() < 1e-4


def test_the_entropy_bonus_acts_on_kept_tokens_only(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path, entropy_coef=0.5)
    trainer.current_gradient_accumulation_steps = ACCUMULATION
    correct = wrong_pattern(6)
    rollout = scored_rollout(trainer.model.config.vocab_size)
    changed = {key: value.clone() for key, value in rollout.items()}
    changed["completion_ids"][correct] = torch.flip(changed["completion_ids"][correct], dims=[1])  # dropped rows

    def loss_gradient(batch):
        inputs = trainer.apply_objective(dict(batch), correct.float().unsqueeze(1))
        inputs["num_items_in_batch"] = inputs["num_items_in_batch"] * STEPS_PER_ROLLOUT / ACCUMULATION
        return gradient(trainer.model, trainer._compute_loss(trainer.model, inputs))

    assert torch.allclose(loss_gradient(rollout), loss_gradient(changed), atol=1e-7)
    without_bonus = make_trainer("nsr", tiny_text_path, tmp_path)
    without_bonus.current_gradient_accumulation_steps = ACCUMULATION
    inputs = without_bonus.apply_objective(dict(rollout), correct.float().unsqueeze(1))
    inputs["num_items_in_batch"] = inputs["num_items_in_batch"] * STEPS_PER_ROLLOUT / ACCUMULATION
    plain = gradient(without_bonus.model, without_bonus._compute_loss(without_bonus.model, inputs))
    assert not torch.allclose(loss_gradient(rollout), plain)  # the bonus is there, on the kept tokens


# An empty rollout changes nothing


def logged(trainer, key: str) -> list[float]:
    return [entry[key] for entry in trainer.state.log_history if key in entry]


class Snapshot(TrainerCallback):
    """The weights, the Adam moments and the learning-rate schedule after each optimizer step."""

    def __init__(self) -> None:
        self.after_step: dict[int, dict] = {}

    def on_step_end(self, args, state, control, model=None, optimizer=None, lr_scheduler=None, **kwargs):
        moments = {
            name: value.clone()
            for index, per_param in optimizer.state.items()
            for name, value in ((f"{id(index)}-{key}", v) for key, v in per_param.items())
            if isinstance(value, torch.Tensor)
        }
        weights = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
        self.after_step[state.global_step] = {
            "weights": weights,
            "moments": moments,
            "scheduler_steps": lr_scheduler.state_dict()["_step_count"],
        }


def test_an_empty_rollout_leaves_weights_adam_moments_and_schedule_unchanged(tiny_text_path, tmp_path):
    rollouts_seen = []

    def accuracy_reward(completions, **kwargs):
        # First rollout: every sample wrong (NSR keeps all); second rollout: every sample right (NSR keeps none).
        rollouts_seen.append(len(completions))
        return [0.0 if len(rollouts_seen) == 1 else 1.0 for _ in completions]

    trainer = make_trainer(
        "nsr", tiny_text_path, tmp_path, reward=accuracy_reward, max_steps=4, learning_rate=1e-2, weight_decay=0.1
    )
    snapshot = Snapshot()
    trainer.add_callback(snapshot)
    trainer.train()
    assert len(rollouts_seen) == 2
    first, last = snapshot.after_step[2], snapshot.after_step[4]  # after rollout 1 (2 updates), after rollout 2
    assert snapshot.after_step[1]["scheduler_steps"] < first["scheduler_steps"] == last["scheduler_steps"]
    assert first["moments"] and all(torch.equal(first["moments"][k], last["moments"][k]) for k in first["moments"])
    assert all(torch.equal(first["weights"][k], last["weights"][k]) for k in first["weights"])
    assert logged(trainer, "objective/updates") == [2.0, 0.0]


def test_a_psr_rollout_with_one_correct_sample_takes_one_update(tiny_text_path, tmp_path):
    def accuracy_reward(completions, **kwargs):
        return [1.0] + [0.0] * (len(completions) - 1)

    trainer = make_trainer("psr", tiny_text_path, tmp_path, reward=accuracy_reward, max_steps=2)
    snapshot = Snapshot()
    trainer.add_callback(snapshot)
    trainer.train()
    assert logged(trainer, "objective/updates") == [1.0]
    after_update, after_empty_slot = snapshot.after_step[1], snapshot.after_step[2]
    assert all(
        torch.equal(after_update["weights"][k], after_empty_slot["weights"][k]) for k in after_update["weights"]
    )
    assert after_update["scheduler_steps"] == after_empty_slot["scheduler_steps"]


# Deriving the geometry from the paper's words


@pytest.mark.parametrize("processes", [1, 2, 4, 8])
def test_rollout_and_update_prompts_derive_the_trl_knobs(processes):
    config = RunConfig(mode="nsr", rollout_prompts=1024, update_prompts=256, num_generations=8, batch_size=8)
    geometry = batch_geometry(config, processes)
    assert geometry.completions_per_rollout == 8192 and geometry.completions_per_update == 2048
    assert geometry.update_slots_per_rollout == 4
    assert geometry.accumulation_steps == 2048 // (8 * processes)


@pytest.mark.parametrize(
    ("overrides", "processes", "message"),
    [
        ({"update_prompts": 3, "rollout_prompts": 6, "num_generations": 2}, 4, "do not split evenly over 4"),
        ({"update_prompts": 4, "rollout_prompts": 8, "num_generations": 2, "batch_size": 3}, 1, "multiple of"),
        ({"steps_per_generation": 3, "gradient_accumulation_steps": 2}, 1, "whole number of updates"),
        ({"num_generations": 3}, 1, "not a multiple of --num-generations"),
    ],
)
def test_a_geometry_that_cannot_divide_is_one_line(overrides, processes, message):
    with pytest.raises(UserError, match=message):
        batch_geometry(RunConfig(mode="nsr", **overrides), processes)


def test_rollout_prompts_must_hold_whole_updates():
    with pytest.raises(UserError, match="multiple of --update-prompts"):
        RunConfig(rollout_prompts=10, update_prompts=4)
    with pytest.raises(UserError, match="go together"):
        RunConfig(rollout_prompts=8)


# vLLM rollouts: the options reach TRL's config (vLLM itself needs a GPU machine)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.3, "vllm_tensor_parallel_size": 1}),
        (["--vllm-gpu-memory-utilization", "0.5", "--vllm-tensor-parallel-size", "2"], {
            "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.5, "vllm_tensor_parallel_size": 2,
        }),
        (["--vllm-mode", "server", "--vllm-server-base-url", "http://127.0.0.1:8000"], {
            "vllm_mode": "server", "vllm_server_base_url": "http://127.0.0.1:8000",
        }),
    ],
)  # fmt: skip
def test_vllm_options_reach_trl(flags, expected, tmp_path):
    from trainers.config_parser import parse_run_config
    from trainers.setup import build_grpo_config

    config = parse_run_config(["--mode", "nsr", "--use-vllm", *flags, "--output-dir", str(tmp_path)])
    grpo_config = build_grpo_config(config, batch_geometry(config, 1), "run", [])
    assert grpo_config.use_vllm is True
    assert grpo_config.vllm_importance_sampling_correction is False  # the official code has no such correction
    assert {name: getattr(grpo_config, name) for name in expected} == expected


def test_a_bad_vllm_option_is_one_line():
    from trainers.config_parser import parse_run_config

    with pytest.raises(UserError, match="--vllm-gpu-memory-utilization must be a finite number in"):
        parse_run_config(["--vllm-gpu-memory-utilization", "1.5"])
    with pytest.raises(UserError, match="invalid choice: 'remote'"):
        parse_run_config(["--vllm-mode", "remote"])
