"""Every refusal comes before torch is imported, so it takes seconds, not the minute torch and transformers take.

Measured by what is imported, not with a clock: one subprocess runs each bad command line in turn, in-process, and
records after each whether ``torch`` is in ``sys.modules``. A refusal that came after the heavy imports shows as
torch loaded. Each row also checks the one line the user sees. docs/errors.md lists the messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bad_input import write

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs each (script, argv) case in one process; prints [{"code", "stderr", "torch"}, ...] as JSON.
DRIVER = """
import contextlib, io, json, sys
import main, generate_samples
entries = {"main.py": main.main, "generate_samples.py": generate_samples.main}
results = []
for script, argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            entries[script](argv)
            code = 0
        except SystemExit as exited:
            code = exited.code
    results.append({"code": code, "stderr": err.getvalue(), "torch": "torch" in sys.modules})
print(json.dumps(results))
"""


def cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(script, argv, fragment of the one error line)."""
    out = ["--output-dir", str(tmp / "run"), "--report-to", "none"]
    countdown_rows = write(tmp / "cd.json", json.dumps([{"numbers": [1, 2], "goal": 3}]))
    broken_model = tmp / "broken-model"
    write(broken_model / "config.json", "{not json")
    looping_adapter = tmp / "adapter"
    write(looping_adapter / "adapter_config.json", json.dumps({"base_model_name_or_path": str(looping_adapter)}))
    bad_yaml = write(tmp / "run.yaml", 'reward_funcs: [accuracy_reward, "--no-resume"]\n')
    samples = ["--output", str(tmp / "s.json")]
    return [
        ("main.py", ["--mode", "nsr", "--num-generations", "3", "--batch-size", "2", *out], "not a multiple of"),
        ("main.py", ["--task", "bogus", *out], "argument --task: invalid choice"),
        ("main.py", ["--mode", "bogus", *out], "argument --mode: invalid choice"),
        ("main.py", ["--prompt-style", "bogus", *out], "--prompt-style 'bogus' is not a prompt style"),
        ("main.py", ["--vlm-name", "no-such-model", *out], "model 'no-such-model' is neither"),
        ("main.py", ["--vlm-name", "tiny-text", *out], "is a text-only model, but the chart task shows images"),
        ("main.py", ["--vlm-name", str(broken_model), *out], "not valid JSON"),
        ("main.py", ["--vlm-name", str(looping_adapter), *out], "leads back to"),
        ("main.py", ["--seed", "-1", *out], "--seed must be an integer in [0, 4294967295]"),
        ("main.py", ["--learning-rate", "-1", *out], "--learning-rate must be"),
        ("main.py", ["--config", str(bad_yaml), *out], "starts with '-', which would make it a flag"),
        (
            "main.py",
            ["--task", "countdown", "--vlm-name", "tiny-text", "--dataset-path", str(countdown_rows), *out],
            "missing column(s) nums, target",
        ),
        ("generate_samples.py", ["--checkpoint-path", "tiny", "--task", "bogus", *samples], "unknown task"),
        ("generate_samples.py", ["--checkpoint-path", "tiny", "--prompt-style", "x", *samples], "prompt style"),
        ("generate_samples.py", ["--checkpoint-path", "no-such-model", *samples], "is neither a short name"),
        ("generate_samples.py", ["--checkpoint-path", "tiny-text", *samples], "is a text-only model"),
        ("generate_samples.py", ["--checkpoint-path", str(broken_model), *samples], "not valid JSON"),
        ("generate_samples.py", ["--checkpoint-path", str(looping_adapter), *samples], "leads back to"),
        ("generate_samples.py", ["--checkpoint-path", "tiny", "--seed", "-1", *samples], "--seed must be an integer"),
        (
            "generate_samples.py",
            ["--checkpoint-path", "tiny-text", "--task", "countdown", "--dataset-path", str(countdown_rows), *samples],
            "missing column(s) nums, target",
        ),
    ]


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> list[tuple[tuple[str, list[str], str], dict]]:
    tmp = tmp_path_factory.mktemp("early")
    rows = cases(tmp)
    argv = json.dumps([[script, argv] for script, argv, _ in rows])
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, argv], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return list(zip(rows, json.loads(result.stdout.splitlines()[-1]), strict=True))


@pytest.mark.parametrize("index", range(20))
def test_each_refusal_is_one_line_before_torch_is_imported(index, refusals):
    (script, argv, fragment), outcome = refusals[index]
    lines = [line for line in outcome["stderr"].splitlines() if line.strip()]
    assert outcome["code"] == 2, (script, argv, outcome)
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (script, lines)
    assert not outcome["torch"], f"{script} {argv} was refused only after torch was imported"


def test_the_matrix_has_a_test_per_row(tmp_path):
    assert len(cases(tmp_path)) == 20
