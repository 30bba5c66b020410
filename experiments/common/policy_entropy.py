"""Policy entropy of checkpoints on fixed held-out prompts: the mean per-token entropy of sampled completions.

    python -m experiments.common.policy_entropy --task arithmetic --checkpoints runs/x/checkpoint-40 runs/x \
        --output-path entropy.json

For every checkpoint the same test prompts are sampled with the same seed at temperature 1 (the policy itself, no
top-k or top-p), and at each generated position up to and including the end-of-sequence token the entropy
H = -sum_v p(v) log p(v) of the next-token distribution is taken; the reported value is the mean over all those
positions. TRL's own ``entropy`` metric is not used because it averages over the loss mask, which under PSR and NSR
covers only the kept samples, so it would compare different token sets across objectives.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output, write_atomically
from rlvr.generation import encode_prompts, tokenizer_of
from rlvr.models.checkpoints import load_checkpoint
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description="Mean per-token policy entropy of checkpoints on held-out prompts."
    )
    parser.add_argument("--checkpoints", nargs="+", required=True, help="model folders (checkpoint-N or final)")
    parser.add_argument("--task", default="arithmetic")
    parser.add_argument("--dataset-name", default=None, help="the task's default dataset when omitted")
    parser.add_argument("--num-prompts", type=int, default=64, help="held-out test problems (default 64)")
    parser.add_argument("--samples-per-prompt", type=int, default=8, help="completions per prompt (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed, the same for every checkpoint")
    parser.add_argument("--output-path", type=Path, required=True)
    return parser


def step_of(checkpoint: str) -> int | None:
    """The training step a folder holds: N for ``checkpoint-N``, else the ``global_step`` of its trainer state."""
    match = re.fullmatch(r"checkpoint-(\d+)", Path(checkpoint).name)
    if match:
        return int(match.group(1))
    state = Path(checkpoint) / "trainer_state.json"
    return json.loads(state.read_text())["global_step"] if state.is_file() else None


def sample_with_logits(model, tokenizer, encoded: dict, samples_per_prompt: int, max_new_tokens: int):
    """``samples_per_prompt`` samples per prompt from the policy itself (temperature 1, no top-k or top-p), with the
    raw logits of every step, so that exact entropies and log-probabilities can be taken over them."""
    return model.generate(
        **encoded,
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        num_return_sequences=samples_per_prompt,
        max_new_tokens=max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        return_dict_in_generate=True,
        output_logits=True,
    )


@torch.inference_mode()
def mean_token_entropy(
    model, processor, encoded: dict, samples_per_prompt: int, max_new_tokens: int
) -> tuple[float, int]:
    """(mean entropy in nats over generated positions, number of positions) of one batch of prompts."""
    tokenizer = tokenizer_of(processor)
    output = sample_with_logits(model, tokenizer, encoded, samples_per_prompt, max_new_tokens)
    logits = torch.stack(output.logits, dim=1).float()  # (samples, steps, vocab), before any sampling warper
    log_probs = torch.log_softmax(logits, dim=-1)
    entropy = -(log_probs.exp() * log_probs).sum(dim=-1)
    completion_ids = output.sequences[:, encoded["input_ids"].shape[1] :]
    # A position counts while the sequence is still open: up to and including its end-of-sequence token.
    ended = (completion_ids == tokenizer.eos_token_id).long().cumsum(dim=1)
    still_open = torch.cat([torch.ones_like(ended[:, :1]), (ended[:, :-1] == 0).long()], dim=1).bool()
    return float(entropy[still_open].mean()), int(still_open.sum())


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.num_prompts, args.samples_per_prompt, args.max_new_tokens) < 1:
        raise UserError("--num-prompts, --samples-per-prompt and --max-new-tokens must be positive")
    # A results file this probe rewrites on each run: locked before anything loads, written whole
    claim = claim_output([args.output_path], "--output-path", inputs=args.checkpoints, overwrite=True)
    with claim as (output,):
        task = get_task(args.task)
        rows = [
            dict(row)
            for row in task.load_dataset(
                args.dataset_name or task.default_dataset, "test", None, args.num_prompts, HELD_OUT_DATASET_SEED
            )
        ]
        records = []
        for checkpoint in args.checkpoints:
            loaded = load_checkpoint(checkpoint, torch.device("cpu"))
            encoded = encode_prompts(loaded.processor, task, rows, task.default_prompt_style, loaded.model.device)
            torch.manual_seed(args.seed)
            entropy, positions = mean_token_entropy(
                loaded.model, loaded.processor, encoded, args.samples_per_prompt, args.max_new_tokens
            )
            step = step_of(checkpoint)
            records.append({"checkpoint": checkpoint, "step": step, "entropy": entropy, "positions": positions})
            print(f"{checkpoint}: entropy {entropy:.4f} nats over {positions} positions", flush=True)
        settings = {key: value for key, value in vars(args).items() if key not in ("checkpoints", "output_path")}
        write_atomically(output, json.dumps({"settings": settings, "checkpoints": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
