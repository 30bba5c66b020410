"""The end of a training run: train up to the run's last step and never past it, save the final model, and only then
write finished.json.

The Trainer looks for its last step only after taking a step. A run resumed from the checkpoint of its last step
(killed while its final model was being written, or just before) would therefore train one step more whenever that
step falls inside an epoch, and save other weights than an uninterrupted run. ``train_to_the_end`` stops such a
resume before its first step, once the Trainer has loaded the checkpoint's weights: the final model saved from them
is the one the uninterrupted run saves.
"""

from __future__ import annotations

from typing import Any

from trainers.resume import mark_finished


class AtTheLastStep(Exception):
    """Raised as a resumed Trainer begins, when the checkpoint it loaded is at the run's last step already."""


def train_to_the_end(trainer: Any, checkpoint: str | None) -> bool:
    """Train from ``checkpoint`` (None: from the start) up to the run's last step. False when the checkpoint is at
    that step already: nothing is trained, and the trainer holds the checkpoint's weights and state."""
    from transformers import TrainerCallback

    class StopAtTheLastStep(TrainerCallback):
        # on_train_begin comes after the checkpoint is loaded (model, optimizer, state) and before the first batch;
        # state.max_steps is the Trainer's own count of this run's steps (from --max-steps or the epochs).
        def on_train_begin(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                raise AtTheLastStep

    # First, so that no other callback starts work (a progress bar, a logger's run) for a training that ends here
    trainer.callback_handler.callbacks.insert(0, StopAtTheLastStep())
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
    except AtTheLastStep:
        return False
    finally:
        trainer.remove_callback(StopAtTheLastStep)
    return True


def save_final_model(trainer: Any, processor: Any, output_dir: str) -> None:
    """The model (or LoRA adapter) and the processor where generate_samples.py and transformers load them, then
    finished.json: a run killed while saving has no finished.json and is resumed, never taken for a finished one."""
    trainer.save_model(output_dir)
    if trainer.accelerator.is_main_process:
        processor.save_pretrained(output_dir)
        mark_finished(output_dir, trainer.state.global_step)
