"""We subclass private TRL internals; if an upgrade removes one, this fails with a plain message naming it."""

from __future__ import annotations

import inspect

import trl
from trl import GRPOTrainer

from trainers.decomposed_trainer import TRL_METHODS_WE_OVERRIDE

PINNED_TRL = "1.16.0"


def test_trl_is_the_pinned_version():
    assert trl.__version__ == PINNED_TRL, (
        f"trainers/decomposed_trainer.py overrides private methods of TRL {PINNED_TRL}; installed is "
        f"{trl.__version__}. Check each overridden method against the new source before changing the pin."
    )


def test_trl_still_has_every_method_we_override():
    missing = [name for name in TRL_METHODS_WE_OVERRIDE if not callable(getattr(GRPOTrainer, name, None))]
    assert not missing, f"the installed TRL GRPOTrainer no longer has: {', '.join(missing)}"


def test_calculate_rewards_still_returns_the_reward_matrix():
    parameters = list(inspect.signature(GRPOTrainer._calculate_rewards).parameters)
    assert parameters == ["self", "inputs", "prompts", "completions", "completion_ids_list"], (
        f"GRPOTrainer._calculate_rewards changed its signature to {parameters}"
    )
    source = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    for needed in ("self._calculate_rewards(", '"num_items_in_batch"', '"tool_mask"', '"advantages"'):
        assert needed in source, f"GRPOTrainer._generate_and_score_completions no longer uses {needed}"
    loss_source = inspect.getsource(GRPOTrainer._compute_loss)
    assert 'inputs["tool_mask"]' in loss_source, "GRPOTrainer._compute_loss no longer reads the loss mask tool_mask"
