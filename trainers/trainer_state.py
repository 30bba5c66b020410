"""What a trainer_state.json may hold, checked before monitor_training.py plots it or main.py resumes from it: each
field of transformers' TrainerState with its kind, and a log_history of objects whose values are numbers. A value
of the wrong kind (a string, a list, null, NaN where a step is meant) is refused in one line naming the file and the
field, instead of failing inside a plot or inside the Trainer.

Kept here rather than read from transformers, whose import brings torch; tests/test_trainer_state.py checks that
the names still match transformers' TrainerState.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rlvr.errors import UserError


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


# field -> (what it must be, in words; the check)
FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "epoch": ("a finite number", _number),
    "global_step": ("a whole number of at least 0", _count),
    "max_steps": ("a whole number", lambda value: isinstance(value, int) and not isinstance(value, bool)),
    "logging_steps": ("a finite number", _number),
    "eval_steps": ("a finite number", _number),
    "save_steps": ("a finite number", _number),
    "train_batch_size": ("a whole number of at least 0 or null", _optional(_count)),
    "num_train_epochs": ("a finite number", _number),
    "num_input_tokens_seen": ("a whole number of at least 0", _count),
    "total_flos": ("a finite number", _number),
    "log_history": ("a list of objects", lambda value: isinstance(value, list)),
    "best_metric": ("a finite number or null", _optional(_number)),
    "best_global_step": ("a whole number of at least 0 or null", _optional(_count)),
    "best_model_checkpoint": ("text or null", _optional(lambda value: isinstance(value, str))),
    "is_local_process_zero": ("true or false", lambda value: isinstance(value, bool)),
    "is_world_process_zero": ("true or false", lambda value: isinstance(value, bool)),
    "is_hyper_param_search": ("true or false", lambda value: isinstance(value, bool)),
    "trial_name": ("text or null", _optional(lambda value: isinstance(value, str))),
    "trial_params": ("an object or null", _optional(lambda value: isinstance(value, dict))),
    "stateful_callbacks": ("an object or null", _optional(lambda value: isinstance(value, dict))),
}
ENTRY_POSITION_KEYS = ("step", "epoch")  # where a log entry sits: NaN or infinity there places it nowhere


def check_trainer_state(state: Any, path: Path, *, resuming: bool = False) -> dict[str, Any]:
    """``state`` (a parsed trainer_state.json) when every field it has is of its kind; UserError naming ``path``
    and the field otherwise. The monitor needs a ``log_history``; resuming does not (transformers' TrainerState has
    a default for every field) but refuses a field TrainerState does not have, since it is built from every key."""
    if not isinstance(state, dict) or not (resuming or isinstance(state.get("log_history"), list)):
        raise UserError(f"{path}: not a trainer state (no 'log_history' list)")
    for field, value in state.items():
        if field not in FIELDS:
            if resuming:
                raise UserError(f"{path}: unknown field {field!r:.60}; transformers' TrainerState has no such field")
            continue
        expected, check = FIELDS[field]
        if not check(value):
            raise UserError(f"{path}: {field!r} must be {expected}, got {_describe(value)}")
    for index, entry in enumerate(state.get("log_history", [])):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: log_history[{index}] must be an object, got {_describe(entry)}")
        _check_entry(entry, f"{path}: log_history[{index}]")
    return state


def _check_entry(entry: Mapping[str, Any], where: str) -> None:
    for key, value in entry.items():
        # A metric may be NaN or infinite (a diverged run, which the monitor shows); the step it was logged at not.
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (key in ENTRY_POSITION_KEYS and not math.isfinite(value)):
            expected = "a finite number" if key in ENTRY_POSITION_KEYS else "a number"
            raise UserError(f"{where}: {key!r:.60} must be {expected}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return f"{value!r:.60}"
