"""The first-order (expected-gradient) direction of the rare strategy's probability at a base, before any RL step.

    python -m experiments.three_strategy.first_order --model runs/x/sft-0 --output-path first_order.json

In expectation PSR, NSR, W-REINFORCE and GRPO before its std scaling all follow the gradient of the expected reward
on the training mix (docs/objectives.md, "One identity"). With answers following their tag's procedure (gate (b)),
that reward is J = E_problem[sum over tags of pi(tag | problem) * 1(the tag's procedure is right)], computed here
exactly from the first token's distribution, with problems weighted as the training mix draws them (10% carry).
Printed, for the mean P(Y) on held-out carry problems (and on the others, and for P(W)):

- ``sgd``: its rate of change along g = grad J (plain gradient ascent), and the same for J itself;
- ``adam_first_step``: its rate of change along sign(g), the direction of Adam's first update.

A positive number says the expected gradient raises the quantity. This is the prediction of a linearisation at the
base, not of hundreds of updates: the report reads the runs against it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from rlvr.errors import exit_on_user_error
from rlvr.files import write_atomically
from rlvr.generation import encode_prompts, tokenizer_of
from rlvr.models.checkpoints import load_checkpoint
from rlvr.tasks import get_task
from rlvr.tasks.strategies.problems import (
    RARE_TAG,
    TAGS,
    TRAINING_CARRY_SHARE,
    UNCOMMON_TAG,
    answer_by,
    carries,
    problem_row,
    problems_of,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(allow_abbrev=False, description="First-order direction of P(Y) at a base.")
    parser.add_argument("--model", required=True, help="the base model folder")
    parser.add_argument("--output-path", type=Path, required=True)
    return parser


def tag_probabilities(model, processor, problems: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(problems, tags) first-token probabilities, with gradients."""
    rows = [problem_row(a, b, RARE_TAG) for a, b in problems]
    encoded = encode_prompts(processor, get_task("strategies"), rows, "plain", model.device)
    probabilities = torch.softmax(model(**encoded).logits[:, -1].float(), dim=-1)
    return probabilities[:, tokenizer_of(processor).convert_tokens_to_ids(list(TAGS))]


def training_mix_reward(model, processor) -> torch.Tensor:
    """J: the expected reward on the training mix when every answer follows its tag's procedure."""
    total = torch.zeros(())
    for carrying, weight in ((True, TRAINING_CARRY_SHARE), (False, 1 - TRAINING_CARRY_SHARE)):
        problems = problems_of("train", carrying)
        right = torch.tensor([[float(answer_by(tag, a, b) == a + b) for tag in TAGS] for a, b in problems])
        total = total + weight * (tag_probabilities(model, processor, problems) * right).sum(1).mean()
    return total


def directional_rates(model, quantity: Callable[[], torch.Tensor], directions: dict[str, list[torch.Tensor]]):
    """d quantity / dt along each direction (a list of tensors shaped like the parameters)."""
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    gradient = torch.autograd.grad(quantity(), parameters, allow_unused=True)
    return {
        name: float(sum((g * d).sum() for g, d in zip(gradient, direction, strict=True) if g is not None))
        for name, direction in directions.items()
    }


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(1)
    loaded = load_checkpoint(args.model, torch.device("cpu"))
    model, processor = loaded.model.float(), loaded.processor
    model.eval()
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    reward = training_mix_reward(model, processor)
    gradient = [
        g if g is not None else torch.zeros_like(p)
        for g, p in zip(torch.autograd.grad(reward, parameters, allow_unused=True), parameters, strict=True)
    ]
    directions = {"sgd": gradient, "adam_first_step": [g.sign() for g in gradient]}

    def mean_probability(tag: str, carrying: bool) -> Callable[[], torch.Tensor]:
        problems = [(a, b) for a, b in problems_of("test") if carries(a, b) == carrying]
        return lambda: tag_probabilities(model, processor, problems)[:, TAGS.index(tag)].mean()

    quantities = {
        "p_y_carries": mean_probability(RARE_TAG, True),
        "p_y_no_carry": mean_probability(RARE_TAG, False),
        "p_w_no_carry": mean_probability(UNCOMMON_TAG, False),
        "training_mix_reward": lambda: training_mix_reward(model, processor),
    }
    result = {
        "model": args.model,
        "values": {name: float(quantity()) for name, quantity in quantities.items()},
        "rates": {name: directional_rates(model, quantity, directions) for name, quantity in quantities.items()},
    }
    write_atomically(args.output_path, json.dumps(result, indent=1) + "\n")
    for name, rates in result["rates"].items():
        print(f"{name}: {result['values'][name]:.4f}; " + ", ".join(f"{k} {v:+.3e}" for k, v in rates.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
