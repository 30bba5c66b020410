"""generate_samples.py through vLLM's CPU build against the transformers path, on the models in rlvr/models/tiny.py.

- the samples file of ``--engine vllm`` has the schema of ``--engine transformers``;
- greedy decoding (``--top-p 1e-6`` keeps only the most likely token, in both engines) gives the same samples;
- at temperature 1 the per-problem correct counts of the two engines agree within sampling noise (the test is
  stated at ``counts_agree``);
- n, temperature, top-p, max tokens and the seed reach vLLM as given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.sampling import SamplingSettings
from tests_vllm.runs import ARITHMETIC, run_script

GREEDY_TOP_P = "1e-6"  # below any runner-up's probability: only the most likely token is left to draw


def sample(tmp_path: Path, name: str, engine: str, *flags: str) -> dict:
    """generate_samples.py with ``--engine``; the samples file it wrote."""
    output = tmp_path / f"{name}-{engine}.json"
    run_script("generate_samples.py", "--engine", engine, *flags, "--output-path", str(output))
    return json.loads(output.read_text())


def schema(samples_file: dict) -> tuple:
    return set(samples_file["metadata"]), [set(problem) for problem in samples_file["problems"]]


# ---------------------------------------------------------------------------------------------------------------
# Greedy: the same samples, and the same file schema


TEXT_GREEDY = [
    "--checkpoint-path", "tiny-text-vllm", "--task", "countdown", "--max-problems", "6", "--num-samples", "2",
    "--top-p", GREEDY_TOP_P, "--max-new-tokens", "24", "--seed", "3",
]  # fmt: skip


def test_text_greedy_samples_match_the_transformers_path(tmp_path):
    ours = sample(tmp_path, "countdown", "vllm", *TEXT_GREEDY)
    theirs = sample(tmp_path, "countdown", "transformers", *TEXT_GREEDY)
    assert schema(ours) == schema(theirs)
    assert {**ours["metadata"], "date": None} == {**theirs["metadata"], "date": None}
    assert [p["samples"] for p in ours["problems"]] == [p["samples"] for p in theirs["problems"]]
    assert all(len(set(p["samples"])) == 1 for p in ours["problems"])  # greedy: n equal samples


def test_arithmetic_greedy_samples_match_the_transformers_path(tmp_path, warm_arith_model):
    flags = [
        "--checkpoint-path", str(warm_arith_model), *ARITHMETIC, "--max-problems", "40", "--num-samples", "1",
        "--top-p", GREEDY_TOP_P, "--max-new-tokens", "8",
    ]  # fmt: skip
    ours, theirs = sample(tmp_path, "arith", "vllm", *flags), sample(tmp_path, "arith", "transformers", *flags)
    assert schema(ours) == schema(theirs)
    assert [p["samples"] for p in ours["problems"]] == [p["samples"] for p in theirs["problems"]]
    assert sum(p["num_correct"] for p in ours["problems"]) > 0  # the warm start answers some problems right


def test_chart_greedy_samples_match_the_transformers_path(tmp_path):
    flags = [
        "--checkpoint-path", "tiny-vllm", "--task", "chart", "--max-problems", "4", "--num-samples", "2",
        "--top-p", GREEDY_TOP_P, "--max-new-tokens", "16",
    ]  # fmt: skip
    ours, theirs = sample(tmp_path, "chart", "vllm", *flags), sample(tmp_path, "chart", "transformers", *flags)
    assert schema(ours) == schema(theirs)
    assert {**ours["metadata"], "date": None} == {**theirs["metadata"], "date": None}
    assert [p["samples"] for p in ours["problems"]] == [p["samples"] for p in theirs["problems"]]
    assert [p["num_correct"] for p in ours["problems"]] == [p["num_correct"] for p in theirs["problems"]]


# ---------------------------------------------------------------------------------------------------------------
# Temperature 1: the same distribution of correct counts


def counts_agree(ours: list[int], theirs: list[int], n: int, alpha: float = 0.001) -> tuple[bool, str]:
    """Whether two engines' per-problem correct counts (n samples each) could come from the same per-problem
    success rates: the Cochran-Mantel-Haenszel test over problems, one 2x2 table (engine x correct) per problem,
    without continuity correction. Under the null, given problem i's pooled count s_i = ours_i + theirs_i, ours_i
    is hypergeometric with mean s_i / 2 and variance n^2 s_i (2n - s_i) / ((2n)^2 (2n - 1)); the sum over problems
    of ours_i - s_i / 2, over its standard deviation, is standard normal. The engines agree when |z| is below the
    two-sided critical value at ``alpha``."""
    from scipy.stats import norm

    pooled = [a + b for a, b in zip(ours, theirs, strict=True)]
    excess = sum(ours) - sum(pooled) / 2
    variance = sum(n * n * s * (2 * n - s) / ((2 * n) ** 2 * (2 * n - 1)) for s in pooled)
    z = excess / variance**0.5
    critical = norm.ppf(1 - alpha / 2)
    return abs(z) < critical, f"z = {z:+.2f} (critical {critical:.2f}), {sum(ours)} vs {sum(theirs)} correct"


def test_counts_agree_accepts_equal_rates_and_rejects_different_ones():
    assert counts_agree([8, 2, 12, 0, 5] * 8, [7, 3, 11, 1, 6] * 8, n=16)[0]
    assert not counts_agree([8, 2, 12, 0, 5] * 8, [4, 0, 7, 0, 2] * 8, n=16)[0]


def test_per_problem_correct_counts_agree_at_temperature_one(tmp_path, warm_arith_model):
    flags = [
        "--checkpoint-path", str(warm_arith_model), *ARITHMETIC, "--max-problems", "48", "--num-samples", "16",
        "--temperature", "1", "--top-p", "1", "--max-new-tokens", "8", "--batch-size", "64",
    ]  # fmt: skip
    ours, theirs = sample(tmp_path, "arith", "vllm", *flags), sample(tmp_path, "arith", "transformers", *flags)
    ours_counts = [p["num_correct"] for p in ours["problems"]]
    theirs_counts = [p["num_correct"] for p in theirs["problems"]]
    # Not a vacuous comparison: problems between never and always right carry the test.
    assert sum(0 < a + b < 32 for a, b in zip(ours_counts, theirs_counts, strict=True)) >= 10
    agree, summary = counts_agree(ours_counts, theirs_counts, n=16)
    print(summary)
    assert agree, summary


def test_seeded_nucleus_sampling_of_many_requests_runs_on_the_cpu(tmp_path):
    """The CPU build stops on "CPU Generator does not use offset" when a seeded request's prompt is prefilled in two
    chunks; load_llm turns chunked prefill off on the CPU. These settings stopped it before."""
    flags = [
        "--checkpoint-path", "tiny-text-vllm", "--task", "countdown", "--max-problems", "4", "--num-samples", "16",
        "--top-p", "0.95", "--max-new-tokens", "32",
    ]  # fmt: skip
    samples_file = sample(tmp_path, "countdown", "vllm", *flags)
    assert [problem["num_total"] for problem in samples_file["problems"]] == [16] * 4


# ---------------------------------------------------------------------------------------------------------------
# The sampling settings reach vLLM


def settings_with(**changes) -> SamplingSettings:
    base = {
        "checkpoint": "tiny-text-vllm", "task": "countdown", "dataset": "synthetic", "dataset_path": None,
        "split": "test", "max_problems": None, "prompt_style": "direct", "num_samples": 4, "temperature": 1.0,
        "top_p": 1.0, "max_new_tokens": 6, "seed": 11, "reward_threshold": 0.5,
    }  # fmt: skip
    return SamplingSettings(**{**base, **changes})


@pytest.fixture(scope="module")
def text_llm():
    from evaluation.vllm_sampling import load_llm
    from rlvr.models.registry import resolve_model

    return load_llm(resolve_model("tiny-text-vllm").source, seed=0, has_gpu=False)


def completions(llm, settings: SamplingSettings, problem_index: int = 0) -> list[tuple[int, ...]]:
    from evaluation.vllm_sampling import sampling_params_for

    params = sampling_params_for(settings, problem_index)
    [output] = llm.generate(["<|im_start|>user\nreach 24<|im_end|>\n<|im_start|>assistant\n"], params)
    return [tuple(completion.token_ids) for completion in output.outputs]


def test_n_max_tokens_and_seed_reach_vllm(text_llm):
    from evaluation.vllm_sampling import sampling_params_for

    params = sampling_params_for(settings_with(num_samples=5, temperature=0.7, top_p=0.9, max_new_tokens=6), 2)
    assert (params.n, params.temperature, params.top_p, params.max_tokens, params.seed) == (5, 0.7, 0.9, 6, 13)

    drawn = completions(text_llm, settings_with(num_samples=5))
    assert len(drawn) == 5
    assert all(len(tokens) <= 6 for tokens in drawn) and max(map(len, drawn)) == 6
    assert completions(text_llm, settings_with(num_samples=5)) == drawn  # the same seed draws the same
    assert completions(text_llm, settings_with(num_samples=5, seed=12)) != drawn
    assert completions(text_llm, settings_with(num_samples=5), problem_index=1) != drawn  # seed + problem index


def test_temperature_and_top_p_reach_vllm(text_llm):
    assert len(set(completions(text_llm, settings_with(num_samples=6)))) > 1  # temperature 1, top-p 1: spread
    assert len(set(completions(text_llm, settings_with(num_samples=6, top_p=float(GREEDY_TOP_P))))) == 1
    assert len(set(completions(text_llm, settings_with(num_samples=6, temperature=1e-3)))) == 1
