"""The batch geometry of an RL run: how many completions a micro-step, an optimizer update and a rollout hold.

Words used throughout (docs/training.md, "Steps, updates and rollouts"):
- a *micro-step* is one forward and backward pass over ``per_device_batch`` completions on each process;
- an *update slot* is ``accumulation_steps`` micro-steps ending in (at most) one optimizer update; it is what
  TRL and the Trainer count as a step (``global_step``, ``--max-steps``, ``--save-steps``);
- a *rollout* is one generation batch, ``steps_per_generation`` micro-steps, so it has
  ``steps_per_generation / accumulation_steps`` update slots.

The paper's geometry is given as prompts: ``--rollout-prompts`` (1,024) and ``--update-prompts`` (256), with
``--num-generations`` (8) samples each; the per-device micro-batch stays ``--batch-size`` (a memory choice) and
the rest is derived for the number of processes. Each process generates its whole share of a rollout in one
``generate`` call, so ``--rollout-prompts`` x ``--num-generations`` / processes sequences decode together;
``--batch-size``, when omitted, is chosen from the GPU's memory (trainers/micro_batch.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rlvr.errors import UserError
from trainers.config import RunConfig
from trainers.micro_batch import CPU_MICRO_BATCH


@dataclass(frozen=True)
class BatchGeometry:
    per_device_batch: int
    accumulation_steps: int
    steps_per_generation: int
    num_processes: int
    num_generations: int

    @property
    def completions_per_update(self) -> int:
        return self.per_device_batch * self.accumulation_steps * self.num_processes

    @property
    def completions_per_rollout(self) -> int:
        return self.per_device_batch * self.steps_per_generation * self.num_processes

    @property
    def update_slots_per_rollout(self) -> int:
        return self.steps_per_generation // self.accumulation_steps

    @property
    def sequences_per_generate_call(self) -> int:
        """What TRL hands one ``generate`` call on each process: its whole share of the rollout, prompts repeated
        ``num_generations`` times. This, not the micro-batch, sets the speed of transformers generation."""
        return self.per_device_batch * self.steps_per_generation

    def generation_line(self) -> str:
        return (
            f"Generation: {self.sequences_per_generate_call} sequences per generate call on each of "
            f"{self.num_processes} process(es) "
            f"({self.completions_per_rollout // self.num_generations} prompts x {self.num_generations} per rollout)"
        )

    def describe(self) -> str:
        return (
            f"{self.completions_per_rollout} completions per rollout "
            f"({self.completions_per_rollout // self.num_generations} prompts x {self.num_generations}), "
            f"{self.update_slots_per_rollout} update slots of {self.completions_per_update} completions; "
            f"{self.num_processes} process(es) x {self.per_device_batch} completions x {self.accumulation_steps} "
            "accumulation steps"
        )


def num_processes() -> int:
    """The processes of this run, as accelerate launch or torchrun tell each of them."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def batch_geometry(config: RunConfig, processes: int) -> BatchGeometry:
    """The run's geometry on ``processes`` processes; one line naming the flags when they cannot divide."""
    generations = config.num_generations
    batch_size = config.batch_size or CPU_MICRO_BATCH
    if config.rollout_prompts is not None and config.update_prompts is not None:
        per_update = config.update_prompts * generations
        if per_update % processes:
            raise UserError(
                f"--update-prompts ({config.update_prompts}) x --num-generations ({generations}) = {per_update} "
                f"completions per update do not split evenly over {processes} processes"
            )
        per_process = per_update // processes
        if per_process % batch_size:
            raise UserError(
                f"{per_process} completions per process and update are not a multiple of --batch-size "
                f"({batch_size}); choose a --batch-size that divides {per_process}"
            )
        accumulation = per_process // batch_size
        steps_per_generation = accumulation * (config.rollout_prompts // config.update_prompts)
    else:
        accumulation = config.gradient_accumulation_steps
        steps_per_generation = config.steps_per_generation or accumulation
        if steps_per_generation % accumulation:
            raise UserError(
                f"--steps-per-generation ({steps_per_generation}) must be a multiple of "
                f"--gradient-accumulation-steps ({accumulation}): a rollout is a whole number of updates"
            )
    geometry = BatchGeometry(batch_size, accumulation, steps_per_generation, processes, generations)
    if geometry.completions_per_rollout % generations:
        raise UserError(
            f"--batch-size ({batch_size}) x steps per generation ({steps_per_generation}) x processes "
            f"({processes}) = {geometry.completions_per_rollout} completions per generation batch, not a multiple "
            f"of --num-generations ({generations})"
        )
    return geometry
