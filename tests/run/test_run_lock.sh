#!/usr/bin/env bash
# run_directory_is_held_exclusively: output.dir/pirf.lock at NP ranks.
#   - while a job (pretraining, 2 ranks) holds a run directory, `pirf run`, `pirf pretrain` and
#     `pirf finetune` there are refused with exit 2 and a message naming the holder (PID, host, job
#     id, since when), and they write nothing there (log.txt untouched);
#   - the lock records host, PID, job id (SLURM_JOB_ID), command line and start time;
#   - the holder stopped by SIGUSR1 exits 3 and leaves no lock; so do a success and a user error;
#   - a lock left by a dead process on this host is reported as stale, replaced, and noted in
#     log.txt; one from another host is refused (naming run.break_lock) until run.break_lock=true.
# usage: test_run_lock.sh PIRF MPIEXEC SOURCE_DIR NP
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3; np=$4
source "$src/tests/run/lib.sh"
r=$work/r
lock=$r/pirf.lock

check "data set" "expect 0 $np generate $deck $tiny"
# the holder: a long pretraining (about 10^4 steps), under a fake SLURM job id
mapfile -t holder < <(pirf_last_wins pretrain $deck $tiny pretrain.kimg=20)
SLURM_JOB_ID=4242 $mpiexec -n 2 "$pirf" "${holder[@]}" >"$work/holder.txt" 2>&1 &
holder=$!
for _ in $(seq 1 600); do
  [ -f "$r/pretrain.jsonl" ] && [ "$(wc -l < "$r/pretrain.jsonl")" -ge 2 ] && break
  sleep 0.1
done
check "the holder took the lock" "[ -f $lock ]"
pid=$(sed -n 's/^pid: //p' "$lock")
check "the lock names host, PID, job, command and start time" "grep -q '^host: $(hostname)$' $lock && [ -n '$pid' ] && grep -q '^job: 4242$' $lock && grep -q '^command: .*pirf pretrain ' $lock && grep -Eq '^since: [0-9]{4}-[0-9]{2}-[0-9]{2}T' $lock"
cp "$r/log.txt" "$work/log_before"
check "a second pirf run is refused" "expect 2 $np run $deck $tiny"
check "... naming the first job" "says \"held by PID $pid on $(hostname) \\(job 4242\\) since [0-9]{4}-\" && says 'pirf pretrain'"
check "a second pirf pretrain is refused" "expect 2 $np pretrain $deck $tiny && says 'another job uses this run directory'"
check "a pirf finetune is refused" "expect 2 $np finetune $deck $tiny && says \"held by PID $pid\""
check "the refused jobs wrote nothing to log.txt" "[ \$(wc -l < $r/log.txt) -ge \$(wc -l < $work/log_before) ] && ! grep -q 'another job uses' $r/log.txt"
check "the holder is still running" "kill -0 $holder"
kill -USR1 "$holder"
wait "$holder"; hrc=$?
check "the holder stopped with exit 3 (got $hrc)" "[ $hrc = 3 ]"
check "no lock after a stop" "[ ! -e $lock ]"
check "log.txt records the stop" "grep -q '==== pirf pretrain: stopped on a signal' $r/log.txt"

# a stale lock: a process of this host that has ended
sh -c 'exit 0' & dead=$!; wait $dead
printf 'host: %s\npid: %s\njob: none\nsince: 2026-01-01T00:00:00.000Z\ncommand: pirf run old\ntoken: x\n' "$(hostname)" "$dead" >"$lock"
check "a stale lock is replaced" "expect 0 $np pretrain $deck $tiny pretrain.resume=false && says \"left by PID $dead on $(hostname) .*no longer running: removed the stale lock\""
check "... and log.txt says so" "grep -q 'removed the stale lock' $r/log.txt"
check "no lock after success" "[ ! -e $lock ]"

# a lock from another host
printf 'host: node-elsewhere\npid: 1\njob: 99\nsince: 2026-01-01T00:00:00.000Z\ncommand: pirf run x\ntoken: y\n' >"$lock"
check "a lock from another host is refused" "expect 2 $np run $deck $tiny && says 'node-elsewhere \\(job 99\\).*run.break_lock=true'"
check "... and kept" "grep -q node-elsewhere $lock"
check "run.break_lock=true breaks it" "expect 0 $np run $deck $tiny run.break_lock=true && says 'broke .*pirf.lock of PID 1 on node-elsewhere'"
check "no lock after the run" "[ ! -e $lock ]"

check "a user error inside a stage" "expect 2 $np finetune $deck $tiny finetune.base=$work/missing.h5 finetune.resume=false && says 'missing.h5'"
check "no lock after a user error" "[ ! -e $lock ]"
check "log.txt has the error" "grep -q 'pirf: error: .*missing.h5' $r/log.txt"

echo "run_directory_is_held_exclusively (np $np): $pass passed, $fail failed"
[ $fail = 0 ]
