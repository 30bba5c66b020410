"""Running the experiment's steps: each a subprocess with its log, skipped when its output already exists."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


class StepRunner:
    """Runs each step as a subprocess with its log under ``run_dir/logs``, skipping steps already done."""

    def __init__(self, run_dir: Path, repo_root: Path) -> None:
        self.logs, self.repo_root = run_dir / "logs", repo_root
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
        }  # fmt: skip
        self.seconds: dict[str, float] = {}
        self.skipped: list[str] = []

    def run(self, name: str, command: Sequence[str], done: Path) -> None:
        if done.exists():
            self.skipped.append(name)
            return
        log_path = self.logs / f"{name}.log"
        started = time.perf_counter()
        with open(log_path, "w") as log:
            result = subprocess.run(
                [sys.executable, *command], cwd=self.repo_root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.seconds[name] = round(time.perf_counter() - started, 1)
        with open(self.logs / "steps.jsonl", "a") as record:  # every session's steps, for the run's total time
            record.write(json.dumps({"step": name, "seconds": self.seconds[name], "exit": result.returncode}) + "\n")
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"error: step {name} failed (exit {result.returncode}); log {log_path}:\n{tail}")
        print(f"[done] {name}: {self.seconds[name]:.0f} s", flush=True)

    def seconds_all_sessions(self) -> float:
        """The time every step of the run took, in this session and any earlier one it resumed."""
        path = self.logs / "steps.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return round(sum(json.loads(line)["seconds"] for line in lines if line.strip()), 1)

    def updates_of(self, name: str, update_slots: int) -> int:
        """Optimizer updates a run took: its update slots less the empty ones its last console line counts."""
        empty = re.findall(r"empty slots (\d+)", (self.logs / f"{name}.log").read_text(errors="replace"))
        return update_slots - (int(empty[-1]) if empty else 0)
