#!/bin/bash
# One shard of a batchlab sweep per Slurm array task; a last job merges them.
#   sbatch --array=0-15 docs/slurm-array.sh docs/search-spec.example.json sweep-out
#   sbatch --dependency=afterok:<array job id> --wrap "npx batchlab merge sweep-out --out sweep-out/merged.json"
# Each task reads the same spec and writes sweep-out/shard-<i>-of-<n>.json atomically. A task
# Slurm stops with SIGTERM (time limit, preemption) keeps its points in
# shard-<i>-of-<n>.partial.json and exits 130; requeued (--requeue), it resumes from them.
#SBATCH --job-name=batchlab-sweep
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=00:30:00
#SBATCH --requeue
#SBATCH --output=sweep-%A_%a.log
set -euo pipefail
SPEC=${1:?usage: sbatch --array=0-(n-1) slurm-array.sh SPEC.json OUTDIR}
OUT=${2:-sweep-out}
# The array's size is the shard count: SLURM_ARRAY_TASK_COUNT (Slurm ≥ 18.08).
N=${SLURM_ARRAY_TASK_COUNT:?run as an array job: sbatch --array=0-15 ...}
# "/N": batchlab takes the shard index from SLURM_ARRAY_TASK_ID.
npx batchlab sweep --kind deployment-search --spec "$SPEC" --shard "/$N" --out "$OUT"
