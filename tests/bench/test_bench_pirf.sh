#!/usr/bin/env bash
# pirf bench -bench_pirf 1: the PIRF-iteration row on a tiny deck at NP ranks prints the row (time,
# GFLOP/s, % of peak), the time of each phase, and the peak RSS per rank. The phases are parts of
# the iteration: each is positive, together they take at most the reported rank's time per call
# (the events nest in none of the others, and all fall inside the call), and the
# no-grad prefix (N - K = 6 of N = 8 steps, untaped) takes longer than the K taped steps.
# usage: test_bench_pirf.sh PIRF MPIEXEC SOURCE_DIR NP
set -u
pirf=$1; mpiexec=$2; src=$3; np=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1 OMPI_MCA_odls_base_sigkill_timeout=0
case $np in 1) tiles="[1,1]" ;; 2) tiles="[2,1]" ;; *) tiles="[2,2]" ;; esac
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); cat "$out"; fi; }
"$mpiexec" -n "$np" "$pirf" bench "$src/input/quickstart.yaml" grid.resolution=16 model.channels=8 \
  'model.channel_mult=[1,2]' model.num_blocks=1 'model.attn_resolutions=[8]' "parallel.tiles=$tiles" \
  finetune.steps=8 finetune.k=2 finetune.batch=2 -bench_conv 0 -bench_network 0 -bench_pirf 1 \
  -bench_reps 2 > "$out" 2>&1
rc=$?
check "the bench runs (exit $rc)" '[ "$rc" = 0 ]'
check "the row: time, GFLOP/s and % of peak" \
  'grep -Eq "^PIRF iteration \(draft-k, N 8, K 2\) +batch 2 8ch 16x16 decoder0 +[0-9.]+ +[0-9.]+-[0-9.]+ +[0-9.]+ +[0-9.]+%" "$out"'
check "the phases add up to at most one rank's time per call; the prefix outlasts the taped steps" \
  'awk '"'"'/PIRF iteration phases/ { line = $0; sub(/.*; of /, "", line); split(line, w, " "); call = w[1]
       sub(/.*:/, ""); sub(/;.*/, ""); n = split($0, f, ","); s = 0
       for (i = 1; i <= n; i++) { k = split(f[i], w, " "); v[i] = w[k]; s += w[k]; if (w[k] <= 0) bad = 1 } }
     END { exit !(call > 0 && n == 6 && !bad && s <= call * 1.001 && v[1] > v[2]) }'"'"' "$out"'
check "trainable parameters, tapes and the peak RSS per rank" \
  'grep -Eq "PIRF iteration: [0-9]+ of [0-9]+ parameters trainable, 3 tapes; peak memory per rank .* [0-9.]+ MiB" "$out"'
echo "bench_pirf: $pass passed, $fail failed"
[ $fail = 0 ]
