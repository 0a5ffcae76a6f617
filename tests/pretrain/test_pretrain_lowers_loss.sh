#!/usr/bin/env bash
# pretrain_lowers_the_edm_loss: `pirf pretrain` on a small generated Darcy set (16 samples, 16x16)
# with a small network, 120 steps of 4 images on one rank; pretrain_loss_eval then compares the EDM loss of the
# initial and the trained weights on the same fixed draws (paired, several standard errors).
# usage: test_pretrain_lowers_loss.sh PIRF MPIEXEC SOURCE_DIR EVAL
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3; eval_tool=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d pretrain_loss.XXXXXX)
trap 'rm -rf "$work"' EXIT
model="model.channels=8 model.channel_mult=[1,2] model.num_blocks=1 model.attn_resolutions=[8]"
model+=" model.dropout=0"
common="grid.resolution=16 data.path=$work/darcy16.h5 $model"
$mpiexec -n 2 "$pirf" generate "$src/input/quickstart.yaml" $common data.samples=16 \
  >"$work/gen.txt" 2>&1 || { cat "$work/gen.txt"; echo "FAIL: generate"; exit 1; }
$mpiexec -n 1 "$pirf" pretrain "$src/input/quickstart.yaml" $common output.dir=$work/run \
  pretrain.batch=4 pretrain.kimg=0.48 pretrain.seed=5 pretrain.log_kimg=0.12 \
  pretrain.checkpoint_kimg=100 pretrain.lr=3e-3 pretrain.lr_rampup_kimg=0.04 \
  >"$work/pre.txt" 2>&1 || { cat "$work/pre.txt"; echo "FAIL: pretrain"; exit 1; }
cat "$work/run/pretrain.jsonl"
"$eval_tool" "$work/darcy16.h5" "$work/run/base.h5" 5 pde.name=darcy $model
