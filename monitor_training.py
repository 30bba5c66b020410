"""Training curves and a summary from a run's trainer_state.json, also while the run is still going.

    python monitor_training.py --checkpoint-dir runs/<run> [--output-dir plots]
    python monitor_training.py --compare --checkpoints <run1> <run2> --labels GRPO NSR --output-dir comparison

A run folder gives the newest checkpoint-N (by N) or its own top-level trainer_state.json, whichever has the
larger global_step (trainers/monitor_log.py reads it; trainers/monitor_plots.py draws). The monitor replaces only
files it wrote itself (they carry its mark) unless --overwrite is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import text_with_mark, write_atomically
from rlvr.plot_labels import check_plot_labels
from trainers.monitor_log import (
    global_step_of,
    recorded_mode,
    resolve_trainer_state,
    run_folder_of,
    summarize,
    why_nothing_was_logged,
)
from trainers.monitor_plots import MONITOR_MAKER, claim_monitor_folder, claim_monitor_outputs, draw_plots, save_plots

SUMMARY_FILE = "summary.txt"


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Plot training curves and summarise a run's trainer_state.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--checkpoint-dir", type=Path, help="run folder (newest checkpoint-N is used) or checkpoint")
    parser.add_argument("--compare", action="store_true", help="overlay several runs (with --checkpoints)")
    parser.add_argument("--checkpoints", nargs="+", type=Path, help="run or checkpoint folders to compare")
    parser.add_argument("--labels", nargs="+", help="one label per --checkpoints folder (default: folder names)")
    parser.add_argument(
        "--output",
        "--output-dir",
        dest="output_dir",
        type=Path,
        help="folder the plots go to (default: <run>/monitor, or monitor_comparison with --compare)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace plots and summary.txt files the monitor did not write"
    )
    return finish_parser(parser)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.compare or args.checkpoints:
        if args.checkpoint_dir is not None:
            raise UserError("give either --checkpoint-dir (one run) or --compare --checkpoints (several), not both")
        if not args.checkpoints:
            raise UserError("--compare needs --checkpoints <run1> <run2> ...")
        output_dir = args.output_dir or Path("monitor_comparison")
        _check_exist(args.checkpoints)
        with claim_monitor_folder(output_dir):
            return _compare(args.checkpoints, args.labels, output_dir, args.overwrite)
    if args.checkpoint_dir is None:
        raise UserError("give --checkpoint-dir <run folder>, or --compare --checkpoints <run1> <run2> ...")
    if args.labels:
        raise UserError("--labels goes with --compare --checkpoints")
    output_dir = args.output_dir or run_folder_of(args.checkpoint_dir) / "monitor"
    _check_exist([args.checkpoint_dir])
    with claim_monitor_folder(output_dir):  # one monitor per folder, from before it reads until its last write
        return _monitor_one(args.checkpoint_dir, output_dir, args.overwrite)


def _check_exist(paths: Sequence[Path]) -> None:
    """A run that is not there is named before the output folder (maybe inside it) is claimed."""
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such folder")


def _monitor_one(checkpoint_dir: Path, output_dir: Path, overwrite: bool) -> int:
    state_path, state = resolve_trainer_state(checkpoint_dir)
    history = state["log_history"]
    name, mode = run_folder_of(checkpoint_dir).resolve().name, recorded_mode(state_path)
    heading = f"{mode.upper() if mode else 'mode unknown'} run {name}"
    figures, notes = draw_plots({name: history}, heading=heading)
    title = f"Training summary: {state_path} (global_step {global_step_of(state)})"
    summary = summarize(history, title=title, mode=mode)
    if not history:
        summary += "\n" + why_nothing_was_logged(state)
    _report(summary, notes, figures, output_dir, overwrite)
    return 0


def _compare(checkpoints: Sequence[Path], labels: Sequence[str] | None, output_dir: Path, overwrite: bool) -> int:
    labels = list(labels) if labels else [run_folder_of(path).name for path in checkpoints]
    check_plot_labels(labels, "--labels", "--checkpoints folders", checkpoints)
    runs: dict[str, list[dict[str, Any]]] = {}
    sections, described = [], []
    for label, path in zip(labels, checkpoints, strict=True):
        state_path, state = resolve_trainer_state(path)
        runs[label] = state["log_history"]
        mode = recorded_mode(state_path)
        described.append(f"{label} ({mode.upper() if mode else 'mode unknown'})")
        title = f"{label}: {state_path} (global_step {global_step_of(state)})"
        section = summarize(runs[label], title=title, mode=mode)
        sections.append(section + ("\n" + why_nothing_was_logged(state) if not runs[label] else ""))
    figures, notes = draw_plots(runs, prefix="comparison_", heading="Runs: " + ", ".join(described))
    _report("\n\n".join(sections), notes, figures, output_dir, overwrite)
    return 0


def _report(
    summary: str, notes: Sequence[str], figures: Mapping[str, Figure], output_dir: Path, overwrite: bool
) -> None:
    """Lock and check every file about to be written, then write the plots and summary.txt, and print the summary."""
    text = summary + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
    with claim_monitor_outputs(output_dir, [*figures, SUMMARY_FILE], overwrite) as paths:
        summary_path = paths[-1]
        written = save_plots(figures, summary_path.parent)
        write_atomically(summary_path, text_with_mark(text, MONITOR_MAKER))
    print(text, end="")
    print("wrote " + ", ".join(str(path) for path in [*written, summary_path]))


if __name__ == "__main__":
    sys.exit(main())
