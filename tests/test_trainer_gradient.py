"""The gradient our trainer computes equals the hand-computed gradient of each objective.

On a fixed batch with known correct and wrong samples:
- NSR's loss is the mean log-probability of the wrong samples' tokens (minimising it pushes them down);
- PSR's loss is minus the mean log-probability of the correct samples' tokens;
- W-REINFORCE's loss is -(lambda * sum over correct tokens - sum over wrong tokens) / all tokens.
Dropped samples contribute nothing, and the token mean runs over kept tokens only.
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig

from trainers.builders import objective_config
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer

CORRECT = torch.tensor([True, False, False, True])
LAMBDA = 0.1


def accuracy_reward(completions, **kwargs):
    """Stand-in verifiable reward; the tests feed the reward matrix directly."""
    return [0.0 for _ in completions]


def make_trainer(mode: str, model_path, output_dir) -> DecomposedGRPOTrainer:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    config = GRPOConfig(
        output_dir=str(output_dir),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        num_generations=4,
        max_completion_length=6,
        temperature=1.0,
        report_to=[],
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
    )
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": "2+3="}]}] * 4)
    trainer = DecomposedGRPOTrainer(
        model=model,
        reward_funcs=[accuracy_reward],
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        objective=objective_config(RunConfig(mode=mode, lambda_psr=LAMBDA), "accuracy_reward"),
    )
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.train()
    return trainer


def fixed_batch(vocab_size: int) -> dict:
    generator = torch.Generator().manual_seed(1)
    prompt_ids = torch.randint(20, vocab_size, (4, 5), generator=generator)
    completion_ids = torch.randint(20, vocab_size, (4, 6), generator=generator)
    completion_mask = torch.ones(4, 6, dtype=torch.long)
    completion_mask[1, 4:] = 0  # completions of different lengths
    completion_mask[3, 2:] = 0
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": torch.ones(4, 5, dtype=torch.long),
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": torch.zeros(4),  # TRL's own values; the objective replaces them
        "num_items_in_batch": completion_mask.sum(),
    }


def completion_token_logps(model, batch: dict) -> torch.Tensor:
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, -7:-1]
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)


def hand_loss(mode: str, logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    per_sample = (logps * mask).sum(dim=1)
    tokens = mask.sum(dim=1).float()
    correct, wrong = CORRECT, ~CORRECT
    if mode == "nsr":
        return per_sample[wrong].sum() / tokens[wrong].sum()
    if mode == "psr":
        return -per_sample[correct].sum() / tokens[correct].sum()
    return -(LAMBDA * per_sample[correct].sum() - per_sample[wrong].sum()) / tokens.sum()


def gradients(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("mode", ["nsr", "psr", "w-reinforce"])
def test_trainer_gradient_equals_hand_computed_gradient(mode, tiny_text_path, tmp_path):
    trainer = make_trainer(mode, tiny_text_path, tmp_path)
    model = trainer.model
    batch = fixed_batch(model.config.vocab_size)
    rewards_per_func = CORRECT.float().unsqueeze(1)

    inputs = trainer.apply_objective(dict(batch), rewards_per_func)
    model.zero_grad()
    trainer._compute_loss(model, inputs).backward()
    ours = gradients(model).clone()

    model.zero_grad()
    hand_loss(mode, completion_token_logps(model, batch), batch["completion_mask"]).backward()
    expected = gradients(model)

    relative_error = (ours - expected).norm() / expected.norm()
    assert relative_error < 1e-4, f"{mode}: relative gradient error {relative_error:.2e}"


def test_nsr_does_not_shrink_when_few_samples_are_wrong(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    batch = fixed_batch(trainer.model.config.vocab_size)
    one_wrong = torch.tensor([[1.0], [0.0], [1.0], [1.0]])
    inputs = trainer.apply_objective(dict(batch), one_wrong)
    assert inputs["num_items_in_batch"].item() == batch["completion_mask"][1].sum().item()
    assert inputs["tool_mask"][:, 0].tolist() == [0, 1, 0, 0]


def test_batch_with_nothing_to_learn_gives_zero_loss_and_a_counted_metric(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    batch = fixed_batch(trainer.model.config.vocab_size)
    inputs = trainer.apply_objective(dict(batch), torch.ones(4, 1))  # every sample correct
    loss = trainer._compute_loss(trainer.model, inputs)
    assert loss.item() == 0.0
    assert torch.isfinite(loss)
    assert trainer._compact_rollout(inputs) == [None]  # the rollout's one update slot does nothing
    assert trainer._metrics["train"]["objective/empty_batch_frac"][-1] == 1.0
    assert trainer._metrics["train"]["objective/updates"][-1] == 0
    assert trainer.empty_update_slots == 1


def test_grpo_mode_keeps_trl_advantages(tiny_text_path, tmp_path):
    trainer = make_trainer("grpo", tiny_text_path, tmp_path)
    batch = fixed_batch(trainer.model.config.vocab_size)
    batch["advantages"] = torch.tensor([1.5, -0.5, -0.5, -0.5])
    inputs = trainer.apply_objective(dict(batch), CORRECT.float().unsqueeze(1))
    assert inputs["advantages"].tolist() == [1.5, -0.5, -0.5, -0.5]
    assert "tool_mask" not in inputs


def test_decomposed_modes_refuse_a_sequence_mean_loss(tiny_text_path, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny_text_path)
    config = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        loss_type="grpo",
        report_to=[],
        bf16=False,
        use_cpu=True,
    )
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": "x"}]}] * 4)
    with pytest.raises(ValueError, match="token-mean loss"):
        DecomposedGRPOTrainer(
            model=model,
            reward_funcs=[accuracy_reward],
            args=config,
            train_dataset=dataset,
            processing_class=AutoTokenizer.from_pretrained(tiny_text_path),
            objective=objective_config(RunConfig(mode="nsr"), "accuracy_reward"),
        )
