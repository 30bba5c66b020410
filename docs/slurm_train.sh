#!/bin/bash
# Two nodes x 8 GPUs, one launcher per node; docs/training.md ("Several machines"). Adjust the resources to your
# cluster and pass your own main.py options after --config.
#SBATCH --job-name=rlvr-nsr
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=32
#SBATCH --time=48:00:00
set -euo pipefail
export MAIN_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun bash -c 'accelerate launch --config_file deepspeed_zero3.yaml \
  --num_machines "$SLURM_NNODES" --num_processes $(( SLURM_NNODES * 8 )) --machine_rank "$SLURM_NODEID" \
  --main_process_ip "$MAIN_ADDR" --main_process_port 29500 main.py --config configs/paper-math-nsr.yaml'
