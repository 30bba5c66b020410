"""No wasted rows in psr/nsr: a micro-batch carries kept samples only, a dropped sample is forwarded only where
another process needs the micro-step, and TRL's no-gradient pass over every sample is skipped when it is exact and
run on the forwarded rows otherwise. Each change leaves the gradient of the masked computation.

The rollout is test_update_geometry.py's: 16 completions on one process, micro-batches of 4, 2 micro-steps per update.
"""

from __future__ import annotations

import pytest
import torch
from test_update_geometry import (
    ACCUMULATION,
    COMPLETION_LENGTH,
    MICRO_BATCH,
    ROLLOUT,
    compact,
    completion_token_logps,
    gradient,
    kept_rows_of,
    make_trainer,
    rows_of,
    scored_rollout,
    wrong_pattern,
)
from trl import GRPOTrainer

from trainers.rollout import micro_batch_rows, micro_batch_sizes

# Only kept samples are forwarded; padding only where another process needs the micro-step


@pytest.mark.parametrize("num_wrong", [5, 7, 13])
def test_on_one_process_a_micro_batch_carries_only_kept_samples(num_wrong, tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    _, slots = compact(trainer, wrong_pattern(num_wrong))
    forwarded = [row for slot in slots if slot is not None for row in rows_of(slot)]
    assert sorted(forwarded) == (~wrong_pattern(num_wrong)).nonzero().flatten().tolist()
    assert trainer._metrics["train"]["objective/padding_rows"][-1] == 0


def test_every_process_forwards_as_many_rows_as_the_one_with_most_kept_samples_at_each_micro_step():
    # TRL's loss gathers one statistic per row from every process, so the sizes must agree across processes.
    assert micro_batch_sizes([5], batch_size=2) == [2, 2, 1]  # one process: kept rows only
    assert micro_batch_sizes([3, 5], batch_size=2) == [2, 2, 1]
    assert micro_batch_sizes([1, 8], batch_size=2) == [2, 2, 2, 2]
    assert micro_batch_sizes([0, 0], batch_size=2) == []
    order = torch.tensor([5, 9, 2, 7, 1, 0])  # kept rows 5, 9, 2 first, then dropped rows
    rows = micro_batch_rows(order, kept=3, batch_size=2, sizes=[2, 2, 1])
    assert [batch.tolist() for batch in rows] == [[5, 9], [2, 7], [1]]  # each dropped row pads at most once


def pretend_another_process_keeps_one_more(trainer) -> None:
    """The gather of the kept counts in _compact_rollout answers as if a second process kept one sample more."""
    gather = trainer.accelerator.gather
    trainer.accelerator.gather = lambda tensor: torch.cat([gather(tensor), gather(tensor) + 1])


def test_padding_for_another_process_leaves_the_gradient_of_the_kept_samples(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    trainer.current_gradient_accumulation_steps = ACCUMULATION
    correct = wrong_pattern(4)  # one micro-batch of kept samples here; the other process keeps 5, needs two
    rollout = scored_rollout(trainer.model.config.vocab_size)
    scored = trainer.apply_objective(dict(rollout), correct.float().unsqueeze(1))
    pretend_another_process_keeps_one_more(trainer)
    slots = trainer._compact_rollout(scored)
    active = [batch for batch in slots if batch is not None]
    assert [len(rows_of(batch)) for batch in active] == [4, 1]
    assert trainer._metrics["train"]["objective/padding_rows"][-1] == 1
    assert kept_rows_of(active[1]) == []  # the padding row is a dropped sample at zero weight
    ours = gradient(trainer.model, sum(trainer._compute_loss(trainer.model, batch) for batch in active))
    mask = rollout["completion_mask"] * (~correct).unsqueeze(1)
    expected = gradient(trainer.model, (completion_token_logps(trainer.model, rollout) * mask).sum() / mask.sum())
    assert (ours - expected).norm() / expected.norm() < 1e-4


# The rollout policy's log-probabilities: skipped when exact, else computed for the forwarded rows only


def trl_old_logps(trainer, batch: dict) -> torch.Tensor:
    """TRL's own no-gradient pass over ``batch`` (what it computes for every sample while scoring)."""
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention_mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        logps, _, _ = GRPOTrainer._get_per_token_logps_and_entropies(
            trainer, trainer.model, input_ids, attention_mask, COMPLETION_LENGTH, batch_size=MICRO_BATCH
        )
    return logps


def test_scoring_a_compacted_rollout_skips_trls_pass_over_every_sample(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    passes = []
    original = GRPOTrainer._get_per_token_logps_and_entropies

    def counting(self, *args, **kwargs):
        passes.append(args[1].shape[0])
        return original(self, *args, **kwargs)

    GRPOTrainer._get_per_token_logps_and_entropies = counting
    try:
        output = trainer._generate_and_score_completions([{"prompt": [{"role": "user", "content": "2+3="}]}] * ROLLOUT)
    finally:
        GRPOTrainer._get_per_token_logps_and_entropies = original
    assert trainer._trl_needs_old_logps()  # two updates per rollout in TRL's geometry: TRL would have run it
    assert passes == [] and "old_per_token_logps" not in output


def test_one_update_needs_no_old_log_probs_and_the_gradient_is_the_masked_one(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    trainer.current_gradient_accumulation_steps = ACCUMULATION
    trainer._old_logps_deferred = True
    _, slots = compact(trainer, wrong_pattern(6))  # 6 kept: two micro-batches, one update
    active = [batch for batch in slots if batch is not None]
    assert all("old_per_token_logps" not in batch for batch in active)
    ours = gradient(trainer.model, sum(trainer._compute_loss(trainer.model, batch) for batch in active))
    with_trl_values = [{**batch, "old_per_token_logps": trl_old_logps(trainer, batch)} for batch in active]
    expected = gradient(trainer.model, sum(trainer._compute_loss(trainer.model, b) for b in with_trl_values))
    assert (ours - expected).norm() / expected.norm() < 1e-5


def test_several_updates_get_trls_old_log_probs_for_the_kept_rows_only(tiny_text_path, tmp_path):
    trainer = make_trainer("nsr", tiny_text_path, tmp_path)
    trainer._old_logps_deferred = True
    rollout, slots = compact(trainer, wrong_pattern(10))  # 10 kept: three micro-batches, two updates
    everything = trl_old_logps(trainer, rollout)
    for batch in (batch for batch in slots if batch is not None):
        rows = rows_of(batch)
        assert batch["old_per_token_logps"].shape[0] == len(rows) == len(kept_rows_of(batch))
        assert torch.allclose(batch["old_per_token_logps"], everything[rows], atol=1e-5)
