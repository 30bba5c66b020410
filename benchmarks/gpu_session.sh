#!/usr/bin/env bash
# One GPU session on a lent H100/H200 without network, inside one 10-minute command: install the wheels the machine
# lacks, run the epoch probe (benchmarks/epoch_probe.py: "2 hours per epoch with transformers generation, or
# vLLM?"), then as many `make bench-gpu` cases as the rest of the budget holds. Everything lands under $OUT as soon
# as it is measured: machine.txt, probe.jsonl (a line per measurement), probe.md, cases/<case>.json and .md (one per
# case), bench-gpu.md; a kill loses only what was running.
#
#   bash benchmarks/gpu_session.sh          # on the GPU machine, with the wheels in ./wheels (or $WHEELS)
#   bash benchmarks/gpu_session.sh --dry    # the whole script on the CPU at tiny sizes, in this environment
#
# Budget: BUDGET_S seconds in all (default 480: 2 minutes of a 10-minute command to spare), the probe first.
set -uo pipefail
dry=""
[ "${1:-}" = "--dry" ] && dry="--dry"
out=${OUT:-runs/gpu-session}
budget=${BUDGET_S:-480}
python=${PYTHON:-python3}
mkdir -p "$out/cases"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
left() { echo $(( budget - SECONDS )); }

# 1. The wheels (trl, datasets, deepspeed, math-verify, pydantic, ...) into a target folder, never the system.
if [ -z "$dry" ]; then
  site=${SITE:-$(mktemp -d)}
  timeout 120 "$python" -m pip install -q --no-index --no-deps --target "$site" "${WHEELS:-wheels}"/*.whl \
    > "$out/install.log" 2>&1 || echo "wheel install failed, see install.log" >> "$out/machine.txt"
  export PYTHONPATH="$site:$PWD" RLVR_CACHE="${RLVR_CACHE:-$site/rlvr-cache}"
else
  export OMP_NUM_THREADS=1  # tiny matrices: extra threads only wait
fi

# 2. What ran: versions of everything the figures depend on, and the GPU.
"$python" - >> "$out/machine.txt" 2>&1 <<'EOF'
import importlib.metadata as metadata
import platform

import torch

print(f"python {platform.python_version()}; torch {torch.__version__}; CUDA {torch.version.cuda}")
print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)")
for package in ("torchvision", "transformers", "trl", "peft", "accelerate", "deepspeed", "vllm"):
    try:
        print(f"{package} {metadata.version(package)}")
    except metadata.PackageNotFoundError:
        print(f"{package} missing" + (": every vision-language case needs it" if package == "torchvision" else ""))
EOF

# 3. The probe first: the answer the session exists for. It starts no measurement after its own budget.
probe_budget=$(( $(left) * 55 / 100 ))
timeout $(( probe_budget + 90 )) "$python" -m benchmarks.epoch_probe $dry --budget-s "$probe_budget" \
  --results "$out/probe.jsonl" > "$out/probe.md" 2> "$out/probe.log"
echo "epoch probe exit $? after $SECONDS s" >> "$out/machine.txt"

# 4. The training cases in order of what they tell, each written to cases/ as it ends, in what is left.
cases_budget=$(( $(left) - 20 ))
if [ "$cases_budget" -ge 60 ]; then
  timeout $(( cases_budget + 15 )) "$python" -m benchmarks.bench_gpu $dry --budget-s "$cases_budget" \
    --results-dir "$out/cases" > "$out/bench-gpu.md" 2> "$out/bench-gpu.log"
  echo "bench-gpu exit $? after $SECONDS s" >> "$out/machine.txt"
else
  echo "bench-gpu not started: $cases_budget s left" >> "$out/machine.txt"
fi
tail -c 200000 "$out/bench-gpu.log" > "$out/bench-gpu.tail.log" 2>/dev/null && rm -f "$out/bench-gpu.log"
cat "$out/machine.txt" "$out/probe.md"
