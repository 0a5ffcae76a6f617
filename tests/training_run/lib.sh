# Shared set-up of the training-run tests (sourced): MPI as root, a tiny 16x16 Darcy network, a
# fifo-based runner that timestamps every output line, and the check/summary helpers.
# usage in a test: source lib.sh PIRF MPIEXEC SOURCE_DIR NAME
pirf=$1; mpiexec=$2; src=$3; name=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
# Open MPI 4.1's mpiexec, itself sent SIGTERM, passes TERM on to its ranks about 1.6 T later and
# SIGKILLs them about T after that (T = odls_base_sigkill_timeout, default 1 s); it also waits
# about 2 T before exiting once a rank exits non-zero. docs/pretrain.md: T = run.stop_latency_s/3.
export OMPI_MCA_odls_base_sigkill_timeout=2
T=$OMPI_MCA_odls_base_sigkill_timeout
work=$(mktemp -d "${name}.XXXXXX")
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
tiny="grid.resolution=16 data.path=$work/d16.h5 data.samples=8 model.channels=8"
tiny+=" model.channel_mult=[1,2] model.attn_resolutions=[8] model.num_blocks=1"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
finish() { echo "$name: $pass passed, $fail failed"; [ $fail = 0 ]; }
now() { date +%s.%N; }
# start NP ARGS...: runs mpiexec in the background; $mp = its PID, $out = its timestamped output
start() {
  local np=$1; shift
  out=$work/run$((++nrun)).log
  rm -f "$work/fifo"; mkfifo "$work/fifo"
  (while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done < "$work/fifo" > "$out") &
  stamper=$!
  $mpiexec -n "$np" "$pirf" "$@" > "$work/fifo" 2>&1 &
  mp=$!
}
# finish_run: waits for the run started last; $rc = its status
wait_run() { wait "$mp"; rc=$?; wait "$stamper"; }
# wait_lines FILE N [TIMEOUT_S]: until FILE has N lines
wait_lines() {
  local i
  for i in $(seq 1 $((${3:-300} * 10))); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# wait_grep FILE REGEX [TIMEOUT_S]: until FILE has a line matching REGEX
wait_grep() {
  local i
  for i in $(seq 1 $((${3:-300} * 10))); do
    [ -f "$1" ] && grep -Eq "$2" "$1" && return 0
    sleep 0.1
  done
  return 1
}
# jsonl_ok FILE KEY TOTAL: the step counters are distinct and increasing, end at TOTAL, and the
# "steps" fields add up to TOTAL (no line averages over steps it did not see, none is repeated)
jsonl_ok() {
  sed -n "s/^{\"$2\": \([0-9]*\),.*\"steps\": \([0-9]*\),.*/\1 \2/p" "$1" |
    awk -v total="$3" '$1 <= last { bad = 1 } { last = $1; sum += $2 } END { exit !(!bad && last == total && sum == total) }'
}
# a rank of the run started last (a child of mpiexec)
rank_pid() { pgrep -P "$mp" -f "$(basename "$pirf")" | head -1; }
nrun=0
