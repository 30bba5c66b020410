"""--static-cache gives the same greedy completions as the default dynamic cache, inside ``trainer.train()``.

Greedy decoding (TRL's generation config switched to ``do_sample=False``) makes the completions a function of the
weights alone, so the two caches must agree token for token. torch.compile of the decode step
(``--compile-generation``) compiles for tens of seconds on the CPU, so its test is marked slow (``make test`` runs
it, ``make test-fast`` does not); ``benchmarks/bench_gpu.py`` measures it on a GPU.
"""

from __future__ import annotations

import pytest

from rlvr.models.registry import load_model, load_processor, resolve_model
from trainers.config_parser import parse_run_config
from trainers.generation_probe import GenerationRecorder
from trainers.rl_run import build_rl_trainer

ONE_STEP = [
    "--max-steps", "1", "--report-to", "none", "--subset-size", "4", "--num-generations", "2",
    "--max-completion-length", "6", "--no-resume", "--no-lora",
]  # fmt: skip
MODELS = {
    "text": ["--model", "tiny-text", "--task", "countdown"],
    "vision-language": ["--model", "tiny", "--task", "chart", "--reward-funcs", "accuracy_reward"],
}


def greedy_completions(flags: list[str], output_dir) -> tuple[list[list[int]], list[str]]:
    config = parse_run_config([*flags, *ONE_STEP, "--output-dir", str(output_dir)])
    source = resolve_model(config.model)
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    trainer.generation_config.do_sample = False
    recorder = GenerationRecorder(trainer)
    trainer.train()
    [call] = recorder.calls
    return call.completion_ids, call.cache_problems()


@pytest.mark.parametrize("flags", MODELS.values(), ids=MODELS.keys())
def test_static_cache_gives_the_default_greedy_completions(flags, tmp_path):
    default, default_problems = greedy_completions(flags, tmp_path / "dynamic")
    static, static_problems = greedy_completions([*flags, "--static-cache"], tmp_path / "static")
    assert default_problems == [] and static_problems == []
    assert len(default) == 4 and all(default)
    assert static == default


def test_the_flags_reach_trl_generation_config(tmp_path):
    flags = [*MODELS["text"], *ONE_STEP, "--output-dir", str(tmp_path)]
    source = resolve_model("tiny-text")
    plain = build_rl_trainer(parse_run_config(flags), load_model(source), load_processor(source))
    assert plain.generation_config.cache_implementation is None and plain.generation_config.disable_compile
    compiled_config = parse_run_config([*flags, "--compile-generation"])
    compiled = build_rl_trainer(compiled_config, load_model(source), load_processor(source))
    assert compiled.generation_config.cache_implementation == "static"
    assert not compiled.generation_config.disable_compile
    assert compiled.args.pad_to_multiple_of == 64
    # One cache size for every rollout: the completion cap (6 here) plus room for the prompt, or the flag's.
    assert compiled.generation_config.max_cache_len == 6 + 1024
    sized = parse_run_config([*flags, "--static-cache", "--static-cache-tokens", "300"])
    assert build_rl_trainer(sized, load_model(source), load_processor(source)).generation_config.max_cache_len == 300


@pytest.mark.slow
def test_compiled_generation_gives_the_default_greedy_completions(tmp_path):
    """torch.compile of the static-cache decode step compiles for tens of seconds on the CPU: marked slow."""
    default, _ = greedy_completions(MODELS["text"], tmp_path / "dynamic")
    compiled, problems = greedy_completions([*MODELS["text"], "--compile-generation"], tmp_path / "compiled")
    assert problems == []
    assert compiled == default


def test_a_users_generation_kwargs_join_the_static_cache_size(tmp_path):
    flags = [*MODELS["text"], *ONE_STEP, "--output-dir", str(tmp_path), "--static-cache"]
    config = parse_run_config([*flags, "--generation_kwargs", '{"top_k": 20}'])
    source = resolve_model("tiny-text")
    trainer = build_rl_trainer(config, load_model(source), load_processor(source))
    assert trainer.args.generation_kwargs == {"max_cache_len": 6 + 1024, "top_k": 20}
    assert trainer.generation_config.max_cache_len == 6 + 1024 and trainer.generation_config.top_k == 20


def test_vllm_gets_no_transformers_cache_fields_and_the_cache_flags_refuse_trls_own(tmp_path):
    from rlvr.errors import UserError
    from trainers.generation_speed import grpo_generation_fields

    flags = [*MODELS["text"], *ONE_STEP, "--output-dir", str(tmp_path)]
    assert grpo_generation_fields(parse_run_config([*flags, "--use-vllm", "--compile-generation"])) == {}
    with pytest.raises(UserError, match="--cache_implementation is set by --static-cache / --compile-generation"):
        parse_run_config([*flags, "--static-cache", "--cache_implementation", "dynamic"])
