"""Resuming a run safely: the output folder must hold the same run (or none), a finished run is left alone, and
only complete checkpoints are loaded. Everything here runs before torch is imported, so a refusal costs seconds.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from pathlib import Path

from rlvr.errors import UserError
from rlvr.files import check_output_file, check_output_folder, output_path, read_json, write_json_atomically
from rlvr.models.model_files import check_weight_files
from trainers.completion_log import COMPLETIONS_FILE
from trainers.config import RunConfig
from trainers.run_record import RUN_CONFIG_FILE, differences_from_recorded, is_run_record, read_run_record
from trainers.trainer_state import check_trainer_state

FINISHED_FILE = "finished.json"  # written after the final model is saved: {"global_step": N}
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
LOCK_FILE = ".main.lock"  # rlvr/locks.py: one main.py per output folder
# What main.py writes directly in its folder (beside checkpoint-N): an input of that name would be replaced.
# README.md is TRL's model card, written into the folder as the first checkpoint is saved; the lock file is removed
# as the run ends.
RUN_FILE_PATTERNS = (
    RUN_CONFIG_FILE, FINISHED_FILE, "config.json", "generation_config.json", "*.safetensors", "*.bin", "adapter_*",
    "tokenizer*", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", "*processor*",
    "chat_template*", "training_args.bin", "eval-*.json", "preference_samples.json", COMPLETIONS_FILE, "completions",
    "README.md", LOCK_FILE,
)  # fmt: skip
# What a start may leave before it writes run_config.json: tensorboard's runs/, --mode dpo's drawn samples,
# monitor_training.py's monitor/, and --log-completions' rollout sample and TRL's completions/ tables. A folder
# holding only these blocks nothing.
START_LEFTOVERS = ("runs", "monitor", "preference_samples.json", COMPLETIONS_FILE, "completions")


def newest_complete_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint-N with the largest N whose trainer_state.json is a complete JSON object.

    The Trainer writes trainer_state.json after the weights and the optimizer, so a checkpoint killed while being
    saved lacks it (or holds half of it); such a folder is passed over and the one before it resumes.
    """
    return next(_complete_checkpoints(output_dir), None)


def _complete_checkpoints(output_dir: Path):
    """The complete checkpoint-N folders of ``output_dir``, newest first."""
    if not output_dir.is_dir():
        return
    matches = ((CHECKPOINT_NAME.match(child.name), child) for child in output_dir.iterdir())
    numbered = sorted(((int(match.group(1)), child) for match, child in matches if match), reverse=True)
    for _, folder in numbered:
        try:
            state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            continue
        if isinstance(state, dict):
            check_trainer_state(state, folder / "trainer_state.json", resuming=True)
            yield folder


def find_resume_checkpoint(output_dir: str, no_resume: bool) -> str | None:
    """The newest complete checkpoint of the run, unless the user asked to start over."""
    if no_resume:
        return None
    checkpoint = newest_complete_checkpoint(Path(output_dir))
    return str(checkpoint) if checkpoint else None


def check_named_checkpoint(config: RunConfig) -> str | None:
    """The checkpoint --resume-from-checkpoint names, once it is complete and its run has this run's settings."""
    if config.resume_from_checkpoint is None:
        return None
    named = Path(config.resume_from_checkpoint)
    flag = f"--resume-from-checkpoint {config.resume_from_checkpoint}"
    if not named.is_dir():
        raise UserError(f"{flag}: no such folder")
    if not CHECKPOINT_NAME.match(named.name):
        raise UserError(f"{flag}: not a checkpoint-N folder of a run")
    if named.resolve() not in {path.resolve() for path in _complete_checkpoints(named.parent)}:
        raise UserError(f"{flag}: incomplete (no readable trainer_state.json); name an earlier checkpoint")
    check_weight_files(named)
    if not (named.parent / RUN_CONFIG_FILE).exists():
        raise UserError(f"{flag}: its run folder has no {RUN_CONFIG_FILE}, so it cannot be checked to be this run")
    differing = differences_from_recorded(config, read_run_record(named.parent))
    if differing:
        raise UserError(f"{flag} belongs to another run ({', '.join(differing)}); resume it with its settings")
    return str(named)


def check_output_dir(config: RunConfig) -> None:
    """Refuse, before anything slow, an output folder whose files this run would lose or that would lose a run.

    The folder may be new or empty, hold this run (same settings, see trainers/run_record.py), or hold a start
    that failed before its first checkpoint. Another run is refused, and so is --no-resume over any run unless
    --overwrite says to discard it; a folder of files main.py did not write needs --overwrite too. An input (the
    model, the dataset, the preference data, the config file) is never the folder nor one of the files main.py
    writes or rotates in it.
    """
    output_dir = check_output_folder(config.output_dir, "--output-dir")
    _check_inputs_survive(config, output_dir)
    if config.mode == "eval":  # writes one report: an earlier one is replaced only with --overwrite
        check_output_file(eval_report_path(config), "--output-dir", overwrite=config.overwrite)
        return
    if not output_dir.is_dir():
        return
    entries = [child.name for child in output_dir.iterdir() if not child.name.startswith(".")]
    checkpoint = newest_complete_checkpoint(output_dir)
    holds_run = checkpoint is not None or (output_dir / FINISHED_FILE).exists()
    if not holds_run:
        foreign = _not_left_by_a_start(output_dir, entries)
        if foreign and not config.overwrite:
            shown = ", ".join(sorted(foreign)[:5]) + (", ..." if len(foreign) > 5 else "")
            raise UserError(
                f"--output-dir {config.output_dir} holds files main.py did not write ({shown}); use another "
                "--output-dir, or pass --overwrite to write into it"
            )
        return  # new, or a start that failed before its first checkpoint: nothing to resume or to lose
    if config.no_resume:
        if not config.overwrite:
            what = checkpoint.name if checkpoint is not None else FINISHED_FILE
            raise UserError(
                f"{output_dir} holds a run ({what}); --no-resume would discard it: add --overwrite to do so, or "
                "use another --output-dir"
            )
        return
    if not (output_dir / RUN_CONFIG_FILE).exists():
        raise UserError(
            f"{output_dir} holds checkpoints but no {RUN_CONFIG_FILE}, so it cannot be checked to be this run; "
            "use another --output-dir, or --no-resume --overwrite to discard them"
        )
    differing = differences_from_recorded(config, read_run_record(output_dir))
    if differing:
        raise UserError(
            f"{output_dir} holds another run ({', '.join(differing)}); resume it with its settings, use another "
            "--output-dir, or --no-resume --overwrite to discard it"
        )
    if checkpoint is not None:
        check_weight_files(checkpoint)  # the checkpoint this run resumes from


def eval_report_path(config: RunConfig) -> Path:
    """Where --mode eval writes its report (evaluation/accuracy_eval.py)."""
    return output_path(config.output_dir) / f"eval-{config.dataset_name}-{config.split}.json"


def _not_left_by_a_start(output_dir: Path, entries: list[str]) -> list[str]:
    """The ``entries`` of a folder without a complete run that no start of main.py left there.

    A start writes run_config.json, its mark, before training; a folder carrying it may hold whatever main.py
    writes (RUN_FILE_PATTERNS, checkpoint-N): a start killed, or failed on a full disk, while saving its first
    checkpoint leaves the model card and part of the checkpoint. Without the mark only START_LEFTOVERS are main.py's,
    so a folder of the user's files (a model folder, a README.md, a run_config.json of another tool) is refused.
    """
    marked = is_run_record(output_dir / RUN_CONFIG_FILE)
    return [name for name in entries if name not in START_LEFTOVERS and not (marked and _written_by_main((name,)))]


def _check_inputs_survive(config: RunConfig, output_dir: Path) -> None:
    inputs = (config.model, config.dataset_path, config.preference_data, config.config_file)
    for given in (value for value in inputs if value and Path(value).exists()):
        source = output_path(given)
        inside = source.relative_to(output_dir).parts if source.is_relative_to(output_dir) else None
        if source == output_dir or (inside and _written_by_main(inside)):
            raise UserError(
                f"--output-dir {config.output_dir} would replace the input {given}; write the run to another folder"
            )


def _written_by_main(parts: tuple[str, ...]) -> bool:
    if CHECKPOINT_NAME.match(parts[0]):
        return True  # rotated away by --save-total-limit
    return len(parts) == 1 and any(fnmatch.fnmatch(parts[0], pattern) for pattern in RUN_FILE_PATTERNS)


def discard_previous_run(output_dir: str) -> None:
    """--no-resume --overwrite: remove the old run's checkpoints and records, once the new run has started (its
    model is loaded), so a later resume never picks an old checkpoint up as this run's."""
    folder = Path(output_dir)
    for child in folder.iterdir() if folder.is_dir() else ():
        if CHECKPOINT_NAME.match(child.name) and child.is_dir():
            shutil.rmtree(child)
    for name in (FINISHED_FILE, RUN_CONFIG_FILE, COMPLETIONS_FILE):
        (folder / name).unlink(missing_ok=True)


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
