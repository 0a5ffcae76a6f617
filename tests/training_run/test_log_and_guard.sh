#!/usr/bin/env bash
# training_run_log_survives_sigkill_and_nonfinite_steps_stop: the training logs and the guard.
#   - every pretrain.jsonl / finetune.jsonl line has a UTC timestamp, the Unix time and the peak
#     RSS (max over ranks, > 0);
#   - a pretraining SIGKILLed (one rank) after lines past its last checkpoint and rerun leaves a log
#     with every step once (the lines past the checkpoint are dropped on resume, and said so), and
#     the result equals an uninterrupted run;
#   - NaN gradients injected from step 3 on (PIRF_FAULT_NONFINITE_STEP) stop pretraining and
#     fine-tuning after <section>.max_nonfinite consecutive non-finite steps with status 2 and a
#     message naming the key, leave no final file; max_nonfinite = 0 runs to the end.
# usage: test_log_and_guard.sh PIRF MPIEXEC SOURCE_DIR NP
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" log_and_guard
np=${4:-2}
common="$tiny pretrain.batch=4 pretrain.log_kimg=0.004 pretrain.seed=5 pretrain.lr_rampup_kimg=0"
$mpiexec -n $np "$pirf" generate $deck $tiny >/dev/null 2>&1 || { echo "generate failed"; exit 1; }

if [ "$np" -gt 1 ]; then
  # SIGKILL one rank of a long run once the log is 4+ lines past the checkpoint of step 100 (the
  # next would come at step 200), then rerun it shorter (120 steps: pretrain.kimg only sets the end)
  ckpt="$common pretrain.checkpoint_kimg=0.4"
  start $np pretrain $deck $ckpt pretrain.kimg=16 output.dir=$work/k
  wait_lines "$work/k/pretrain.jsonl" 104 || echo "the run did not get far"
  kill -KILL "$(rank_pid)"
  wait_run
  lines=$(wc -l < $work/k/pretrain.jsonl)
  ck=$(h5dump -a step "$work/k/pretrain-state.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
  echo "killed with $lines log lines, checkpoint at step $ck"
  check "killed (status $rc)" "[ $rc != 0 ]"
  check "the log went past the checkpoint" "[ -n '$ck' ] && [ $lines -gt $ck ]"
  $mpiexec -n $np "$pirf" pretrain $deck $ckpt pretrain.kimg=0.48 output.dir=$work/k > $work/k.log 2>&1
  check "the rerun finishes" "[ $? = 0 ]"
  check "the rerun says it dropped lines" "grep -q 'dropped [0-9]* line' $work/k.log"
  check "every step once in the log" "jsonl_ok $work/k/pretrain.jsonl step 120"
  check "uninterrupted run" "$mpiexec -n $np $pirf pretrain $deck $ckpt pretrain.kimg=0.48 output.dir=$work/u >/dev/null 2>&1"
  check "the killed and rerun result equals it" "h5diff -q $work/k/base.h5 $work/u/base.h5 /net /net"
  jl=$work/k/pretrain.jsonl
else
  check "a short run" "$mpiexec -n $np $pirf pretrain $deck $common pretrain.kimg=0.02 output.dir=$work/u >/dev/null 2>&1"
  jl=$work/u/pretrain.jsonl
fi
ts='"time": "20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z", "unix_time": [0-9]+\.[0-9]+, "rss_mib": [1-9][0-9]*\.[0-9]\}$'
check "pretrain.jsonl lines carry time and memory" "[ \$(grep -cEv '$ts' $jl) = 0 ] && [ -s $jl ]"

# the non-finite guard
PIRF_FAULT_NONFINITE_STEP=3 $mpiexec -n $np "$pirf" pretrain $deck $common pretrain.kimg=0.08 \
  pretrain.max_nonfinite=4 output.dir=$work/n > $work/n.log 2>&1
rc=$?
check "pretrain: status 2 after 4 non-finite steps (got $rc)" "[ $rc = 2 ]"
check "pretrain: the message names the key" "grep -q '4 consecutive non-finite steps (pretrain.max_nonfinite = 4)' $work/n.log"
check "pretrain: no base.h5" "[ ! -f $work/n/base.h5 ]"
check "pretrain: no MPI_ABORT" "! grep -q MPI_ABORT $work/n.log"
check "pretrain: the log stops at step 6" "[ \"\$(tail -1 $work/n/pretrain.jsonl | cut -d, -f1)\" = '{\"step\": 6' ]"
PIRF_FAULT_NONFINITE_STEP=3 $mpiexec -n $np "$pirf" pretrain $deck $common pretrain.kimg=0.04 \
  pretrain.max_nonfinite=0 output.dir=$work/n0 > $work/n0.log 2>&1
check "pretrain: max_nonfinite = 0 runs to the end" "[ $? = 0 ] && [ -f $work/n0/base.h5 ]"
check "pretrain: the log counts the non-finite values" "grep -q '\"nonfinite\": 1,' $work/n0/pretrain.jsonl"

ft="$tiny finetune.steps=2 finetune.k=1 finetune.batch=4 finetune.log_iterations=1 finetune.iterations=10"
ft+=" finetune.eval_samples=4 finetune.base=$work/u/base.h5"
PIRF_FAULT_NONFINITE_STEP=3 $mpiexec -n $np "$pirf" finetune $deck $ft finetune.max_nonfinite=2 \
  output.dir=$work/f > $work/f.log 2>&1
rc=$?
check "finetune: status 2 after 2 non-finite iterations (got $rc)" "[ $rc = 2 ]"
check "finetune: the message names the key" "grep -q '2 consecutive non-finite steps (finetune.max_nonfinite = 2)' $work/f.log"
check "finetune: no pirf.h5" "[ ! -f $work/f/pirf.h5 ]"
check "finetune.jsonl lines carry time and memory" "[ \$(grep -cEv '$ts' $work/f/finetune.jsonl) = 0 ]"
check "finetune.jsonl has the base evaluation" "grep -q '\"eval\": \"base\"' $work/f/finetune.jsonl"
finish
