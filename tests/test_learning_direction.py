"""Which way each objective moves the toy model (tiny-arith on the arithmetic task).

- One PSR step raises the log-probability of the sampled correct answers.
- One NSR step lowers the log-probability of the sampled wrong answers, and the correct samples contribute nothing
  to its gradient.
- Over a few dozen real training steps from the same warm start, PSR's policy entropy ends below NSR's.

The single steps drive DecomposedGRPOTrainer's own ``apply_objective`` and ``_compute_loss`` on a fixed batch
(two problems, four samples each); the last test runs ``trainer.train()``. Everything is seeded.
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig

from experiments.common.policy_entropy import mean_token_entropy
from rlvr.generation import encode_prompts
from rlvr.models.tiny import tiny_arith_model_path
from rlvr.tasks import get_task
from rlvr.tasks.arithmetic.problems import generate_problems
from trainers.builders import objective_config
from trainers.config import RunConfig
from trainers.decomposed_trainer import DecomposedGRPOTrainer

TASK = get_task("arithmetic")
# Two groups of four samples: 12+34*5 = 182 and 7+8*9 = 79; the wrong ones are typical slips.
BATCH = [
    ("12+34*5", "182"),
    ("12+34*5", "230"),
    ("12+34*5", "182"),
    ("12+34*5", "18"),
    ("7+8*9", "79"),
    ("7+8*9", "135"),
    ("7+8*9", "97"),
    ("7+8*9", "79"),
]
CORRECT = torch.tensor([True, False, True, False, True, False, False, True])
STEP_SIZE = 0.01


@pytest.fixture(scope="module")
def toy_path():
    return tiny_arith_model_path()


def make_trainer(mode: str, model, tokenizer, output_dir, **config) -> DecomposedGRPOTrainer:
    settings = {
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 6,
        "report_to": [],
        "bf16": False,
        "use_cpu": True,
        "activation_checkpointing": False,
        "seed": 0,
        **config,
    }
    rows = generate_problems(8, seed=0, split="train")
    dataset = Dataset.from_list([{**row, "prompt": TASK.build_prompt(row, "plain")} for row in rows])
    return DecomposedGRPOTrainer(
        model=model,
        reward_funcs=list(TASK.reward_functions.values()),
        args=GRPOConfig(output_dir=str(output_dir), **settings),
        train_dataset=dataset,
        processing_class=tokenizer,
        objective=objective_config(RunConfig(mode=mode), TASK.correctness_reward),
    )


def fixed_batch(tokenizer, rows: list[int]) -> dict:
    """TRL's scored-batch layout for the chosen rows of BATCH: prompts left padded, completions right padded."""
    chosen = [BATCH[index] for index in rows]
    prompts = [tokenizer(f"{expression}=")["input_ids"] for expression, _ in chosen]
    completions = [tokenizer(answer + tokenizer.eos_token)["input_ids"] for _, answer in chosen]
    prompt_width, completion_width = max(map(len, prompts)), max(map(len, completions))
    pad = tokenizer.pad_token_id
    completion_mask = torch.tensor([[1] * len(ids) + [0] * (completion_width - len(ids)) for ids in completions])
    return {
        "prompt_ids": torch.tensor([[pad] * (prompt_width - len(ids)) + ids for ids in prompts]),
        "prompt_mask": torch.tensor([[0] * (prompt_width - len(ids)) + [1] * len(ids) for ids in prompts]),
        "completion_ids": torch.tensor([ids + [pad] * (completion_width - len(ids)) for ids in completions]),
        "completion_mask": completion_mask,
        "advantages": torch.zeros(len(rows)),  # TRL's own; the objective replaces them
        "num_items_in_batch": completion_mask.sum(),
    }


@torch.no_grad()
def sequence_logps(model, batch: dict) -> torch.Tensor:
    """log p(completion | prompt) per row, summed over the completion's tokens."""
    input_ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    width = batch["completion_ids"].shape[1]
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, -width - 1 : -1]
    token_logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, batch["completion_ids"].unsqueeze(-1))
    return (token_logps.squeeze(-1) * batch["completion_mask"]).sum(dim=1)


def objective_gradient(trainer: DecomposedGRPOTrainer, batch: dict, correct: torch.Tensor) -> torch.Tensor:
    trainer.model.zero_grad()
    inputs = trainer.apply_objective(dict(batch), correct.float().unsqueeze(1))
    trainer._compute_loss(trainer.model, inputs).backward()
    return torch.cat([parameter.grad.flatten() for parameter in trainer.model.parameters()])


@torch.no_grad()
def gradient_step(model, step_size: float) -> None:
    for parameter in model.parameters():
        parameter -= step_size * parameter.grad


def one_step(mode: str, toy_path, tmp_path) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence log-probabilities of the fixed batch before and after one step of ``mode``."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(toy_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(toy_path, padding_side="left")
    trainer = make_trainer(mode, model, tokenizer, tmp_path)
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.train()
    batch = fixed_batch(tokenizer, list(range(len(BATCH))))
    before = sequence_logps(trainer.model, batch)
    objective_gradient(trainer, batch, CORRECT)
    gradient_step(trainer.model, STEP_SIZE)
    return before, sequence_logps(trainer.model, batch)


def test_one_psr_step_raises_the_log_probability_of_the_correct_samples(toy_path, tmp_path):
    before, after = one_step("psr", toy_path, tmp_path)
    rise = after - before
    assert (rise[CORRECT] > 0).all(), f"PSR changed correct log-probs by {rise[CORRECT].tolist()}"


def test_one_nsr_step_lowers_the_log_probability_of_the_wrong_samples(toy_path, tmp_path):
    before, after = one_step("nsr", toy_path, tmp_path)
    change = after - before
    assert (change[~CORRECT] < 0).all(), f"NSR changed wrong log-probs by {change[~CORRECT].tolist()}"


def test_correct_samples_contribute_nothing_to_the_nsr_gradient(toy_path, tmp_path):
    """The NSR gradient of the whole batch is the NSR gradient of its wrong samples alone (numerator and token
    count): neither the correct samples' tokens nor their length enter it."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(toy_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(toy_path, padding_side="left")
    trainer = make_trainer("nsr", model, tokenizer, tmp_path)
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.train()
    whole = objective_gradient(trainer, fixed_batch(tokenizer, list(range(len(BATCH)))), CORRECT)
    wrong_rows = torch.nonzero(~CORRECT).flatten().tolist()
    wrong_only = objective_gradient(trainer, fixed_batch(tokenizer, wrong_rows), torch.zeros(len(wrong_rows)))
    assert whole.norm() > 0
    assert torch.allclose(whole, wrong_only, rtol=1e-4, atol=1e-7)


# --- A short real training run: PSR sharpens the policy, NSR does not.

WARM_START_STEPS = 50  # about half of the samples right: room for both objectives to act
RL_STEPS = 30


@pytest.fixture
def one_thread():
    """Training amplifies the last-bit differences of multi-threaded kernels; one thread makes runs repeatable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def warm_start(toy_path, tmp_path_factory):
    """tiny-arith after a short supervised warm-up on 16 problems, to a moderate accuracy on them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(toy_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(toy_path, padding_side="left")
    rows = generate_problems(16, seed=0, split="train")
    texts = [f"{row['expression']}={row['answer']}{tokenizer.eos_token}" for row in rows]
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(WARM_START_STEPS):
        loss = model(**encoded, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    torch.set_num_threads(threads)
    folder = tmp_path_factory.mktemp("warm_start")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, rows


def policy_entropy(model, tokenizer, rows: list[dict]) -> float:
    model.eval()
    encoded = encode_prompts(tokenizer, TASK, rows, "plain", model.device)
    torch.manual_seed(1)
    return mean_token_entropy(model, tokenizer, encoded, samples_per_prompt=16, max_new_tokens=6)[0]


def train_from_warm_start(mode: str, warm_start, output_dir) -> float:
    folder, rows = warm_start
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    trainer = make_trainer(
        mode,
        model,
        tokenizer,
        output_dir,
        per_device_train_batch_size=32,
        num_generations=8,
        learning_rate=3e-4,
        lr_scheduler_type="constant",
        max_steps=RL_STEPS,
        save_strategy="no",
        logging_steps=RL_STEPS,
    )
    trainer.train_dataset = Dataset.from_list([{**row, "prompt": TASK.build_prompt(row, "plain")} for row in rows])
    trainer.train()
    return policy_entropy(trainer.model, tokenizer, rows)


@pytest.mark.slow
def test_psr_policy_entropy_falls_below_nsr_within_a_few_dozen_steps(warm_start, one_thread, tmp_path):
    folder, rows = warm_start
    start = policy_entropy(AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder), rows)
    psr = train_from_warm_start("psr", warm_start, tmp_path / "psr")
    nsr = train_from_warm_start("nsr", warm_start, tmp_path / "nsr")
    print(f"policy entropy: warm start {start:.3f}, PSR {psr:.3f}, NSR {nsr:.3f}")
    assert psr < start, f"PSR entropy {psr:.3f} did not fall from the warm start's {start:.3f}"
    assert psr < nsr, f"PSR entropy {psr:.3f} is not below NSR's {nsr:.3f} (warm start {start:.3f})"
