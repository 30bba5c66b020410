"""`make science` end to end with tiny settings (--smoke): every stage runs, and the report comes from its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.two_procedure.claims import VERDICTS

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_smoke_run_goes_through_every_stage(tmp_path):
    results = tmp_path / "results"
    command = [sys.executable, "-m", "experiments.two_procedure.run", "--smoke", "--run-dir", str(tmp_path / "runs"),
               "--results-dir", str(results)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads((results / "objectives_toy.json").read_text())
    assert summary["bases"] and summary["coupling"] and summary["runs"] and summary["sweep"]
    assert set(summary["gate"]["checks"]) == {"a_mix", "b_follows", "c_shape", "d_coupling"}
    assert {claim["verdict"] for claim in summary["claims"]} <= set(VERDICTS)
    assert all(run["points"][-1]["kl_to_base"] >= -1e-6 for run in summary["runs"])
    report = (results / "objectives_toy.md").read_text()
    assert "## The mechanism gate" in report and "## The learning rate" in report
    assert all((results / f"objectives_toy_{name}.png").exists() for name in ("pass_at_k", "strategy", "kl"))
