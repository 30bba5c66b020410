"""Sampling through vLLM, used by generate_samples.py when vLLM is installed and a GPU is there, or when
``--engine vllm`` asks for it (also on the CPU, with vLLM's CPU build: tests_vllm/, docs/vllm-cpu.md).

One request per problem asks for all n samples (``SamplingParams(n=...)``), and vLLM batches the requests itself
(paged KV cache, the prompt read once per request). Each request carries its own seed, seed + problem index, so a
problem's samples depend on neither the other problems nor the order: resuming and sharding give the same file.
The samples are not the transformers path's samples (another sampler), but the file has the same schema.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.progress import ProgressWriter, SamplingSettings
from evaluation.sampling import problem_record, problem_seed
from rlvr.errors import UserError
from rlvr.generation import tokenizer_of
from rlvr.tasks.base import Task

# Problems per llm.generate call: enough for vLLM to fill the GPU, few enough that progress is saved often.
PROBLEMS_PER_REQUEST_BATCH = 64


def vllm_usable(has_gpu: bool) -> bool:
    """vLLM importable and a GPU. A LoRA adapter folder is sampled through vLLM too: merged into its base first
    (rlvr/models/checkpoints.py full_model_source)."""
    return has_gpu and importlib.util.find_spec("vllm") is not None


def uses_vllm(engine: str, has_gpu: bool) -> bool:
    """Whether to sample through vLLM: ``auto`` takes it where usable (above); ``vllm`` takes it on any device and
    stops with one line where vLLM is not installed."""
    if engine == "transformers":
        return False
    if engine == "auto":
        return vllm_usable(has_gpu)
    if importlib.util.find_spec("vllm") is None:
        raise UserError("--engine vllm: vLLM is not installed in this environment (`make vllm-env` builds one)")
    return True


def load_llm(checkpoint_source: str, seed: int, has_gpu: bool):
    """The engine, in the dtype the transformers path loads (so the two engines compute the same numbers).

    On the CPU (vLLM's CPU build, for testing): no graph compilation, which costs about 20 s at start-up that small
    runs never earn back; and no chunked prefill, because a seeded request whose prompt is split over two steps
    stops the CPU build with "CPU Generator does not use offset" (it rewinds the request's random generator, which
    only CUDA generators can do).
    """
    from vllm import LLM  # imported here: vLLM is optional and heavy

    from rlvr.models.registry import training_dtype

    dtype = str(training_dtype()).removeprefix("torch.")
    cpu_only = {} if has_gpu else {"enforce_eager": True, "enable_chunked_prefill": False}
    return LLM(model=checkpoint_source, seed=seed, dtype=dtype, **cpu_only)


def vllm_prompt(processor, task: Task, row: Mapping, style: str) -> dict[str, Any]:
    """The chat-templated prompt text, with the image for a multimodal task, as vLLM takes it."""
    text = processor.apply_chat_template(
        task.build_prompt(dict(row), style), add_generation_prompt=True, tokenize=False
    )
    prompt: dict[str, Any] = {"prompt": text}
    if task.is_multimodal:
        prompt["multi_modal_data"] = {"image": row["image"]}
    return prompt


def sampling_params_for(settings: SamplingSettings, problem_index: int):
    from vllm import SamplingParams

    # top_k is left at vLLM's default (off), as the transformers path turns it off: top_p alone truncates.
    return SamplingParams(
        n=settings.num_samples,
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_new_tokens,
        seed=problem_seed(settings, problem_index),
    )


def sample_problems_vllm(
    llm,
    processor,
    task: Task,
    dataset: Sequence[Mapping],
    pending: Sequence[int],
    settings: SamplingSettings,
    progress: ProgressWriter,
    done: dict[int | str, dict],
) -> None:
    """Sample the pending problems, PROBLEMS_PER_REQUEST_BATCH requests per call, saving each problem."""
    for start in range(0, len(pending), PROBLEMS_PER_REQUEST_BATCH):
        indices = pending[start : start + PROBLEMS_PER_REQUEST_BATCH]
        rows = [dataset[index] for index in indices]
        prompts = [vllm_prompt(processor, task, row, settings.prompt_style) for row in rows]
        params = [sampling_params_for(settings, index) for index in indices]
        outputs = llm.generate(prompts, params)
        for index, row, output in zip(indices, rows, outputs, strict=True):
            samples = decoded_samples(processor, output.outputs)
            done[index] = problem_record(task, row, index, samples, settings)
            progress.append(done[index])


def decoded_samples(processor, completions) -> list[str]:
    """The completions' token ids decoded as the transformers path decodes them. Not vLLM's ``completion.text``:
    its incremental detokenizer holds back a trailing incomplete UTF-8 character, which transformers decodes as
    U+FFFD, so the same tokens would give different samples."""
    token_ids = [list(completion.token_ids) for completion in completions]
    return tokenizer_of(processor).batch_decode(token_ids, skip_special_tokens=True)
