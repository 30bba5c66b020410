"""run_config.json: what a run was trained with, kept beside its checkpoints.

The top level is the configuration the run started with (a ``RunConfig`` written out), never rewritten while the
run goes on; ``segments`` lists each start and resume: when, from which checkpoint, the settings that changed
from the start (only those in SAFE_TO_CHANGE may) and ``data_hash``, the hash of the dataset rows trained on (a
resume on other rows is refused: check_same_rows). One model is then never recorded as trained under one setting,
or on one version of the data, when part of it was trained under another.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.files import read_json, write_json_atomically
from trainers.config import DEFAULTS, MODES, RunConfig

RUN_CONFIG_FILE = "run_config.json"
DATA_HASH = "data_hash"  # the rows trained on, in each segment (rlvr/run_identity.py)

# Settings a resumed run may change: when it logs, saves and stops, where its numbers are reported, and how the
# work is placed on the hardware. Every other RunConfig field changes what is trained, and resuming under another
# value is refused (trainers/resume.py); docs/flags.md lists these.
SAFE_TO_CHANGE = (
    "output_dir",  # the same folder, spelt another way
    "config_file",
    "no_resume",
    "overwrite",
    "report_to",
    "run_name",
    "log_completions",
    "resume_from_checkpoint",  # how a resume is asked for, not what is trained
    "logging_steps",
    "save_steps",
    "save_total_limit",
    "max_steps",  # upwards only (see differences_from_recorded)
    "num_epochs",
    "max_eval_samples",
    "eval_temperature",
    "eval_top_p",
    "disable_gradient_checkpointing",  # memory against time; the same gradients
    "allow_outside_images",  # the same rows either way, or a refusal
    "use_vllm",
    "vllm_mode",
    "vllm_gpu_memory_utilization",
    "vllm_tensor_parallel_size",
    "vllm_server_base_url",
    "static_cache",  # how generation is computed, not what is trained
    "compile_generation",
    "static_cache_tokens",
    # What is measured during training, not what is trained (the evaluation keeps the training's random state)
    "eval_steps",
    "eval_num_samples",
    "eval_subset_size",
    "eval_dataset",
    "eval_split",
    "log_kl",
    "attn_implementation",  # the same attention computed by another kernel
)


def read_run_record(output_dir: Path) -> dict[str, Any]:
    """The run_config.json of ``output_dir`` as a dict; UserError when it is unreadable or no JSON object."""
    path = output_dir / RUN_CONFIG_FILE
    recorded = read_json(path, "run configuration")
    if not isinstance(recorded, dict):
        raise UserError(f"{path}: not a run configuration (expected a JSON object)")
    return recorded


def is_run_record(path: Path) -> bool:
    """Whether ``path`` is a run_config.json main.py wrote: a JSON object naming a mode and an output folder. Only
    main.py writes it, whole (renamed into place), before a run writes anything else: the mark of a run's folder."""
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(recorded, dict) and recorded.get("mode") in MODES and "output_dir" in recorded


def latest_settings(recorded: dict[str, Any]) -> dict[str, Any]:
    """The settings the run was last trained with: the start's, updated by each segment's changes."""
    settings = {name: value for name, value in recorded.items() if name != "segments"}
    segments = recorded.get("segments")
    for segment in segments if isinstance(segments, list) else []:
        changes = segment.get("changed") if isinstance(segment, dict) else None
        if isinstance(changes, dict):
            settings.update(changes)
    return settings


def differences_from_recorded(config: RunConfig, recorded: dict[str, Any]) -> list[str]:
    """'name old -> new' for each setting that resuming under ``config`` would change and must not."""
    latest, current = latest_settings(recorded), config.as_dict()
    differing = []
    for name, value in current.items():
        old = latest.get(name, getattr(DEFAULTS, name))  # a field newer than the file held its default
        # With --update-prompts the update is fixed by the prompts; the micro-batch only says how it fits in memory.
        memory_only = name == "batch_size" and current["update_prompts"] is not None
        if name in SAFE_TO_CHANGE or memory_only:
            if name == "max_steps" and _lowered(old, value):
                differing.append(f"max_steps {old} -> {value} (it may only be raised)")
            continue
        if _comparable(old) != _comparable(value):
            differing.append(f"{name} {_shown(old)} -> {_shown(value)}")
    return differing


def recorded_data_hash(recorded: dict[str, Any]) -> str | None:
    """The hash of the rows the run was last trained on (rlvr/run_identity.py), as its newest segment that records
    one holds it; None in a file older than it."""
    segments = recorded.get("segments")
    known = [
        segment[DATA_HASH]
        for segment in (segments if isinstance(segments, list) else [])
        if isinstance(segment, dict) and isinstance(segment.get(DATA_HASH), str)
    ]
    return known[-1] if known else None


def check_same_rows(resumed_from: str | None, data_hash: str) -> None:
    """Refuse to resume a checkpoint whose run was trained on other dataset rows than ``data_hash``'s.

    A run_config.json written before the hash was recorded leaves the rows unchecked, and a note says so.
    """
    if resumed_from is None:
        return
    run_folder = Path(resumed_from).parent
    if not (run_folder / RUN_CONFIG_FILE).exists():
        return  # trainers/resume.py refuses a checkpoint without its run's record before this
    recorded = recorded_data_hash(read_run_record(run_folder))
    if recorded is None:
        print(f"Note: {run_folder / RUN_CONFIG_FILE} records no dataset rows hash (an older run): rows not checked")
    elif recorded != data_hash:
        raise UserError(
            f"{run_folder} was trained on other dataset rows (rows {recorded} there, {data_hash} here): the dataset "
            "changed since; resume it on the rows it was trained on, or start a new run in another --output-dir"
        )


def write_run_record(config: RunConfig, resumed_from: str | None, data_hash: str | None = None) -> None:
    """Start run_config.json, or add a segment to it when resuming ``resumed_from``; each records the hash of the
    dataset rows trained on (``data_hash``, rlvr/run_identity.py)."""
    path = Path(config.output_dir) / RUN_CONFIG_FILE
    segment: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "resumed_from": None}
    if resumed_from is None or not path.exists():
        write_json_atomically(
            path, {**config.as_dict(), "segments": [{**segment, "changed": {}, DATA_HASH: data_hash}]}
        )
        return
    recorded = read_run_record(Path(config.output_dir))
    segments = recorded.get("segments")
    # A file written before segments were kept records one segment: the start.
    segments = segments if isinstance(segments, list) else [{"started": None, "resumed_from": None, "changed": {}}]
    start, current = {key: value for key, value in recorded.items() if key != "segments"}, config.as_dict()
    changed = {
        name: current[name] for name in SAFE_TO_CHANGE if _comparable(start.get(name)) != _comparable(current[name])
    }
    segment.update(resumed_from=resumed_from, changed=changed, data_hash=data_hash)
    write_json_atomically(path, {**start, "segments": [*segments, segment]})


def _lowered(old: Any, new: Any) -> bool:
    numbers = all(isinstance(value, int) and not isinstance(value, bool) for value in (old, new))
    return numbers and old != -1 and new != -1 and new < old


def _comparable(value: Any) -> Any:
    # run_config.json stores tuples as lists and may store ints where floats are meant (0 vs 0.0).
    if isinstance(value, tuple | list):
        return [_comparable(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _shown(value: Any) -> str:
    return "unset" if value is None else str(value)
