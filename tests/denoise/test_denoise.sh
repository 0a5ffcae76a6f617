#!/usr/bin/env bash
# denoise_matches_direct_evaluation_at_1_2_4_ranks: `pirf denoise` with a cotangent on the tiny
# checkpoint of denoise_case (5 samples) at 1, 2 and 4 ranks, as tiles and as data groups, with
# batches that do not divide the sample count; every output must equal the direct evaluation and
# backward and agree with finite differences (denoise_case check). --weights net, and a checkpoint
# without a stored deck (model keys on the command line, as for one written from PyTorch), too.
# usage: test_denoise.sh PIRF MPIEXEC DENOISE_CASE DIR
set -uo pipefail
pirf=$1; mpiexec=$2; case_tool=$3; dir=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
out=$(mktemp -d denoise_test.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail=0
run() { # np name [args...]
  local np=$1 name=$2; shift 2
  $mpiexec -n "$np" "$pirf" denoise --checkpoint "$dir/ckpt.h5" --input "$dir/x.h5" --sigma 0.7 \
    --cotangent "$dir/g.h5" --output "$out/$name.h5" "$@" >"$out/log.txt" 2>&1 \
    || { echo "FAIL: pirf denoise ($np ranks $*)"; cat "$out/log.txt"; fail=1; }
}
run 1 np1 --batch 2
run 2 np2_tiles --batch 3 'parallel.tiles=[2,1]'
run 2 np2_groups --batch 2
run 4 np4_tiles 'parallel.tiles=[2,2]'
run 4 np4_groups --batch 1
run 1 np1_net --weights net --batch 5
# a checkpoint without a deck (written from PyTorch): the model keys come from the command line
$mpiexec -n 2 "$pirf" denoise --checkpoint "$dir/ckpt_nodeck.h5" --input "$dir/x.h5" --sigma 0.7 \
  --cotangent "$dir/g.h5" --output "$out/np2_nodeck.h5" model.channels=8 'model.channel_mult=[1,2]' \
  model.num_blocks=1 'model.attn_resolutions=[8]' >"$out/log.txt" 2>&1 \
  || { echo "FAIL: pirf denoise without a stored deck"; cat "$out/log.txt"; fail=1; }
"$case_tool" check "$dir" 0.7 ema "$out"/np1.h5 "$out"/np2_tiles.h5 "$out"/np2_groups.h5 \
  "$out"/np4_tiles.h5 "$out"/np4_groups.h5 "$out"/np2_nodeck.h5 || fail=1
"$case_tool" check "$dir" 0.7 net "$out"/np1_net.h5 || fail=1
# data groups only (no tiles): each sample's arithmetic is the same, so D is identical bit for bit
for f in np2_groups np4_groups; do
  h5diff -q "$out/np1.h5" "$out/$f.h5" /fields /fields || { echo "FAIL: $f /fields differs from 1 rank"; fail=1; }
done
echo "denoise_matches_direct_evaluation_at_1_2_4_ranks: $([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
