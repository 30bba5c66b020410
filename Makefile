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
	$(BIN)/python -m experiments.demo --output-dir runs/demo

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
.PHONY: science
science: $(STAMP)
	$(BIN)/python experiments/objectives_toy.py && $(BIN)/python experiments/quote_results.py

# Speed figures (docs/benchmarks.md): Pass@k and its intervals on 100,000 problems x 256 samples, and samples/s of
# generate_samples.py against a plain generate loop on the tiny models. A few minutes on two cores.
.PHONY: bench
bench: $(STAMP)
	{ printf '# Benchmarks\n\nWritten by `make bench` (benchmarks/); rerun it to refresh. Medians over repeats, smallest-largest in brackets.\n\n'; \
	  $(BIN)/python -m benchmarks.bench_pass_at_k && $(BIN)/python -m benchmarks.bench_sampling && \
	  $(BIN)/python -m benchmarks.bench_training; } > docs/benchmarks.md.tmp
	mv docs/benchmarks.md.tmp docs/benchmarks.md
