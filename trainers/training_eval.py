"""``--eval-steps N``: unbiased Pass@k of held-out problems every N training steps, logged with the training.

At the start (a fresh run) and after every N-th optimizer step, n completions (``--eval-num-samples``) are drawn for
each of m held-out problems (``--eval-subset-size``, the held-out subset of ``--eval-dataset`` / ``--eval-split``) by
the trainer's own generation and scoring (``_generate_and_score_completions`` in evaluation mode: the same engine,
transformers or vLLM, the same sampling settings, prompts and rewards as the rollouts). A sample is correct when its
verifiable reward is at least ``--reward-threshold``, as in generate_samples.py. Logged: ``eval/pass@k`` for
k = 1, 2, 4, ... up to n and n itself (evaluation's unbiased estimator), ``eval/accuracy`` (the share of correct
samples) and ``eval/seconds``, together with TRL's own evaluation metrics (``eval_reward``, ...), in
trainer_state.json, the console and wandb or tensorboard.

The evaluation draws from a forked random state, so the training's rollouts are the same with or without it.
Several processes split the problems between them (padded to equal shares, the padding left out of the result).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import gather_object
from datasets import Dataset
from transformers import TrainerCallback

from rlvr.estimators import pass_at_k
from rlvr.tasks import load_held_out
from rlvr.tasks.base import Task, add_prompts
from trainers.config import RunConfig
from trainers.objectives import sample_correctness


@dataclass(frozen=True)
class EvalSettings:
    every_steps: int
    num_samples: int
    reward_threshold: float
    seed: int


def eval_k_values(num_samples: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks = [2**power for power in range(num_samples.bit_length()) if 2**power <= num_samples]
    return ks if ks[-1] == num_samples else [*ks, num_samples]


def pass_at_k_metrics(num_correct: np.ndarray, num_samples: int) -> dict[str, float]:
    """``eval/pass@k`` for every k of ``eval_k_values`` and ``eval/accuracy``, from each problem's correct count."""
    counts = np.full(num_correct.shape, num_samples)
    metrics = {f"eval/pass@{k}": float(pass_at_k(counts, num_correct, k).mean()) for k in eval_k_values(num_samples)}
    metrics["eval/accuracy"] = float(num_correct.sum() / (num_samples * num_correct.size))
    return metrics


def held_out_rows(config: RunConfig, task: Task) -> Dataset:
    """The m held-out problems with TRL's prompt column: ``--eval-dataset`` (a dataset name, or a local copy) or the
    training dataset's ``--eval-split``: the held-out subset generate_samples.py draws (rlvr.tasks.load_held_out)."""
    name, path = config.dataset_name, None
    if config.eval_dataset is not None and Path(config.eval_dataset).exists():
        path = config.eval_dataset
    elif config.eval_dataset is not None:
        name = config.eval_dataset
    rows = load_held_out(task, name, config.eval_split, path, config.eval_subset_size)
    return add_prompts(task, rows, config.prompt_style)


class PassAtKDuringTraining(TrainerCallback):
    """Evaluates the trainer it is given at the start and every ``every_steps`` steps (module docstring)."""

    def __init__(self, trainer: Any, rows: Dataset, settings: EvalSettings) -> None:
        self.trainer = trainer
        self.rows = [dict(row) for row in rows]
        self.settings = settings

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step == 0:
            self.evaluate()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.settings.every_steps == 0:
            self.evaluate()

    def evaluate(self) -> dict[str, float]:
        trainer = self.trainer
        started = time.perf_counter()
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        was_training = trainer.model.training
        trainer.model.eval()
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.settings.seed + trainer.state.global_step)
                counts = self._correct_counts()
            metrics = pass_at_k_metrics(counts, self.settings.num_samples)
            metrics["eval/seconds"] = time.perf_counter() - started
            # In evaluation mode TRL adds its own metrics of these samples as eval_*. Logging clears the Trainer's
            # should_log, which the training's own log of this step still needs.
            should_log = trainer.control.should_log
            trainer.log(dict(metrics))
            trainer.control.should_log = should_log
        finally:
            trainer.model.train(was_training)
        if trainer.accelerator.is_main_process:
            shown = " | ".join(f"{key.removeprefix('eval/')} {value:.3f}" for key, value in metrics.items())
            print(
                f"EVAL [step {trainer.state.global_step}]: {len(counts)} problems x {self.settings.num_samples} "
                f"samples | {shown}",
                flush=True,
            )
        return metrics

    def _correct_counts(self) -> np.ndarray:
        """Correct samples per held-out problem, from every process."""
        trainer, n = self.trainer, self.settings.num_samples
        processes, index = trainer.accelerator.num_processes, trainer.accelerator.process_index
        mine = list(range(index, len(self.rows), processes))
        share = -(-len(self.rows) // processes)  # every process makes as many generation calls, of as many rows
        padded = mine + [mine[0] if mine else 0] * (share - len(mine))
        # As many prompts per call as a rollout generates per process, n samples each.
        per_call = max(1, trainer.args.per_device_train_batch_size * trainer.args.steps_per_generation // n)
        found: list[tuple[int, int]] = []
        saved_group = trainer.num_generations_eval
        trainer.num_generations_eval = n
        try:
            for start in range(0, share, per_call):
                chunk = padded[start : start + per_call]
                correct = self._score([self.rows[problem] for problem in chunk for _ in range(n)])
                for position, problem in enumerate(chunk):
                    if start + position < len(mine):
                        found.append((problem, int(correct[position * n : (position + 1) * n].sum())))
        finally:
            trainer.num_generations_eval = saved_group
        gathered = gather_object(found)
        return np.array([count for _, count in sorted(gathered)], dtype=np.int64)

    def _score(self, inputs: list[dict[str, Any]]) -> torch.Tensor:
        """This process's samples of ``inputs`` (one row per sample), correct or not."""
        trainer = self.trainer
        with torch.no_grad():
            trainer._generate_and_score_completions(inputs)
        rewards = trainer._rewards_per_func  # every process's samples, recorded by the decomposed trainer
        start = trainer.accelerator.process_index * len(inputs)
        local = rewards[start : start + len(inputs)]
        correct, _ = sample_correctness(
            local, trainer.reward_weights, trainer._correctness_index, self.settings.reward_threshold, "accuracy"
        )
        return correct.cpu()


def attach_training_evaluation(trainer: Any, config: RunConfig, task: Task) -> None:
    """Pass@k every ``--eval-steps`` and ``--log-kl``, as the run's configuration asks; nothing when it does not."""
    if config.log_kl:
        trainer.enable_kl_logging()
    if config.eval_steps is None:
        return
    settings = EvalSettings(config.eval_steps, config.eval_num_samples, config.reward_threshold, config.seed)
    trainer.add_callback(PassAtKDuringTraining(trainer, held_out_rows(config, task), settings))
