"""Resuming never mixes two runs, never trains a finished run by accident, and survives a SIGKILL.

Real main.py runs in a subprocess on the tiny model and synthetic charts, on the CPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# No --logging-steps: the default must make a short run log.
FAST_RUN = [
    "--subset-size", "8", "--max-completion-length", "12", "--report-to", "none",
    "--reward-funcs", "format_reward", "accuracy_reward",
]  # fmt: skip
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def main_command(*args: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / "main.py"), *args]


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_command(*args), cwd=REPO_ROOT, capture_output=True, text=True, env=ENV, timeout=900)


def final_state(run: Path) -> dict:
    newest = max(run.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    return json.loads((newest / "trainer_state.json").read_text())


@pytest.mark.slow
def test_another_mode_on_a_finished_run_is_refused_and_the_same_command_trains_nothing(tmp_path):
    run = tmp_path / "run"
    nsr = ["--mode", "nsr", "--output-dir", str(run), "--max-steps", "3", "--save-steps", "3", *FAST_RUN]
    first = run_main(*nsr)
    assert first.returncode == 0, first.stderr[-3000:]
    # The default logging interval of a 3-step run logs every step.
    assert "NSR [step 3]" in first.stdout
    assert [entry["step"] for entry in final_state(run)["log_history"] if "loss" in entry] == [1, 2, 3]

    psr = run_main("--mode", "psr", *nsr[2:])
    assert psr.returncode == 2
    assert psr.stderr.strip() == f"error: {run.resolve()} holds another run (mode nsr -> psr); " + (
        "resume it with its settings, use another --output-dir, or --no-resume --overwrite to discard it"
    )
    assert json.loads((run / "run_config.json").read_text())["mode"] == "nsr"
    assert not (run / "checkpoint-4").exists()

    again = run_main(*nsr)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "finished at step 3; nothing to train" in again.stdout
    assert "NSR [step" not in again.stdout
    assert final_state(run)["global_step"] == 3


@pytest.mark.slow
def test_sigkill_after_the_first_checkpoint_then_the_same_command_ends_where_an_uninterrupted_run_ends(tmp_path):
    common = ["--mode", "nsr", "--max-steps", "4", "--save-steps", "1", "--save-total-limit", "5", *FAST_RUN]
    reference = run_main(*common, "--output-dir", str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr[-3000:]

    run = tmp_path / "killed"
    process = subprocess.Popen(
        main_command(*common, "--output-dir", str(run)),
        cwd=REPO_ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while not (run / "checkpoint-1" / "trainer_state.json").exists():
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert not (run / "finished.json").exists()
    # A checkpoint whose trainer_state.json was never written is what a kill mid-save leaves: it is passed over.
    (run / "checkpoint-9").mkdir()

    resumed = run_main(*common, "--output-dir", str(run))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout and "checkpoint-9" not in resumed.stdout
    expected, got = (
        final_state(tmp_path / "reference"),
        json.loads((run / "checkpoint-4" / "trainer_state.json").read_text()),
    )
    assert got["global_step"] == expected["global_step"] == 4
    assert json.loads((run / "finished.json").read_text()) == {"global_step": 4}
    # run_config.json records the start and the resumed segment, not one run under the last settings
    segments = json.loads((run / "run_config.json").read_text())["segments"]
    assert [segment["resumed_from"] for segment in segments] == [None, str(run / "checkpoint-1")]
