"""--help answers fast and shows every option's default, once; every command names its output flag --output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ALL_SCRIPTS = [
    "main.py",
    "generate_samples.py",
    "evaluation/pass_at_k.py",
    "evaluation/compare.py",
    "evaluation/plotting.py",
    "monitor_training.py",
]
# What makes --help slow: loading these takes seconds, and no script needs them to parse its options.
HEAVY_MODULES = ("torch", "transformers", "datasets", "trl")


def help_text(script: str) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / script), "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, time.perf_counter() - started


def option_blocks(text: str) -> dict[str, str]:
    """Each option's help block, keyed by its first flag (the lines from '  --flag' to the next option)."""
    blocks: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^  (-\w|--[\w-]+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current and line.startswith("    "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


@pytest.mark.slow
@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_help_answers_before_any_heavy_module_loads(script):
    # The speed itself is measured, not asserted (a timed test fails on a busy machine): help answers in well under
    # a second on two cores when none of these load.
    probe = (
        "import runpy, sys\n"
        f"sys.argv = [{script!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(REPO_ROOT / script)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert "LOADED []" in result.stdout, result.stdout[-500:] + result.stderr[-2000:]


@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_help_shows_every_default_and_the_output_flag(script):
    text, _ = help_text(script)
    blocks = {flag: block for flag, block in option_blocks(text).items() if flag not in ("-h", "--help")}
    assert blocks, text
    missing = [flag for flag, block in blocks.items() if "default: " not in block]
    assert missing == [], f"{script}: no default shown for {missing}"
    twice = [flag for flag, block in blocks.items() if block.count("default") > 1]
    assert twice == [], f"{script}: the default is said more than once for {twice}"
    assert "--output" in blocks, f"{script}: no --output flag"
