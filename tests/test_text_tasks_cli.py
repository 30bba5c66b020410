"""The text tasks through main.py, and the recipe YAMLs in configs/.

The slow tests run main.py in a subprocess on the tiny offline text model (about 20 s each): every RL mode on
Countdown, NSR and GRPO on math.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr.methods import RL_MODES
from rlvr.tasks import get_task
from trainers.config_parser import parse_run_config
from trainers.geometry import batch_geometry

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO_ROOT / "configs").glob("*.yaml"))
# The chart recipe is the one-GPU geometry of the README (tests/test_rollout_geometry.py), not the paper's.
PAPER_GEOMETRY_CONFIGS = [path for path in CONFIGS if not path.name.startswith("chart-")]
PAPER_MODES = RL_MODES
CORRECTNESS_REWARD = {"countdown": "countdown_accuracy_reward", "math": "math_accuracy_reward"}


# Recipes


def test_the_paper_recipes_and_a_countdown_recipe_exist():
    names = {path.name for path in CONFIGS}
    assert {f"paper-math-{mode}.yaml" for mode in PAPER_MODES} <= names
    assert any(name.startswith("countdown-") for name in names)


@pytest.mark.parametrize("path", CONFIGS, ids=[path.name for path in CONFIGS])
def test_every_recipe_parses_with_valid_keys_dataset_and_prompt_style(path):
    args = parse_run_config(["--config", str(path)])  # an unknown key would be a UserError
    task = get_task(args.task)
    assert args.dataset_name is None or args.dataset_name in task.dataset_names
    assert args.prompt_style is None or args.prompt_style in task.prompt_styles


def test_the_countdown_recipe_uses_the_paper_objective_settings():
    args = parse_run_config(["--config", str(REPO_ROOT / "configs" / "countdown-nsr.yaml")])
    assert (args.mode, args.task, args.dataset_name, args.prompt_style) == (
        "nsr", "countdown", "countdown-tasks-3to4", "think"
    )  # fmt: skip
    assert args.lora is False and args.learning_rate == 1e-6 and args.lr_scheduler_type == "constant"
    assert args.num_generations == 8 and args.temperature == 1.0 and args.entropy_coef == 0.001 and args.beta == 0


@pytest.mark.parametrize("mode", PAPER_MODES)
def test_paper_math_recipes_hold_the_paper_settings(mode):
    args = parse_run_config(["--config", str(REPO_ROOT / "configs" / f"paper-math-{mode}.yaml")])
    assert (args.mode, args.task, args.dataset_name, args.model) == (mode, "math", "math", "qwen2.5-math-7b")
    assert args.learning_rate == 1e-6 and args.lr_scheduler_type == "constant"
    assert args.num_generations == 8 and args.temperature == 1.0 and args.max_completion_length == 3072
    assert args.beta == (0.001 if mode == "grpo" else 0.0)
    assert args.entropy_coef == 0.001 and args.lambda_psr == 0.1
    assert args.lora is False and args.prompt_style == "boxed" and args.num_epochs == 20


@pytest.mark.parametrize("processes", [1, 2, 8])
@pytest.mark.parametrize("path", PAPER_GEOMETRY_CONFIGS, ids=[path.name for path in PAPER_GEOMETRY_CONFIGS])
def test_every_recipe_starts_with_the_paper_geometry_on_1_2_and_8_gpus(path, processes):
    config = parse_run_config(["--config", str(path)])
    geometry = batch_geometry(config, processes)
    assert geometry.completions_per_rollout == 1024 * 8 and geometry.completions_per_update == 256 * 8
    assert geometry.update_slots_per_rollout == 4
    assert geometry.accumulation_steps * geometry.per_device_batch * processes == 2048
    assert config.weight_decay == 0.01 and config.vllm_importance_sampling_correction is False
    assert config.save_steps % geometry.update_slots_per_rollout == 0


def test_the_command_line_wins_over_a_recipe():
    path = REPO_ROOT / "configs" / "paper-math-nsr.yaml"
    args = parse_run_config(["--config", str(path), "--mode", "psr", "--vlm-name", "tiny-text", "--lora"])
    assert (args.mode, args.model, args.lora) == ("psr", "tiny-text", True)
    assert args.learning_rate == 1e-6  # the rest still comes from the file


# main.py end to end


def run_main(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(REPO_ROOT / "main.py"), *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=600)


def train_two_steps(task: str, mode: str, output_dir: Path) -> subprocess.CompletedProcess:
    return run_main(
        "--task", task, "--mode", mode, "--vlm-name", "tiny-text", "--dataset-name", "synthetic",
        "--subset-size", "8", "--max-steps", "2", "--max-completion-length", "12", "--report-to", "none",
        "--logging-steps", "1", "--output-dir", str(output_dir),
    )  # fmt: skip


def check_trained(task: str, mode: str, output_dir: Path, result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{mode.upper()} [step 2]:" in result.stdout
    assert (output_dir / "adapter_model.safetensors").exists()
    state = json.loads((output_dir / "checkpoint-2" / "trainer_state.json").read_text())
    steps = [entry for entry in state["log_history"] if "loss" in entry]
    assert [entry["step"] for entry in steps] == [1, 2]
    # The task's correctness reward was computed on every step, whatever the mode trains on.
    reward_key = f"rewards/{CORRECTNESS_REWARD[task]}/mean"
    assert all(0.0 <= entry[reward_key] <= 1.0 for entry in steps)
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("mode", PAPER_MODES)
def test_every_mode_trains_on_countdown(mode, tmp_path):
    steps = check_trained("countdown", mode, tmp_path, train_two_steps("countdown", mode, tmp_path))
    for entry in steps:
        correct = entry["objective/positive_frac"]
        if mode == "nsr":
            assert entry["objective/kept_frac"] == pytest.approx(1.0 - correct)
        elif mode == "psr":
            assert entry["objective/kept_frac"] == pytest.approx(correct)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["nsr", "grpo"])
def test_nsr_and_grpo_train_on_math(mode, tmp_path):
    check_trained("math", mode, tmp_path, train_two_steps("math", mode, tmp_path))


@pytest.mark.slow
def test_an_unknown_dataset_for_a_text_task_is_one_line_and_exit_code_2(tmp_path):
    result = run_main(
        "--task", "math", "--mode", "nsr", "--vlm-name", "tiny-text", "--dataset-name", "gsm8k",
        "--report-to", "none", "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: unknown math dataset 'gsm8k'")
