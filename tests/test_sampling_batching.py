"""generate_samples.py's batching and sharding: problems sharing a generate call in fixed blocks, the batch size
chosen from memory, resuming inside a block, shards merged into the file one run writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import generate_samples
from evaluation import sampling
from evaluation.batching import (
    batch_size_for_memory,
    call_groups,
    choose_batch_size,
    kv_cache_bytes_per_sequence,
    problems_per_call,
    shard_indices,
)
from evaluation.merge_samples import main as merge_main
from evaluation.progress import ProgressWriter, SamplingSettings, progress_path_for
from evaluation.sampling import draw_group_samples, draw_samples
from rlvr.generation import encode_prompts, generate_completions, prefill_prompts
from rlvr.models.checkpoints import load_checkpoint
from rlvr.tasks import HELD_OUT_DATASET_SEED, get_task

CPU = torch.device("cpu")
CHART = get_task("chart")
# Two samples per problem, four sequences per call: problems 0-1 share a call, then 2-3.
BATCHED = ["--checkpoint-path", "tiny", "--num-samples", "2", "--max-new-tokens", "6", "--max-problems", "3"]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run(tmp_path: Path, name: str, *flags: str) -> dict:
    output = tmp_path / name
    assert generate_samples.main([*BATCHED, *flags, "--output-path", str(output)]) == 0
    return read_json(output)


@pytest.fixture(scope="module")
def batched_reference(tmp_path_factory) -> dict:
    return run(tmp_path_factory.mktemp("batched"), "samples.json", "--batch-size", "4")


@pytest.fixture(scope="module")
def tiny_checkpoint():
    return load_checkpoint("tiny", CPU)


@pytest.fixture(scope="module")
def chart_rows() -> list[dict]:
    dataset = CHART.load_dataset("synthetic", "test", None, 3, HELD_OUT_DATASET_SEED)
    return [dataset[index] for index in range(len(dataset))]


def settings(**changes) -> SamplingSettings:
    values = dict(
        checkpoint="tiny", task="chart", dataset="synthetic", dataset_path=None, split="test", max_problems=3,
        prompt_style=CHART.default_prompt_style, num_samples=2, temperature=0.6, top_p=0.95, max_new_tokens=6,
        seed=2025, reward_threshold=0.5,
    )  # fmt: skip
    return SamplingSettings(**{**values, **changes})


# ---------------------------------------------------------------------------------------------------------------
# Splitting the work


@pytest.mark.parametrize(("num_problems", "num_shards"), [(10, 3), (3, 3), (7, 1), (2, 4)])
def test_shards_are_contiguous_runs_that_cover_every_problem_once(num_problems, num_shards):
    shards = [shard_indices(num_problems, num_shards, index) for index in range(num_shards)]
    assert [index for shard in shards for index in shard] == list(range(num_problems))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError, match="shard index"):
        shard_indices(num_problems, num_shards, num_shards)


def test_calls_hold_fixed_blocks_of_indices_not_whatever_is_left():
    assert problems_per_call(batch_size=8, num_samples=2) == 4
    assert problems_per_call(batch_size=8, num_samples=256) == 1
    assert call_groups([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    # A shard or a resumed run starting mid-block keeps the blocks of a whole run.
    assert call_groups([3, 4, 5, 6], 2) == [[3], [4, 5], [6]]


def test_batch_size_from_memory_is_whole_problems_when_one_fits():
    assert batch_size_for_memory(free_bytes=10_000, bytes_per_sequence=10, num_samples=64) == 448  # 500 fit
    assert batch_size_for_memory(free_bytes=10_000, bytes_per_sequence=100, num_samples=64) == 50  # under one
    assert batch_size_for_memory(free_bytes=10, bytes_per_sequence=100, num_samples=64) == 1
    assert batch_size_for_memory(free_bytes=10**15, bytes_per_sequence=1, num_samples=256) == 1024  # the cap


def test_kv_cache_size_follows_the_model_config_and_the_cpu_takes_one_problem_per_call(tiny_checkpoint):
    model = tiny_checkpoint.model
    config = getattr(model.config, "text_config", None) or model.config
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    per_token = 2 * config.num_hidden_layers * kv_heads * head_dim * model.dtype.itemsize
    assert kv_cache_bytes_per_sequence(model, 100) == 100 * per_token
    # On a CPU: one problem per call with all its samples (they share the prompt cache), when memory allows.
    assert choose_batch_size(model, CPU, num_samples=256, sequence_tokens=100) == 256
    assert choose_batch_size(model, CPU, num_samples=4, sequence_tokens=100) == 4


# ---------------------------------------------------------------------------------------------------------------
# Drawing several problems in one call


def test_a_call_samples_every_problem_of_its_block_under_the_first_problems_seed(tiny_checkpoint, chart_rows):
    model, processor = tiny_checkpoint.model, tiny_checkpoint.processor
    drawn = draw_group_samples(model, processor, CHART, chart_rows[:2], settings(), first_index=0)

    encoded = encode_prompts(processor, CHART, chart_rows[:2], CHART.default_prompt_style, CPU)
    torch.manual_seed(2025)
    flat = generate_completions(
        model,
        processor,
        encoded,
        num_return_sequences=2,
        do_sample=True,
        temperature=0.6,
        top_p=0.95,
        max_new_tokens=6,
    )
    assert drawn == [flat[:2], flat[2:]]


def test_a_block_of_one_problem_draws_what_the_one_problem_path_draws(tiny_checkpoint, chart_rows):
    model, processor = tiny_checkpoint.model, tiny_checkpoint.processor
    alone = draw_samples(model, processor, CHART, chart_rows[2], settings(), problem_index=2, batch_size=4)
    assert draw_group_samples(model, processor, CHART, chart_rows[2:], settings(), first_index=2) == [alone]


def test_batched_file_has_the_schema_of_the_one_problem_path(batched_reference, tmp_path):
    one_at_a_time = run(tmp_path, "single.json", "--batch-size", "2")
    assert set(batched_reference["metadata"]) == set(one_at_a_time["metadata"])
    for batched, single in zip(batched_reference["problems"], one_at_a_time["problems"], strict=True):
        assert set(batched) == set(single) and batched["problem_id"] == single["problem_id"]
        assert batched["num_total"] == len(batched["samples"]) == 2


def test_generate_is_called_once_per_block(monkeypatch, tmp_path):
    blocks = []

    def recording(model, processor, task, rows, settings, first_index):
        blocks.append((first_index, len(rows)))
        return [["<answer>1</answer>"] * settings.num_samples for _ in rows]

    monkeypatch.setattr(sampling, "draw_group_samples", recording)
    run(tmp_path, "samples.json", "--batch-size", "4")
    assert blocks == [(0, 2), (2, 1)]


def test_resuming_inside_a_block_redraws_the_block_and_matches_an_uninterrupted_run(batched_reference, tmp_path):
    output = tmp_path / "samples.json"
    with ProgressWriter(progress_path_for(output), settings(), None) as progress:
        progress.append(batched_reference["problems"][0])  # killed after problem 0, before its block-mate 1
    assert run(tmp_path, "samples.json", "--batch-size", "4")["problems"] == batched_reference["problems"]


# ---------------------------------------------------------------------------------------------------------------
# Shards and merging


@pytest.mark.parametrize("batch_size", ["2", "4"])  # one problem per call; two, with shard edges on block edges
def test_merged_shards_equal_one_run(batched_reference, tmp_path, batch_size):
    whole = batched_reference if batch_size == "4" else run(tmp_path, "whole.json", "--batch-size", batch_size)
    shard_flags = [("--num-shards", "2", "--shard-index", str(index), "--batch-size", batch_size) for index in (0, 1)]
    shards = [run(tmp_path, f"shard{index}.json", *flags) for index, flags in enumerate(shard_flags)]
    assert [len(shard["problems"]) for shard in shards] == [2, 1]
    assert shards[1]["metadata"]["shard_index"] == 1 and shards[1]["metadata"]["num_shards"] == 2

    merged_path = tmp_path / "merged.json"
    # Given in any order.
    assert (
        merge_main([str(tmp_path / "shard1.json"), str(tmp_path / "shard0.json"), "--output-path", str(merged_path)])
        == 0
    )
    merged = read_json(merged_path)
    assert merged["problems"] == whole["problems"]
    assert {**merged["metadata"], "date": None} == {**whole["metadata"], "date": None}


def test_merging_refuses_missing_repeated_or_foreign_shards(batched_reference, tmp_path, capsys):
    def shard_file(name: str, problems: list[dict], **changes) -> str:
        metadata = {**settings(num_shards=2, **changes).as_dict(), "num_problems": len(problems)}
        path = tmp_path / name
        path.write_text(json.dumps({"metadata": metadata, "problems": problems}), encoding="utf-8")
        return str(path)

    first, second = batched_reference["problems"][:2], batched_reference["problems"][2:]
    zero = shard_file("zero.json", first, shard_index=0)
    one = shard_file("one.json", second, shard_index=1)
    other_seed = shard_file("seed.json", second, shard_index=1, seed=7)
    also_zero = shard_file("again.json", second, shard_index=0)
    output = str(tmp_path / "merged.json")
    for shards, message in [
        ([zero], "shard(s) 1 of 2 missing"),
        ([zero, also_zero], "are both shard 0"),
        ([zero, other_seed], "other settings"),
        ([zero, zero], "are both shard 0"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            merge_main([*shards, "--output-path", output])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert not Path(output).exists()
    assert merge_main([zero, one, "--output-path", output]) == 0


def test_a_shard_index_outside_the_shards_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        generate_samples.main(
            [*BATCHED, "--num-shards", "2", "--shard-index", "2", "--output-path", str(tmp_path / "s")]
        )
    assert exit_info.value.code == 2
    assert "--shard-index must lie in 0..1" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# The prompt read once


@pytest.mark.parametrize(("model_name", "task_name"), [("tiny", "chart"), ("tiny-text", "countdown")])
def test_samples_from_the_prompt_cache_equal_samples_without_it(model_name, task_name):
    task, checkpoint = get_task(task_name), load_checkpoint(model_name, CPU)
    model, processor = checkpoint.model, checkpoint.processor
    rows = [task.load_dataset("synthetic", "test", None, 1, HELD_OUT_DATASET_SEED)[0]]
    encoded = encode_prompts(processor, task, rows, task.default_prompt_style, CPU)  # one prompt: nothing padded
    prompt_cache = prefill_prompts(model, encoded)
    assert prompt_cache is not None, "the tiny models must take the cached path, or this test checks nothing"
    sampling = {"num_return_sequences": 3, "do_sample": True, "top_p": 0.95, "max_new_tokens": 6}
    torch.manual_seed(11)
    plain = generate_completions(model, processor, encoded, **sampling)
    torch.manual_seed(11)
    cached = generate_completions(model, processor, encoded, prompt_cache=prompt_cache, **sampling)
    torch.manual_seed(11)
    again = generate_completions(model, processor, encoded, prompt_cache=prompt_cache, **sampling)  # reusable
    assert cached == plain == again
    assert len(plain) == 3


def test_a_prompt_answers_alike_alone_and_beside_a_longer_prompt():
    # Left padding must not move a shorter prompt: a prompt cache built by a plain forward would number the padding
    # and shift every later position of the shorter prompt (it cost tiny-arith 5 points of accuracy).
    checkpoint = load_checkpoint("tiny-arith", torch.device("cpu"))
    task = get_task("arithmetic")
    short, long = {"expression": "7+5"}, {"expression": "47+85"}
    alone = encode_prompts(checkpoint.processor, task, [short], "plain", torch.device("cpu"))
    together = encode_prompts(checkpoint.processor, task, [short, long], "plain", torch.device("cpu"))
    assert not bool(together["attention_mask"].all())  # the short prompt is padded
    assert prefill_prompts(checkpoint.model, together) is None
    assert prefill_prompts(checkpoint.model, alone) is not None
    greedy = {"num_return_sequences": 1, "max_new_tokens": 6}
    by_itself = generate_completions(
        checkpoint.model, checkpoint.processor, alone, prompt_cache=prefill_prompts(checkpoint.model, alone), **greedy
    )
    beside = generate_completions(checkpoint.model, checkpoint.processor, together, **greedy)
    assert beside[0] == by_itself[0]
