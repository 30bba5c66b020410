"""Resuming a run safely: the folder must hold the same run, a finished run is left alone, and only complete
checkpoints are loaded. Everything here runs before the model is loaded, so a refusal costs seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.files import check_output_folder, read_json, write_json_atomically
from trainers.config import RunConfig

RUN_CONFIG_FILE = "run_config.json"
FINISHED_FILE = "finished.json"  # written after the final model is saved: {"global_step": N}
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")

# The settings that make a run what it is: resuming a checkpoint under other values would train one model under
# two objectives (or on two datasets) and label the whole run with the last one.
IDENTITY_SETTINGS = (
    "mode",
    "task",
    "model",
    "dataset_name",
    "dataset_path",
    "split",
    "prompt_style",
    "lambda_psr",
    "reward_threshold",
    "split_on",
    "reward_funcs",
    "reward_weights",
    "beta",
    "entropy_coef",
    "shuffle_rewards",
    "random_rewards",
    "loss_type",
    "lora",
)


def newest_complete_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint-N with the largest N whose trainer_state.json is a complete JSON object.

    The Trainer writes trainer_state.json after the weights and the optimizer, so a checkpoint killed while being
    saved lacks it (or holds half of it); such a folder is passed over and the one before it resumes.
    """
    if not output_dir.is_dir():
        return None
    matches = ((CHECKPOINT_NAME.match(child.name), child) for child in output_dir.iterdir())
    numbered = sorted(((int(match.group(1)), child) for match, child in matches if match), reverse=True)
    for _, folder in numbered:
        try:
            state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            continue
        if isinstance(state, dict):
            return folder
    return None


def find_resume_checkpoint(output_dir: str, no_resume: bool) -> str | None:
    """The newest complete checkpoint of the run, unless the user asked to start over."""
    if no_resume:
        return None
    checkpoint = newest_complete_checkpoint(Path(output_dir))
    return str(checkpoint) if checkpoint else None


def check_resume(config: RunConfig) -> None:
    """Refuse to resume a folder that holds another run, or one whose run_config.json cannot be read."""
    output_dir = Path(config.output_dir)
    check_output_folder(Path(config.output_dir), "--output-dir")
    if config.no_resume:
        return
    recorded_path = output_dir / RUN_CONFIG_FILE
    if not recorded_path.exists():
        if newest_complete_checkpoint(output_dir) is None:
            return  # a new run, or a folder of other files the trainer leaves alone
        raise UserError(
            f"{output_dir} holds checkpoints but no {RUN_CONFIG_FILE}, so it cannot be checked to be this run; "
            "use another --output-dir, or --no-resume to start over"
        )
    recorded = read_json(recorded_path, "run configuration")
    if not isinstance(recorded, dict):
        raise UserError(f"{recorded_path}: not a run configuration (expected a JSON object)")
    current = config.as_dict()
    differing = [
        f"{name} {_shown(recorded.get(name))} -> {_shown(current[name])}"
        for name in IDENTITY_SETTINGS
        if _comparable(recorded.get(name)) != _comparable(current[name])
    ]
    if differing:
        raise UserError(
            f"{output_dir} holds another run ({', '.join(differing)}); "
            "use another --output-dir, or --no-resume to start over there"
        )


def finished_step(output_dir: str) -> int | None:
    """The final step of a run that finished in this folder, None if it has not finished."""
    path = Path(output_dir) / FINISHED_FILE
    if not path.exists():
        return None
    value = read_json(path, "finished-run marker")
    step = value.get("global_step") if isinstance(value, dict) else None
    if isinstance(step, bool) or not isinstance(step, int):
        raise UserError(f'{path}: not a finished-run marker (expected {{"global_step": N}})')
    return step


def nothing_left_to_train(config: RunConfig) -> int | None:
    """The finished step when resuming would train no further: the same command after the run ended.

    Raising --max-steps above the finished step is a deliberate request to train on and is allowed.
    """
    if config.no_resume:
        return None
    step = finished_step(config.output_dir)
    if step is None or (config.max_steps != -1 and config.max_steps > step):
        return None
    return step


def mark_finished(output_dir: str, global_step: int) -> None:
    write_json_atomically(Path(output_dir) / FINISHED_FILE, {"global_step": global_step})


def clear_finished(output_dir: str) -> None:
    """A run that trains again is unfinished until it saves its final model."""
    (Path(output_dir) / FINISHED_FILE).unlink(missing_ok=True)


def _comparable(value: Any) -> Any:
    # run_config.json stores tuples as lists and may store ints where floats are meant (0 vs 0.0).
    if isinstance(value, tuple | list):
        return [_comparable(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _shown(value: Any) -> str:
    return "unset" if value is None else str(value)
