#!/usr/bin/env bash
# training_run_finetune_stops_within_the_latency_bound: fine-tuning whose iterations are longer than
# run.stop_latency_s (384 samples through 24 sampler steps per iteration, bound 2 s) is signalled
# while a progress line says its second iteration is in progress: SIGUSR2 to a rank, SIGTERM to
# mpiexec. Each time pirf abandons the iteration in flight, writes the state of the last completed
# one and stops with status 3 (Open MPI's mpiexec reports 1 when it was itself sent TERM) within
# the bound (pirf's own clock); no pirf.h5 or .partial is left; the resumed runs equal an
# uninterrupted one bit for bit (net, EMA, reference, Adam moments) and their logs cover every
# iteration once.
# usage: test_stop_finetune.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" stop_finetune
bound=2
base="$tiny pretrain.batch=2 pretrain.kimg=0.002 pretrain.seed=3 output.dir=$work/base"
common="$tiny finetune.steps=24 finetune.k=2 finetune.batch=384 finetune.micro_batch=32"
common+=" finetune.log_iterations=2 finetune.lr=1e-3 finetune.eval_samples=0 finetune.iterations=3"
common+=" finetune.base=$work/base/base.h5 run.stop_latency_s=$bound output.progress_s=1"
$mpiexec -n 2 "$pirf" generate $deck $tiny >/dev/null 2>&1 || { echo "generate failed"; exit 1; }
$mpiexec -n 2 "$pirf" pretrain $deck $base >/dev/null 2>&1 || { echo "pretrain failed"; exit 1; }

stop_once() { # label, signal, target (rank|mpiexec), dir
  local label=$1 sig=$2 target=$3 dir=$4
  start 2 finetune $deck $common output.dir=$dir
  wait_grep "$out" "iter 2 in progress" 120 || { echo "$label: no progress line inside iteration 2"; kill -KILL $mp; return 1; }
  local pid=$mp; [ "$target" = rank ] && pid=$(rank_pid)
  local t0; t0=$(now)
  kill -"$sig" "$pid"
  wait_run
  local t1; t1=$(now)
  local wall; wall=$(awk "BEGIN { print $t1 - $t0 }")
  local own; own=$(sed -n 's/.*written \([0-9.]*\) s after the signal.*/\1/p' "$out")
  local step; step=$(h5dump -a step "$dir/pirf-state.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
  local sec; sec=$(grep -o '"sec_per_iter": [0-9.e+-]*' "$dir/finetune.jsonl" | head -1 | cut -d' ' -f2)
  echo "$label: status $rc, stopped at iteration ${step:-?} after ${own:-?} s (pirf) / $wall s (wall); iterations take ${sec:-?} s"
  if [ "$target" = mpiexec ]; then
    check "$label: mpiexec status 3 or Open MPI's 1" "[ $rc = 3 ] || [ $rc = 1 ]"
  else
    check "$label: status 3" "[ $rc = 3 ]"
  fi
  check "$label: the iterations are longer than the bound" "[ -n '$sec' ] && awk 'BEGIN { exit !($sec > $bound) }'"
  check "$label: the stop line names the signal" "grep -q 'stop requested (SIG$sig)' $out"
  check "$label: within run.stop_latency_s (pirf's clock)" "[ -n '$own' ] && awk 'BEGIN { exit !($own <= $bound) }'"
  check "$label: stopped part way (iteration ${step:-?} of 3)" "[ -n '$step' ] && [ $step -ge 1 ] && [ $step -lt 3 ]"
  check "$label: no pirf.h5" "[ ! -f $dir/pirf.h5 ]"
  check "$label: no .partial" "! ls $dir | grep -q partial"
  check "$label: the log covers the iterations done" "jsonl_ok $dir/finetune.jsonl iter $step"
  $mpiexec -n 2 "$pirf" finetune $deck $common output.dir=$dir > "$work/resume.log" 2>&1
  check "$label: resume finishes" "[ $? = 0 ] && grep -q resuming $work/resume.log"
  check "$label: the resumed log covers every iteration once" "jsonl_ok $dir/finetune.jsonl iter 3"
}
stop_once "USR2 to a rank" USR2 rank $work/a
stop_once "TERM to mpiexec" TERM mpiexec $work/b
check "uninterrupted run" "$mpiexec -n 2 $pirf finetune $deck $common output.dir=$work/ref >/dev/null 2>&1"
for d in a b; do
  for g in net ema ref adam_m adam_v; do
    check "$d: resumed /$g equals the uninterrupted run" "h5diff -q $work/$d/pirf.h5 $work/ref/pirf.h5 /$g /$g"
  done
done
finish
