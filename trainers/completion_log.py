"""``--log-completions``: a sample of every training rollout, one JSON line per prompt, in the run folder.

Each rollout writes its first ``GROUPS_PER_ROLLOUT`` prompts (every completion of each, so a group is read whole) to
``{output_dir}/completions.jsonl``: the prompt's text, and per completion its text, the reward of each reward
function, whether it counts as correct, whether the objective kept it (PSR keeps the correct ones, NSR the wrong
ones, GRPO and W-REINFORCE every scorable one) and the advantage it was trained with. That is what PSR reinforced and
NSR pushed down, readable with ``jq`` or pandas (``pd.read_json(path, lines=True)``).

The lines are appended as the run goes; a resumed run appends after them, so the rollouts between the last
checkpoint and the interruption appear twice, with the same step. ``--no-resume --overwrite`` removes the file with
the old run's checkpoints. This module imports nothing heavy: trainers/resume.py reads its file name before torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlvr.tasks.completions import completion_text

if TYPE_CHECKING:
    import torch

COMPLETIONS_FILE = "completions.jsonl"
GROUPS_PER_ROLLOUT = 4  # prompts per rollout, each with all its completions
IMAGE_MARK = "<image>"


def prompt_text(prompt: object) -> str:
    """A prompt as text: plain, or a conversation as ``role: text`` lines with ``<image>`` where a picture goes.

    >>> prompt_text([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Max?"}]}])
    'user: <image>Max?'
    """
    if isinstance(prompt, str):
        return prompt
    lines = []
    for message in prompt if isinstance(prompt, (list, tuple)) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "".join(
                IMAGE_MARK if part.get("type") == "image" else str(part.get("text", ""))
                for part in content
                if isinstance(part, dict)
            )
        lines.append(f"{message.get('role', '?')}: {content or ''}")
    return "\n".join(lines)


def rollout_records(
    step: int,
    prompts: Sequence[object],
    completions: Sequence[object],
    rewards: dict[str, Sequence[float | None]],
    correct: Sequence[bool],
    kept: Sequence[bool],
    advantages: Sequence[float],
    group_size: int,
    max_groups: int = GROUPS_PER_ROLLOUT,
) -> list[dict[str, Any]]:
    """One record per prompt for the first ``max_groups`` groups of a rollout (samples in group order)."""
    records = []
    for start in range(0, min(len(prompts), max_groups * group_size), group_size):
        rows = range(start, min(start + group_size, len(prompts)))
        records.append(
            {
                "step": step,
                "prompt": prompt_text(prompts[start]),
                "completions": [
                    {
                        "completion": completion_text(completions[row]),
                        "rewards": {name: _number(values[row]) for name, values in rewards.items()},
                        "correct": bool(correct[row]),
                        "kept": bool(kept[row]),
                        "advantage": _number(advantages[row]),
                    }
                    for row in rows
                ],
            }
        )
    return records


def append_records(output_dir: str | Path, records: Sequence[dict[str, Any]]) -> None:
    path = Path(output_dir) / COMPLETIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def log_rollout_sample(
    trainer: Any, rewards_per_func: torch.Tensor, correct: torch.Tensor, keep: torch.Tensor, advantages: torch.Tensor
) -> None:
    """Append the sample of the training rollout just scored (every process's samples, in TRL's gathered order, as
    ``rewards_per_func``, ``correct``, ``keep`` and ``advantages`` are); only with ``--log-completions``, only on the
    main process. TRL's ``_logs`` hold the prompts and completions of the latest rollouts, this one last."""
    if not (trainer.args.log_completions and trainer.model.training and trainer.accelerator.is_main_process):
        return
    size = rewards_per_func.size(0)
    prompts, completions = list(trainer._logs["prompt"])[-size:], list(trainer._logs["completion"])[-size:]
    rewards = {name: rewards_per_func[:, index].tolist() for index, name in enumerate(trainer.reward_func_names)}
    records = rollout_records(
        trainer.state.global_step,
        prompts,
        completions,
        rewards,
        correct.tolist(),
        keep.tolist(),
        advantages.tolist(),
        trainer.num_generations,
    )
    append_records(trainer.args.output_dir, records)


def _number(value: float | None) -> float | None:
    # JSON has no NaN: a reward function that does not apply to a sample gives None (TRL's NaN).
    return None if value is None or not math.isfinite(value) else float(value)
