"""What each checkpoint's policy does on every held-out three-strategy problem: exact tag distribution, samples, KL.

    python -m experiments.three_strategy.measure --reference runs/x/sft-0 --checkpoints runs/x/sft-0 runs/x/psr \
        --output-path measured.json

For each checkpoint, on every held-out problem of the strategies task (rlvr/tasks/strategies), at temperature 1
(the policy itself, no top-k or top-p):

- ``p_tag``: the exact probability of each strategy tag as the first token, and ``tag_entropy``, the exact entropy
  of the first token's distribution over the whole vocabulary (nats): no sampling;
- ``num_correct`` of ``--num-samples`` samples, the tag each sample chose (``tagged``) and how many of those answers
  are the ones its tag's procedure gives (``followed``);
- ``kl_to_reference``: KL(policy || reference) per completion, the sum over its positions of the exact per-token KL
  along ``--kl-samples`` completions per problem sampled from the policy (unbiased for the sequence-level KL).

One process measures all of a run's checkpoints, so the models load once each and nothing is imported twice.
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
from rlvr.files import write_atomically
from rlvr.generation import encode_prompts, tokenizer_of
from rlvr.models.checkpoints import load_checkpoint
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task
from rlvr.tasks.strategies.problems import TAGS, answer_by
from rlvr.tasks.strategies.task import split_completion

PROMPTS_PER_BATCH = 16


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description="Tag distribution, samples and KL to a reference on held-out problems."
    )
    parser.add_argument("--checkpoints", nargs="+", required=True, help="model folders (checkpoint-N or final)")
    parser.add_argument("--reference", required=True, help="the model KL is measured against (the base)")
    parser.add_argument("--num-samples", type=int, default=256, help="samples per problem for Pass@k (default 256)")
    parser.add_argument("--kl-samples", type=int, default=16, help="samples per problem for the KL (default 16)")
    parser.add_argument("--max-new-tokens", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed, the same for every checkpoint")
    parser.add_argument("--output-path", type=Path, required=True)
    return parser


@torch.inference_mode()
def measure_batch(model, reference, processor, rows: list[dict], args: argparse.Namespace) -> list[dict]:
    """The per-problem records of one batch of prompts, each with its mean sequence KL over its KL samples."""
    tokenizer = tokenizer_of(processor)
    encoded = encode_prompts(processor, get_task("strategies"), rows, "plain", model.device)
    first = torch.log_softmax(model(**encoded).logits[:, -1].float(), dim=-1)
    tag_ids = tokenizer.convert_tokens_to_ids(list(TAGS))
    entropy = -(first.exp() * first).sum(-1)
    drawn = sample_with_logits(model, tokenizer, encoded, args.num_samples, args.max_new_tokens)
    prompt_length = encoded["input_ids"].shape[1]
    texts = tokenizer.batch_decode(drawn.sequences[:, prompt_length:], skip_special_tokens=True)
    records = []
    for index, row in enumerate(rows):
        a, b = (int(part) for part in row["expression"].split("+"))
        tagged, followed, correct = dict.fromkeys(TAGS, 0), dict.fromkeys(TAGS, 0), 0
        for text in texts[index * args.num_samples : (index + 1) * args.num_samples]:
            tag, digits = split_completion(text)
            correct += tag is not None and digits == str(a + b)
            if tag is not None:
                tagged[tag] += 1
                followed[tag] += digits == str(answer_by(tag, a, b))
        records.append(
            {
                "expression": row["expression"],
                "carries": bool(row["carries"]),
                "p_tag": {tag: float(first[index, tag_id].exp()) for tag, tag_id in zip(TAGS, tag_ids, strict=True)},
                "tag_entropy": float(entropy[index]),
                "num_correct": correct,
                "tagged": tagged,
                "followed": followed,
            }
        )
    kl_draw = sample_with_logits(model, tokenizer, encoded, args.kl_samples, args.max_new_tokens)
    kl = sequence_kl(
        *policy_and_reference_log_probs(kl_draw, reference, encoded, args.kl_samples, tokenizer.eos_token_id)
    )
    for record, problem_kl in zip(records, kl.view(len(rows), args.kl_samples).mean(1).tolist(), strict=True):
        record["kl_to_reference"] = problem_kl
    return records


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.num_samples, args.kl_samples, args.max_new_tokens) < 1:
        raise UserError("--num-samples, --kl-samples and --max-new-tokens must be positive")
    task = get_task("strategies")
    rows = [dict(row) for row in task.load_dataset(task.default_dataset, "test", None, None, HELD_OUT_DATASET_SEED)]
    torch.set_num_threads(1)
    reference = load_checkpoint(args.reference, torch.device("cpu"))
    measured = []
    for checkpoint in args.checkpoints:
        loaded = load_checkpoint(checkpoint, torch.device("cpu"))
        torch.manual_seed(args.seed)
        problems = []
        for start in range(0, len(rows), PROMPTS_PER_BATCH):
            batch = rows[start : start + PROMPTS_PER_BATCH]
            problems += measure_batch(loaded.model, reference.model, loaded.processor, batch, args)
        kl = sum(problem["kl_to_reference"] for problem in problems) / len(problems)
        measured.append(
            {"checkpoint": checkpoint, "num_samples": args.num_samples, "kl_to_reference": kl, "problems": problems}
        )
        print(f"{checkpoint}: KL to reference {measured[-1]['kl_to_reference']:.4f}", flush=True)
    settings = {key: str(value) for key, value in vars(args).items() if key not in ("checkpoints", "output_path")}
    write_atomically(args.output_path, json.dumps({"settings": settings, "checkpoints": measured}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
