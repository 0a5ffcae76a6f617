#!/usr/bin/env bash
# pretrain_stops_cleanly_on_a_signal_and_resumes_exactly: SIGUSR1 to mpiexec (what a batch system's
# warning signal does through the job script) makes `pirf pretrain` finish its step, write
# pretrain-state.h5 and exit with status 3 and no base.h5; rerunning the same command resumes, and
# the result equals an uninterrupted run bit for bit.
# usage: test_stop_signal.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d stop_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common="grid.resolution=16 data.path=$work/d16.h5 data.samples=8 model.channels=8"
common+=" model.channel_mult=[1,2] model.attn_resolutions=[8] model.num_blocks=1 pretrain.batch=4"
common+=" pretrain.log_kimg=0.004 pretrain.checkpoint_kimg=1000 pretrain.seed=5 pretrain.lr=1e-3"
common+=" pretrain.lr_rampup_kimg=0"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
$mpiexec -n 2 "$pirf" generate $deck $common >/dev/null 2>&1 || { echo "generate failed"; exit 1; }

# A long run (4000 steps), signalled once it has logged a few steps.
$mpiexec -n 2 "$pirf" pretrain $deck $common pretrain.kimg=16 output.dir=$work/a >"$work/a.log" 2>&1 &
mp=$!
for i in $(seq 1 300); do
  [ -f "$work/a/pretrain.jsonl" ] && [ "$(wc -l < "$work/a/pretrain.jsonl")" -ge 3 ] && break
  sleep 0.1
done
kill -USR1 "$mp"
wait "$mp"; rc=$?
check "exit status 3 after the signal (got $rc)" "[ $rc = 3 ]"
check "the log says how to resume" "grep -q 'stop requested' $work/a.log"
check "a state file was written" "[ -f $work/a/pretrain-state.h5 ]"
check "no base.h5 (training is not finished)" "[ ! -f $work/a/base.h5 ]"
steps=$(h5dump -a step "$work/a/pretrain-state.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
echo "stopped after $steps steps"
check "stopped part way ($steps steps)" "[ -n '$steps' ] && [ $steps -ge 3 ] && [ $steps -lt 4000 ]"
# Resume to steps+2 and compare with an uninterrupted run of steps+2.
total=$(awk "BEGIN { printf \"%.3f\", ($steps + 2) * 4 / 1000 }")
check "resume" "$mpiexec -n 2 $pirf pretrain $deck $common pretrain.kimg=$total output.dir=$work/a >$work/a2.log 2>&1"
check "uninterrupted" "$mpiexec -n 2 $pirf pretrain $deck $common pretrain.kimg=$total output.dir=$work/b >/dev/null 2>&1"
for g in net ema adam_m adam_v; do
  check "resumed /$g equals the uninterrupted run" "h5diff -q $work/a/base.h5 $work/b/base.h5 /$g /$g"
done
echo "pretrain_stops_cleanly_on_a_signal: $pass passed, $fail failed"
[ $fail = 0 ]
