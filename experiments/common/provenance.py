"""Where a run's code came from: recorded in every experiment's report."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def commit_of(repo_root: Path) -> dict[str, Any]:
    """The commit the run's code came from, and whether the working tree differed from it."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted_changes": bool(git("status", "--porcelain"))}
