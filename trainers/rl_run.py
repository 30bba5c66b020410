"""An RL trainer as main.py builds it, around a model already in memory: for measurements of main.py's own path.

main.py loads the model by name; the throughput benchmark builds randomly initialised models of the real sizes in
memory, and the tests hook the model before training. Both need everything else exactly as main.py does it: the
task's dataset, the rewards (with the correctness reward joined), their startup check, the geometry for the
process count, and ``build_trainer``.
"""

from __future__ import annotations

from rlvr.tasks import get_task
from rlvr.tasks.base import select_rewards
from rlvr.tasks.system_prompt import with_system_prompt
from trainers.builders import build_trainer
from trainers.config import RunConfig
from trainers.geometry import batch_geometry, num_processes
from trainers.micro_batch import with_micro_batch
from trainers.run_data import load_run_dataset
from trainers.setup import run_name_for, use_short_console_log


def build_rl_trainer(config: RunConfig, model, processor):
    """The DecomposedGRPOTrainer main.py would train for ``config`` (an RL mode), on ``model`` and ``processor``."""
    task = with_system_prompt(get_task(config.task), config.system_prompt)
    dataset = load_run_dataset(config, task)
    rewards = select_rewards(
        task, config.reward_funcs, config.reward_weights, needs_correctness=True, correctness=config.correctness_reward
    )
    task.startup_check(rewards.names)
    config = with_micro_batch(config, num_processes(), task.is_multimodal)
    geometry = batch_geometry(config, num_processes())
    trainer = build_trainer(config, task, model, processor, dataset, rewards, geometry, run_name_for(config), [])
    use_short_console_log(trainer)
    return trainer
