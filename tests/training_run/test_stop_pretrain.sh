#!/usr/bin/env bash
# training_run_pretrain_stops_within_the_latency_bound: pretraining whose steps are longer than
# run.stop_latency_s (2048 images per step, about 2 s on an idle 2-core machine; bound 1 s) is
# signalled while a progress line says its second step is in progress: SIGUSR1 to a rank, SIGTERM to a rank, SIGTERM to mpiexec. Each time pirf
# abandons the step in flight, writes the state of the last completed step, exits with status 3 (Open
# MPI's mpiexec reports 1 when it was itself sent TERM) within the bound (pirf's own measurement from
# the signal to the written checkpoint; the wall clock around it gets Open MPI's delays and 2 s of
# slack); no base.h5 and no .partial are left; the jsonl log has a line for the steps before the stop
# (no line averages over steps it did not see); the resumed runs equal an uninterrupted one bit for
# bit. Progress lines (output.progress_s = 1) keep coming inside the long step, at most 3 s apart (until
# the signal).
# usage: test_stop_pretrain.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" stop_pretrain
bound=1
common="$tiny pretrain.batch=2048 pretrain.micro_batch=64 pretrain.log_kimg=4.096"
common+=" pretrain.checkpoint_kimg=1000 pretrain.seed=7 pretrain.lr_rampup_kimg=0 pretrain.kimg=6.144"
common+=" run.stop_latency_s=$bound output.progress_s=1"
$mpiexec -n 2 "$pirf" generate $deck $tiny >/dev/null 2>&1 || { echo "generate failed"; exit 1; }

stop_once() { # label, signal, target (rank|mpiexec), dir
  local label=$1 sig=$2 target=$3 dir=$4
  start 2 pretrain $deck $common output.dir=$dir
  wait_grep "$out" "step 2 in progress" 120 || { echo "$label: no progress line inside step 2"; kill -KILL $mp; return 1; }
  local pid=$mp; [ "$target" = rank ] && pid=$(rank_pid)
  local t0; t0=$(now)
  kill -"$sig" "$pid"
  wait_run
  local t1; t1=$(now)
  local wall; wall=$(awk "BEGIN { print $t1 - $t0 }")
  local own; own=$(sed -n 's/.*written \([0-9.]*\) s after the signal.*/\1/p' "$out")
  local step; step=$(h5dump -a step "$dir/pretrain-state.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
  local sec; sec=$(grep -o '"sec_per_step": [0-9.e+-]*' "$dir/pretrain.jsonl" | head -1 | cut -d' ' -f2)
  echo "$label: status $rc, stopped at step ${step:-?} after ${own:-?} s (pirf) / $wall s (wall); steps take ${sec:-?} s"
  if [ "$target" = mpiexec ] && [ "$sig" = TERM ]; then
    check "$label: mpiexec status 3 or Open MPI's 1" "[ $rc = 3 ] || [ $rc = 1 ]"
    local slack; slack=$(awk "BEGIN { print $bound + 4 * $T + 2 }")
  else
    check "$label: status 3" "[ $rc = 3 ]"
    local slack; slack=$(awk "BEGIN { print $bound + 3 * $T + 2 }")
  fi
  check "$label: the steps are longer than the bound" "[ -n '$sec' ] && awk 'BEGIN { exit !($sec > $bound) }'"
  check "$label: the stop line names the signal" "grep -q 'stop requested (SIG$sig)' $out"
  check "$label: within run.stop_latency_s (pirf's clock)" "[ -n '$own' ] && awk 'BEGIN { exit !($own <= $bound) }'"
  check "$label: within $slack s (wall clock)" "awk 'BEGIN { exit !($wall <= $slack) }'"
  check "$label: stopped part way (step ${step:-?} of 3)" "[ -n '$step' ] && [ $step -ge 1 ] && [ $step -lt 3 ]"
  check "$label: no base.h5" "[ ! -f $dir/base.h5 ]"
  check "$label: no .partial" "! ls $dir | grep -q partial"
  check "$label: the log covers the steps done" "jsonl_ok $dir/pretrain.jsonl step $step"
  local gap; gap=$(grep ' \[pretrain\] .* images/s ' "$out" | awk -v t0="$t0" '$1 < t0' | awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }')
  echo "$label: $(grep -c 'in progress' "$out") progress lines inside steps; longest gap between progress lines $gap s"
  check "$label: progress lines at most 3 s apart" "awk 'BEGIN { exit !($gap <= 3) }'"
  $mpiexec -n 2 "$pirf" pretrain $deck $common output.dir=$dir > "$work/resume.log" 2>&1
  check "$label: resume finishes" "[ $? = 0 ] && grep -q resuming $work/resume.log"
  check "$label: the resumed log covers every step once" "jsonl_ok $dir/pretrain.jsonl step 3"
}
stop_once "USR1 to a rank" USR1 rank $work/a
stop_once "TERM to a rank" TERM rank $work/b
stop_once "TERM to mpiexec" TERM mpiexec $work/c
check "uninterrupted run" "$mpiexec -n 2 $pirf pretrain $deck $common output.dir=$work/ref >/dev/null 2>&1"
for d in a b c; do
  for g in net ema adam_m adam_v; do
    check "$d: resumed /$g equals the uninterrupted run" "h5diff -q $work/$d/base.h5 $work/ref/base.h5 /$g /$g"
  done
done
finish
