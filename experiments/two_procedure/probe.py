"""What a checkpoint's policy does on the held-out two-procedure problems, measured exactly or from its own samples.

    python -m experiments.two_procedure.probe --reference runs/x/sft --checkpoints runs/x/sft runs/x/psr \
        --output-path probe.json

For each checkpoint, on every held-out problem of the carry task (rlvr/tasks/carry), at temperature 1 (the policy
itself):

- ``p_carries_by_problem``: the exact probability of the first token being the Y tag ``+`` (no sampling);
- ``entropy``: the mean per-token entropy of the next-token distribution along sampled completions (nats);
- ``kl_to_reference``: KL(policy || reference) per completion, the sum over its positions of the exact per-token KL
  along completions sampled from the policy: an unbiased estimate of the sequence-level KL, with less variance than
  the log-ratio of the samples alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from experiments.common.policy_entropy import sample_with_logits
from experiments.common.sequence_kl import policy_and_reference_log_probs, sequence_kl
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output, write_atomically
from rlvr.generation import encode_prompts, tokenizer_of
from rlvr.models.checkpoints import load_checkpoint
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from rlvr.tasks.carry.problems import CARRIES_TAG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description="Strategy mix, entropy and KL to a reference on held-out problems."
    )
    parser.add_argument("--checkpoints", nargs="+", required=True, help="model folders (checkpoint-N or final)")
    parser.add_argument("--reference", required=True, help="the model KL is measured against (the base)")
    parser.add_argument("--samples-per-prompt", type=int, default=16, help="completions per prompt (default 16)")
    parser.add_argument("--max-new-tokens", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed, the same for every checkpoint")
    parser.add_argument("--output-path", type=Path, required=True)
    return parser


@torch.inference_mode()
def probe(model, reference, processor, encoded: dict, samples: int, max_new_tokens: int) -> dict:
    tokenizer = tokenizer_of(processor)
    first = torch.log_softmax(model(**encoded).logits[:, -1].float(), dim=-1)
    p_carries = first[:, tokenizer.convert_tokens_to_ids(CARRIES_TAG)].exp()
    output = sample_with_logits(model, tokenizer, encoded, samples, max_new_tokens)
    log_p, log_q, open_mask = policy_and_reference_log_probs(
        output, reference, encoded, samples, tokenizer.eos_token_id
    )
    kl = sequence_kl(log_p, log_q, open_mask)
    entropy = -(log_p.exp() * log_p).sum(-1)[open_mask]
    return {"p_carries": p_carries.tolist(), "entropy": float(entropy.mean()), "kl": float(kl.mean())}


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.samples_per_prompt, args.max_new_tokens) < 1:
        raise UserError("--samples-per-prompt and --max-new-tokens must be positive")
    # A results file this probe rewrites on each run: locked before anything loads, written whole
    inputs = [*args.checkpoints, args.reference]
    claim = claim_output([args.output_path], "--output-path", inputs=inputs, overwrite=True)
    with claim as (output,):
        task = get_task("carry")
        dataset = task.load_dataset(task.default_dataset, "test", None, None, HELD_OUT_DATASET_SEED)
        rows = [dict(row) for row in dataset]
        reference = load_checkpoint(args.reference, torch.device("cpu"))
        records = []
        for checkpoint in args.checkpoints:
            loaded = load_checkpoint(checkpoint, torch.device("cpu"))
            encoded = encode_prompts(loaded.processor, task, rows, task.default_prompt_style, loaded.model.device)
            torch.manual_seed(args.seed)
            measured = probe(
                loaded.model, reference.model, loaded.processor, encoded, args.samples_per_prompt, args.max_new_tokens
            )
            records.append(
                {
                    "checkpoint": checkpoint,
                    "p_carries_by_problem": dict(
                        zip((row["expression"] for row in rows), measured["p_carries"], strict=True)
                    ),
                    "entropy": measured["entropy"],
                    "kl_to_reference": measured["kl"],
                }
            )
            print(f"{checkpoint}: entropy {measured['entropy']:.4f}, KL to reference {measured['kl']:.4f}", flush=True)
        settings = {key: str(value) for key, value in vars(args).items() if key not in ("checkpoints", "output_path")}
        write_atomically(output, json.dumps({"settings": settings, "checkpoints": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
