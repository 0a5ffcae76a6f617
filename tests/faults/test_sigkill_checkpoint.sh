#!/usr/bin/env bash
# sigkill_during_checkpoint_writes_loses_nothing: a tiny pretraining that writes a checkpoint at
# every step is killed with SIGKILL (every rank at once, as a node failure would) at a random
# moment of a checkpoint write (after a random number of checkpoints, the next write, a random few
# milliseconds into it), TRIALS times (more while fewer than a quarter land inside a write). Each
# time: the checkpoint on disk is whole and loadable (h5ls; the rerun resumes from it), and the
# rerun's final model equals an uninterrupted run's bit for bit (h5diff of /net, /ema, /adam_m,
# /adam_v). Prints how many kills landed inside a checkpoint write (a .partial present).
# usage: test_sigkill_checkpoint.sh PIRF MPIEXEC SOURCE_DIR [NP] [TRIALS]
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3; np=${4:-2}; trials=${5:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d /tmp/pirf-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common=(grid.resolution=16 data.path=$work/d16.h5 data.samples=8 model.channels=8
        'model.channel_mult=[1,2]' 'model.attn_resolutions=[8]' model.num_blocks=1 pretrain.batch=4
        pretrain.kimg=0.024 pretrain.checkpoint_kimg=0.004 pretrain.log_kimg=0.004 pretrain.seed=7
        pretrain.lr_rampup_kimg=0 output.verbosity=1)
pass=0 fail=0 inside=0 before=0
check() { if eval "$2"; then pass=$((pass + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }
"$mpiexec" -n "$np" "$pirf" generate "$deck" "${common[@]}" >/dev/null 2>&1 || { echo "generate failed"; exit 1; }
"$mpiexec" -n "$np" "$pirf" pretrain "$deck" "${common[@]}" output.dir="$work/ref" >"$work/ref.log" 2>&1 ||
  { echo "the uninterrupted run failed"; cat "$work/ref.log"; exit 1; }

RANDOM=$((12345 + np))
# TRIALS kills, and more (up to 3 x TRIALS) while fewer than a quarter have landed inside a write:
# on a loaded machine the writes are a smaller share of a run and the aim misses more often
t=0
while [ $t -lt "$trials" ] || { [ $((4 * inside)) -lt $t ] && [ $t -lt $((3 * trials)) ]; }; do
  t=$((t + 1))
  dir=$work/t$t
  "$mpiexec" -n "$np" "$pirf" pretrain "$deck" "${common[@]}" output.dir="$dir" >"$dir.log" 2>&1 &
  mp=$!
  # wait for the k-th checkpoint (k random in 1..4: each is a new file, a new inode), then for the
  # next write to start, then a random few milliseconds into it
  k=$((1 + RANDOM % 4)) seen="" n=0
  for _ in $(seq 1 3000); do
    ino=$(stat -c %i "$dir/pretrain-state.h5" 2>/dev/null)
    if [ -n "$ino" ] && [ "$ino" != "$seen" ]; then seen=$ino; n=$((n + 1)); fi
    [ $n -ge $k ] && break
    kill -0 "$mp" 2>/dev/null || break
    sleep 0.002
  done
  for _ in $(seq 1 3000); do
    [ -e "$dir/pretrain-state.h5.partial" ] && break
    kill -0 "$mp" 2>/dev/null || break
    sleep 0.002
  done
  sleep "0.00$((RANDOM % 5))"
  ranks=$(pgrep -P "$mp" -f "$pirf" | tr '\n' ' ')
  [ -n "$ranks" ] && kill -KILL $ranks 2>/dev/null
  [ -e "$dir/pretrain-state.h5.partial" ] && inside=$((inside + 1))
  wait "$mp" 2>/dev/null
  # mpiexec can exit before its killed ranks are gone; the rerun's run lock would see them alive
  for r in $ranks; do for _ in $(seq 500); do kill -0 "$r" 2>/dev/null || break; sleep 0.01; done; done
  if [ -f "$dir/base.h5" ]; then
    before=$((before + 1)) # the kill came after the run had finished
  fi
  if [ $n -ge 1 ]; then # a checkpoint had been completed before the kill: it must still be there
    check "trial $t: the last complete checkpoint survives the kill" \
      "[ -f '$dir/pretrain-state.h5' ] || [ -f '$dir/base.h5' ]"
  fi
  had_state=0
  [ -f "$dir/pretrain-state.h5" ] && [ ! -f "$dir/base.h5" ] && had_state=1
  if [ -f "$dir/pretrain-state.h5" ]; then
    check "trial $t: the checkpoint left by the kill opens" "h5ls -r '$dir/pretrain-state.h5' >/dev/null 2>&1"
  fi
  "$mpiexec" -n "$np" "$pirf" pretrain "$deck" "${common[@]}" output.dir="$dir" >"$dir.rerun.log" 2>&1
  rc=$?
  check "trial $t: the rerun succeeds (status $rc)" "[ $rc = 0 ]"
  [ "$rc" = 0 ] || grep -m3 "pirf:" "$dir.rerun.log"
  if [ $had_state = 1 ]; then
    check "trial $t: the rerun resumed from the checkpoint" "grep -q 'resuming from' '$dir.rerun.log'"
  fi
  for g in net ema adam_m adam_v; do
    check "trial $t: /$g equals the uninterrupted run" \
      "h5diff -q '$work/ref/base.h5' '$dir/base.h5' /$g /$g >/dev/null 2>&1"
  done
  check "trial $t: no .partial after the rerun" "[ ! -e '$dir/pretrain-state.h5.partial' ] && [ ! -e '$dir/base.h5.partial' ]"
  rm -rf "$dir"
done
echo "$t SIGKILLs at $np rank(s): $inside inside a checkpoint write, $before after the run had finished"
check "at least a quarter of the kills landed inside a checkpoint write ($inside of $t)" "[ $((4 * inside)) -ge $t ]"
echo "sigkill_during_checkpoint_writes: $pass passed, $fail failed"
[ $fail = 0 ]
