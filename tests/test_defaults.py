"""One default each: generate_samples.py samples as the paper evaluates (temperature 0.6, top-p 0.95), and main.py
and every recipe in configs/ write a run to the same place, runs/{model}-{task}-{dataset}-{mode}-{seed}, which is
where the README's commands read it from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import generate_samples
from trainers.config_parser import parse_run_config

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO_ROOT / "configs").glob("*.yaml"))


def test_generate_samples_samples_at_the_papers_settings():
    args = generate_samples.build_parser().parse_args(["--checkpoint-path", "tiny"])
    assert (args.temperature, args.top_p) == (0.6, 0.95)


@pytest.mark.parametrize("path", CONFIGS, ids=[path.name for path in CONFIGS])
def test_a_recipe_writes_where_the_same_command_line_writes(path):
    config = parse_run_config(["--config", str(path)])
    typed = parse_run_config(
        ["--mode", config.mode, "--task", config.task, "--vlm-name", config.model, "--dataset-name",
         str(config.dataset_name), "--seed", str(config.seed)]
    )  # fmt: skip
    assert config.output_dir == typed.output_dir
    named = f"{config.model_tag}-{config.task}-{config.dataset_name}-{config.mode}-{config.seed}"
    assert config.output_dir == f"runs/{named}"


def test_the_readme_reads_the_run_the_chart_recipe_writes():
    readme = (REPO_ROOT / "README.md").read_text()
    recipe = parse_run_config(["--config", str(REPO_ROOT / "configs" / "chart-vl3b-nsr.yaml")])
    read_from = set(re.findall(r"--checkpoint-(?:path|dir) (\S+)", readme))
    assert read_from == {recipe.output_dir}
