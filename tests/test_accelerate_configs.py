"""The shipped accelerate configs parse with accelerate's own loader and say what the docs say they do."""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("file_name", "num_processes", "mixed_precision"),
    [("deepspeed_zero3.yaml", 1, "bf16"), ("deepspeed_zero3_2gpu.yaml", 2, "fp16")],
)
def test_deepspeed_zero3_configs(file_name, num_processes, mixed_precision):
    config = load_config_from_file(str(REPO_ROOT / file_name))
    assert config.distributed_type == "DEEPSPEED"
    assert config.num_processes == num_processes
    assert config.mixed_precision == mixed_precision
    assert config.deepspeed_config["zero_stage"] == 3
    assert config.deepspeed_config["zero3_init_flag"] is True
    assert config.deepspeed_config["zero3_save_16bit_model"] is True
    assert config.deepspeed_config["offload_param_device"] == "none"


def test_models_load_without_device_map_so_zero3_can_shard_them():
    import inspect

    from rlvr.models import registry

    assert "device_map=" not in inspect.getsource(registry.load_model)
