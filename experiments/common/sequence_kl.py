"""KL(policy || reference) along completions sampled from the policy, from exact per-token distributions."""

from __future__ import annotations

import torch


def open_positions(completion_ids: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """True at a completion's positions up to and including its end-of-sequence token."""
    ended = (completion_ids == eos_token_id).long().cumsum(dim=1)
    return torch.cat([torch.ones_like(ended[:, :1]), (ended[:, :-1] == 0).long()], dim=1).bool()


def policy_and_reference_log_probs(output, reference, encoded: dict, samples: int, eos_token_id: int):
    """(log p, log q, open mask): the policy's next-token log-probabilities at every generated step (from
    ``output``, a generate() result with ``output_logits``), the reference's at the same positions, and which
    positions belong to a completion. Shapes (completions, steps, vocab) and (completions, steps)."""
    log_p = torch.log_softmax(torch.stack(output.logits, dim=1).float(), dim=-1)
    prompt_length = encoded["input_ids"].shape[1]
    open_mask = open_positions(output.sequences[:, prompt_length:], eos_token_id)
    attention = torch.cat([encoded["attention_mask"].repeat_interleave(samples, 0), open_mask.long()], dim=1)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    logits = reference(input_ids=output.sequences, attention_mask=attention, position_ids=positions).logits
    steps = log_p.shape[1]
    log_q = torch.log_softmax(logits[:, prompt_length - 1 : prompt_length - 1 + steps].float(), dim=-1)
    return log_p, log_q, open_mask


def sequence_kl(log_p: torch.Tensor, log_q: torch.Tensor, open_mask: torch.Tensor) -> torch.Tensor:
    """Per completion, the sum over its open positions of the exact per-token KL(policy || reference): an unbiased
    estimate of the sequence-level KL, with less variance than the log-ratio of the samples alone."""
    return ((log_p.exp() * (log_p - log_q)).sum(-1) * open_mask).sum(1)
