#!/usr/bin/env bash
# paper_deck_<name>: a paper-scale deck (input/<name>.yaml) parses, passes `pirf info` at the ranks
# its tiling needs, and its whole pipeline runs: `pirf run` with overrides for size only (a tiny
# grid and network, a few samples, one pretraining step, one fine-tuning iteration of N = 4, two
# evaluation samples at one N) into a temporary output.dir. Every other key (the PDE's constants, the
# fine-tuning method, K, N, trainable set, schedules, the DPS and CoCoGen sweeps, the evaluated
# weights) is the deck's own, so an unknown or misspelt key, a broken section or a stage whose
# wiring fails makes the test fail.
# Checks: both commands exit 0; `pirf run` ran all four stages (none skipped) and wrote the data
# set, base.h5, pirf.h5 and evaluation.json with records for base, pirf, dps and, when the deck
# enables it, cocogen; the deck's own output.dir is runs/<name> and its data.path lies inside it.
# usage: smoke.sh PIRF MPIEXEC SOURCE_DIR NAME INFO_NP RUN_NP [extra overrides for the run ...]
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3; name=$4; info_np=$5; run_np=$6; shift 6
deck=$src/input/$name.yaml
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "paper_deck_$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL ($name): $*"; exit 1; }

# The deck as written: its own run directory, its data set inside it (docs/paper-scale.md).
dir=$(awk '/^output:/{s=1; next} /^[^ #]/{s=0} s && $1=="dir:"{print $2}' "$deck")
path=$(awk '/^data:/{s=1; next} /^[^ #]/{s=0} s && $1=="path:"{print $2}' "$deck")
[ "$dir" = "runs/$name" ] || fail "output.dir is '$dir', expected runs/$name"
case "$path" in "$dir"/*) ;; *) fail "data.path '$path' is not inside output.dir '$dir'" ;; esac

$mpiexec -n "$info_np" "$pirf" info "$deck" >"$work/info.txt" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$work/info.txt"; fail "pirf info exited $rc"; }
grep -q "activation memory per sample and rank" "$work/info.txt" ||
  { cat "$work/info.txt"; fail "pirf info printed no memory table"; }
grep -E "^  total|tiles \[" "$work/info.txt"

run=$work/run
size=(output.dir="$run" data.path="$run/data.h5" data.samples=8
      model.channels=8 'model.channel_mult=[1,2]' model.num_blocks=1 'model.attn_resolutions=[8]'
      pretrain.batch=2 pretrain.micro_batch=0 pretrain.kimg=0.002 pretrain.log_kimg=0.002
      pretrain.checkpoint_kimg=0.002
      finetune.batch=2 finetune.micro_batch=0 finetune.iterations=1 finetune.steps=4
      finetune.eval_samples=0
      finetune.checkpoint_iterations=1
      evaluate.samples=2 evaluate.batch=2 'evaluate.steps=[6]' evaluate.holdout_samples=2)
$mpiexec -n "$run_np" "$pirf" run "$deck" "${size[@]}" "$@" >"$work/run.txt" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$work/run.txt"; fail "pirf run exited $rc"; }
grep -E "^\[run\]" "$work/run.txt"
if grep -q "skipped" "$work/run.txt"; then cat "$work/run.txt"; fail "a stage was skipped"; fi
for f in data.h5 base.h5 pirf.h5 evaluation.json; do
  [ -s "$run/$f" ] || { cat "$work/run.txt"; fail "no $f in output.dir"; }
done
methods="base pirf dps"
awk '/^evaluate:/{s=1; next} /^[^ #]/{s=0} s && $1=="cocogen:"{print $2}' "$deck" | grep -q true &&
  methods+=" cocogen"
for m in $methods; do
  grep -q "\"method\": \"$m\"" "$run/evaluation.json" ||
    { cat "$run/evaluation.json"; fail "evaluation.json has no $m record"; }
done
echo "PASS ($name): info at $info_np ranks, run at $run_np ranks, methods: $methods"
