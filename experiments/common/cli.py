"""The command line every experiment shares: where it writes, how many runs at a time, smoke and start-over."""

from __future__ import annotations

import argparse
from pathlib import Path


def experiment_parser(description: str, run_dir_name: str, repo_root: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=description)
    parser.add_argument("--run-dir", type=Path, default=None, help=f"checkpoints (default runs/{run_dir_name})")
    parser.add_argument("--results-dir", type=Path, default=repo_root / "docs" / "results", help="report, figures")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument(
        "--smoke", action="store_true", help="every stage with tiny settings (minutes, not meaningful)"
    )
    parser.add_argument("--force", action="store_true", help="delete --run-dir and start over")
    return parser
