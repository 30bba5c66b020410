"""`make science` end to end with tiny settings (--smoke): every stage runs, and the report comes from its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.three_strategy.predictions import PREDICTIONS, VERDICTS

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_smoke_run_goes_through_every_stage(tmp_path):
    results = tmp_path / "results"
    command = [sys.executable, "-m", "experiments.three_strategy.run", "--smoke", "--run-dir", str(tmp_path / "runs"),
               "--results-dir", str(results)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    text = (results / "three_strategy.json").read_text()
    assert str(tmp_path) not in text  # the published summary names no folder of the machine it ran on
    summary = json.loads(text)
    assert set(summary["gate"]["by_seed"]["0"]) == {"a_mix", "b_procedures", "c_hard_but_reachable", "d_coupling"}
    assert summary["gate"]["determinism_passed"], summary["gate"]["determinism"]
    assert set(summary["first_order"]["0"]["rates"]["p_y_carries"]) == {"sgd", "adam_first_step"}
    assert {summary["verdicts"][prediction.key] for prediction in PREDICTIONS} <= set(VERDICTS)
    part = summary["rates"]["1e-3"]
    assert set(part["decomposition"]["psr"]["carry_pass64"]) == {"total", "reward_dependent", "reward_independent"}
    assert "psr - nsr" in part["matched"]
    trajectory = part["trajectories"]["psr"]["0"]
    assert [point["step"] for point in trajectory] == [0, 4, 8]  # the base, then every checkpoint
    report = (results / "three_strategy.md").read_text()
    assert "## The gate" in report and "## Verdicts" in report and "### Decomposition" in report
    assert all((results / f"three_strategy_{name}.png").exists() for name in ("pass_at_k", "trajectories", "p_y"))
