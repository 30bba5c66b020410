#!/usr/bin/env bash
# One GPU session, run once on a lent H100/H200 without network: install the wheels the machine lacks, check the
# benchmark at tiny sizes, then `make bench-gpu`'s run of at most ~8 minutes; everything lands under $OUT.
#
# Before, on a machine with network, at the repository root (wheels/ is ignored by git; about 21 MB): the wheels
# of the packages the GPU machine lacks, for its Python, e.g.
#   .venv/bin/python -m pip download --no-deps -d wheels trl datasets deepspeed math-verify
# Then on the GPU machine (the device tool: carry ["wheels"], timeout_s 600):
#   bash benchmarks/gpu_session.sh
# Afterwards copy $OUT/bench-gpu.md into docs/benchmarks-gpu.md with the GPU's name and the date it prints.
set -uo pipefail
out=${OUT:-runs/gpu-session}
wheels=${WHEELS:-wheels}
site=${SITE:-/tmp/site}
python=${PYTHON:-python3}
mkdir -p "$out" "$site"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "$python" --version; } > "$out/machine.txt" 2>&1

# 1. The wheels (trl, datasets, deepspeed, math-verify, pydantic, ...) into a target folder, never the system.
timeout 120 "$python" -m pip install -q --no-index --no-deps --target "$site" "$wheels"/*.whl > "$out/install.log" 2>&1 \
  || { echo "wheel install failed, see install.log" >> "$out/machine.txt"; exit 1; }
export PYTHONPATH="$site:$PWD" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false
export RLVR_CACHE="/tmp/rlvr-cache" PYTHONUNBUFFERED=1

# 2. The same code at tiny sizes first: a broken import costs a minute, not the whole budget.
timeout 150 "$python" -m benchmarks.bench_gpu --dry --cases math1.5b-nsr-full > "$out/dry.md" 2> "$out/dry.log"
echo "dry run exit $?" >> "$out/machine.txt"

# 3. The real sizes: each case under its own timeout inside, the whole under 7.5 minutes.
timeout 480 "$python" -m benchmarks.bench_gpu --budget-s 420 > "$out/bench-gpu.md" 2> "$out/bench-gpu.log"
echo "bench-gpu exit $?" >> "$out/machine.txt"
tail -c 200000 "$out/bench-gpu.log" > "$out/bench-gpu.tail.log" && rm -f "$out/bench-gpu.log"
