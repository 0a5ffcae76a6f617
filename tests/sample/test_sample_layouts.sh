#!/usr/bin/env bash
# sampler_output_is_rank_layout_invariant: `pirf sample` on a tiny random network (16x16 Darcy,
# 8 channels, 2 levels; 6 samples in batches of 4, so the last batch is partial) writes the same
# samples at 1 rank, 2 ranks (2 data groups, batches round-robin) and 4 ranks (2x2 tiles; DPS also
# [2,1] tiles x 2 groups): bit for bit across data groups, to 2e-4 across tiles (sums in another
# order; the samples reach |x| ~ 8 after 11 float32 evaluations of a random network, and which
# OpenBLAS kernel runs (OPENBLAS_CORETYPE) moves the tiled result by up to ~1e-5 relative). The
# same for DPS guidance (guided_fraction 0.5: 3 guided steps, 2 vjps each except the last) and
# CoCoGen; guidance changes the samples and lowers the guided residual; the file has the cost
# attributes; /net differs from /ema.
# usage: test_sample_layouts.sh PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mkck=$2; mpiexec=$3; src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d sample_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]"
common+=" output.dir=$work data.path=$work/none.h5 sample.samples=6 sample.batch=4 sample.steps=6"
cmp="/usr/bin/python3 $src/tests/compare_fields.py"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
source "$src/tests/core/last_wins.sh" # each override once: the later of two replaces the earlier
run() { local np=$1; shift; local a; mapfile -t a < <(pirf_last_wins "$@"); $mpiexec -n "$np" "${a[@]}" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
attr() { h5dump -a "$2" "$1" | sed -n 's/.*(0): *//p' | head -1; }

check "make the checkpoint" "run 1 $mkck $deck $work/base.h5 5 $common"
dps="sample.method=dps sample.zeta=2e-3 sample.guided_fraction=0.5"
for m in heun dps; do
  opts=""; [ $m = dps ] && opts=$dps
  check "$m on 1 rank" "run 1 $pirf sample $deck $common $opts sample.output=$work/${m}1.h5"
  check "$m on 2 data groups" "run 2 $pirf sample $deck $common $opts sample.output=$work/${m}2.h5"
  check "$m on 2x2 tiles" "run 4 $pirf sample $deck $common $opts sample.output=$work/${m}4.h5 parallel.tiles=[2,2]"
  [ $m = dps ] && check "$m on [2,1] tiles x 2 groups" "run 4 $pirf sample $deck $common $opts sample.output=$work/${m}4b.h5 parallel.tiles=[2,1]"
  check "$m: 2 data groups identical to 1 rank" "$cmp $work/${m}1.h5 $work/${m}2.h5 0"
  check "$m: 2x2 tiles agree with 1 rank to 2e-4" "$cmp $work/${m}1.h5 $work/${m}4.h5 2e-4"
  [ $m = dps ] && check "$m: [2,1] x 2 agrees with 1 rank to 2e-4" "$cmp $work/${m}1.h5 $work/${m}4b.h5 2e-4"
done
check "heun: 11 evaluations, no vjps" "[ \"\$(attr $work/heun1.h5 nfe)\" = 11 ] && [ \"\$(attr $work/heun1.h5 guidance_vjps)\" = 0 ]"
check "dps: guided steps 4, 5 -> 3 vjps" "[ \"\$(attr $work/dps1.h5 guidance_vjps)\" = 3 ]"
check "dps: method attribute" "h5dump -a method $work/dps1.h5 | grep -q '\"dps\"'"
check "guidance changes the samples" "! $cmp $work/heun1.h5 $work/dps1.h5 1e-3 >/dev/null"
check "guidance lowers the residual" "/usr/bin/python3 -c \"import h5py,sys; a=h5py.File('$work/heun1.h5')['residual_mse'][:].mean(); b=h5py.File('$work/dps1.h5')['residual_mse'][:].mean(); print('heun', a, 'dps', b); sys.exit(0 if b < a else 1)\""
check "cocogen on 2 ranks" "run 2 $pirf sample $deck $common $dps sample.method=cocogen sample.corrections=2 sample.correction_zeta=1e-3 sample.output=$work/coco2.h5"
check "cocogen on 1 rank" "run 1 $pirf sample $deck $common $dps sample.method=cocogen sample.corrections=2 sample.correction_zeta=1e-3 sample.output=$work/coco1.h5"
check "cocogen: identical across data groups" "$cmp $work/coco1.h5 $work/coco2.h5 0"
check "cocogen: 2 guided steps + 2 corrections = 4 residual gradients" "[ \"\$(attr $work/coco1.h5 residual_gradients)\" = 4 ]"
check "cocogen differs from dps" "! $cmp $work/dps1.h5 $work/coco1.h5 1e-4 >/dev/null"
check "weights=net" "run 1 $pirf sample $deck $common sample.weights=net sample.output=$work/net1.h5"
check "net differs from ema" "! $cmp $work/heun1.h5 $work/net1.h5 1e-3 >/dev/null"
echo "sampler_output_is_rank_layout_invariant: $pass passed, $fail failed"
[ $fail = 0 ]
