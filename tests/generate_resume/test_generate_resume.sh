#!/usr/bin/env bash
# Resumable generation and clean stops of the non-training stages (docs/data-format.md,
# docs/user-guide.md "Restarts").
#
# usage: test_generate_resume.sh CASE PIRF MPIEXEC SOURCE_DIR ARGS...
#   resume NP TILES [SPINUP]  `pirf generate` (Kolmogorov, 2 data groups at NP=2 [1,1]) stopped at random
#                       moments (USR1/USR2 to mpiexec, TERM to one rank), rerun until it completes,
#                       several trials: /fields and the residual attributes equal an uninterrupted
#                       run's bit for bit, and no .partial is left.
#   resume_darcy NP     the same for Darcy (a solve per sample) with a stop per trial.
#   foreign NP          a .partial of another deck (data.seed, grid.resolution), a damaged one and a
#                       non-HDF5 one are not used: a line says why, the result equals a fresh run.
#   term MKCK NP        SIGTERM to mpiexec and to one rank stop generate (partial kept, resumed),
#                       sample and evaluate (no .partial left) with status 3 on every rank.
#   late                SIGTERM to the rank again and again from the moment its data set is written
#                       until it exits: a finished run still exits with status 0.
#   spinup              progress lines appear during Kolmogorov's spin-up at output.progress_s.
set -uo pipefail
case_=$1; pirf=$2; mpiexec=$3; src=$4
shift 4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
# Open MPI 4's mpiexec, on SIGTERM, waits this long, sends SIGTERM to the ranks, waits as long again
# and then SIGKILLs them: the ranks' time to stop cleanly (its default of 1 s is short on a busy node).
export OMPI_MCA_odls_base_sigkill_timeout=2
py=/usr/bin/python3
work=$(mktemp -d "$PWD/generate_resume.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# The cases add their own values to the shared argument strings below, and pirf refuses a key
# given twice: every pirf runs through a wrapper that keeps the later value (it execs pirf, so the
# pid recorded by `start` is pirf's).
real_pirf=$pirf; pirf=$work/pirf
printf '#!/usr/bin/env bash\nsource %q\nmapfile -t a < <(pirf_last_wins "$@")\nexec %q "${a[@]}"\n' \
  "$src/tests/core/last_wins.sh" "$real_pirf" > "$pirf"
chmod +x "$pirf"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
kdeck=$src/input/kolmogorov_quickstart.yaml
kargs="grid.resolution=32 data.samples=12 data.chunk=2 pde.kolmogorov.samples_per_trajectory=2"
kargs+=" pde.kolmogorov.spinup=6 output.progress_s=1000"

# Same /fields bit for bit and the same residual_mse/residual_mae attributes.
same() {
  $py - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    ok = np.array_equal(a["fields"][...], b["fields"][...])
    for k in ("residual_mse", "residual_mae"):
        ok &= a.attrs[k] == b.attrs[k]
    ok &= "generated" not in b and "resume_identity" not in b.attrs
    ok &= sorted(a.keys()) == sorted(b.keys())
sys.exit(0 if ok else 1)
PY
}

# start NP OUT ARGS...: launch pirf under mpiexec in the background; every rank's pid goes to
# pid.<rank> (exec: the pid is pirf's). Sets $job.
start() {
  local np=$1 out=$2; shift 2
  rm -f pid.*
  $mpiexec -n "$np" bash -c 'echo $$ > pid.$OMPI_COMM_WORLD_RANK; exec "$@"' _ "$pirf" "$@" \
    >"$out" 2>&1 &
  job=$!
}
# wait_for FILE REGEX: until the line shows up (or 60 s).
wait_for() {
  for _ in $(seq 3000); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
  return 1
}
rand_sleep() { sleep "$($py -c "import random; print(random.uniform($1, $2))")"; }
now() { date +%s.%N; }
# reference NP OUT ARGS...: an uninterrupted `pirf generate`; sets $tgen, the seconds from its
# layout line to its exit (the stops below are timed relative to it, whatever the machine's load)
reference() {
  local np=$1 out=$2; shift 2
  start "$np" "$out" generate "$@"
  wait_for "$out" "layout:"; local t0; t0=$(now)
  wait "$job"
  tgen=$($py -c "print(max(0.05, $(now) - $t0))")
}

# generate_until_done NP OUT ARGS...: rerun, each time stopped at a random moment, until done.
# Sets $stops (runs that stopped with status 3).
generate_until_done() {
  local np=$1 out=$2; shift 2
  stops=0
  for attempt in $(seq 12); do
    start "$np" "$out.$attempt" generate "$@"
    local sig=$(( (attempt + RANDOM) % 3 ))
    if [ "$attempt" -le 3 ] && wait_for "$out.$attempt" "layout:"; then
      rand_sleep 0 "$($py -c "print(0.9 * $tgen)")"
      case $sig in
      0) kill -USR1 "$job" 2>/dev/null ;;
      1) kill -USR2 "$job" 2>/dev/null ;;
      2) kill -TERM "$(cat pid.$((np - 1)) 2>/dev/null)" 2>/dev/null ;;
      esac
    fi
    wait "$job"; local rc=$?
    if [ "$rc" = 0 ]; then return 0; fi
    # a USR1/USR2 that reaches mpiexec after its ranks have finished kills mpiexec itself (Open MPI
    # 4 no longer forwards it); the data set is complete then (checked below)
    if [ "$rc" -gt 128 ] && grep -q "^\[generate\] wrote " "$out.$attempt"; then return 0; fi
    if [ "$rc" != 3 ]; then echo "generate exited with $rc:"; cat "$out.$attempt"; return 1; fi
    grep -q "stopped on signal .* kept .*\.partial" "$out.$attempt" || { cat "$out.$attempt"; return 1; }
    stops=$((stops + 1))
  done
  return 1
}

case $case_ in
resume|resume_darcy)
  np=$1; tiles=${2:-[1,1]}; spinup=${3:-20}
  if [ "$case_" = resume ]; then
    deck=$kdeck; args="$kargs parallel.tiles=$tiles pde.kolmogorov.spinup=$spinup"
  else
    deck=$src/input/quickstart.yaml
    args="grid.resolution=64 data.samples=160 data.chunk=4 parallel.tiles=$tiles model.channel_mult=[1]"
  fi
  reference "$np" ref.txt "$deck" $args data.path=ref.h5
  check "uninterrupted run" "[ -f ref.h5 ]"
  echo "uninterrupted run: $tgen s after its layout line"
  total_stops=0
  for trial in 1 2; do
    rm -f out.h5 out.h5.partial
    check "trial $trial completes" "generate_until_done $np run$trial $deck $args data.path=out.h5"
    total_stops=$((total_stops + stops))
    check "trial $trial: same fields and residual attributes as the uninterrupted run" \
          "same ref.h5 out.h5"
    check "trial $trial: no .partial left" "[ ! -e out.h5.partial ]"
    check "trial $trial: the rerun resumed" "[ $stops = 0 ] || grep -q 'resuming from' run$trial.*"
  done
  echo "stops over the trials: $total_stops"
  check "at least one trial was stopped" "[ $total_stops -gt 0 ]"
  ;;
foreign)
  np=$1
  reference "$np" ref.txt "$kdeck" $kargs data.path=ref.h5
  for other in data.seed=1 grid.resolution=48; do
    rm -f out.h5*
    start "$np" stop.txt generate "$kdeck" $kargs $other data.path=out.h5
    wait_for stop.txt "layout:"; sleep "$($py -c "print(0.3 * $tgen)")"; kill -USR1 "$job"; wait "$job"
    check "$other: a stopped run kept its partial" "[ -e out.h5.partial ]"
    $mpiexec -n "$np" "$pirf" generate "$kdeck" $kargs data.path=out.h5 >run.txt 2>&1
    key=${other%%=*}
    check "$other: the partial is not used, and the line names $key" \
          "grep -q \"not resuming from out.h5.partial: it was written for other settings ($key differs)\" run.txt"
    check "$other: result equals a fresh run" "same ref.h5 out.h5"
  done
  rm -f out.h5*
  echo "not an HDF5 file" > out.h5.partial
  $mpiexec -n "$np" "$pirf" generate "$kdeck" $kargs data.path=out.h5 >run.txt 2>&1
  check "a non-HDF5 partial is not used" "grep -q 'not resuming from out.h5.partial: it is not a readable HDF5 file' run.txt"
  check "non-HDF5 partial: result equals a fresh run" "same ref.h5 out.h5"
  rm -f out.h5*
  cp ref.h5 out.h5.partial  # a finished data set: no record of generated samples
  $mpiexec -n "$np" "$pirf" generate "$kdeck" $kargs data.path=out.h5 >run.txt 2>&1
  check "a partial without the resume records is not used" "grep -q 'not resuming from out.h5.partial: it lacks' run.txt"
  check "no .partial left" "[ ! -e out.h5.partial ]"
  ;;
term)
  mkck=$1; np=$2
  common="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]"
  common+=" output.dir=o data.path=d.h5 data.samples=4 output.progress_s=1000"
  qdeck=$src/input/quickstart.yaml
  mkdir -p o
  $mpiexec -n 1 "$pirf" generate "$qdeck" $common >gen.txt 2>&1
  $mpiexec -n 1 "$mkck" "$qdeck" o/base.h5 5 $common >mk.txt 2>&1
  check "set-up: data and a base checkpoint" "[ -f d.h5 ] && [ -f o/base.h5 ]"
  sargs="sample.samples=4000 sample.batch=2 sample.steps=8 sample.output=o/s.h5"
  eargs="evaluate.samples=4000 evaluate.batch=2 evaluate.steps=[8] evaluate.zetas=[0]"
  eargs+=" evaluate.holdout_samples=4"
  # to_mpiexec STAGE-ARGS...: SIGTERM to mpiexec; every rank records its own exit status.
  to_mpiexec() {
    rm -f st.* pid.*
    $mpiexec -n "$np" bash -c 'trap "" TERM; "$@"; echo $? > st.$OMPI_COMM_WORLD_RANK' _ \
      "$pirf" "$@" >term.txt 2>&1 &
    job=$!
  }
  # Open MPI 4's mpiexec itself exits with 1 after a SIGTERM whatever the ranks return, and may
  # SIGKILL the ranks' wrappers before they record a status (sometimes all of them): every recorded
  # status must be 3, the stop line (printed after a world-wide agreement) must be there (checked
  # next), and nothing must abort. The status 3 itself is checked with TERM to a rank below.
  ranks_stopped() {
    for f in st.*; do
      [ -e "$f" ] || continue
      [ "$(cat "$f")" = 3 ] || return 1
    done
    ! grep -qE 'MPI_ABORT|\*\*\* |aborting the job' term.txt
  }
  for stage in generate sample evaluate; do
    case $stage in
    # long enough to outlast mpiexec's delay before it passes SIGTERM on, on a quiet machine too
    generate) a="generate $kdeck $kargs pde.kolmogorov.spinup=1000 data.path=g.h5"; ready="layout:"
              out=g.h5 ;;
    sample) a="sample $qdeck $common $sargs"; ready="\\[sample\\] ema weights"; out=o/s.h5 ;;
    evaluate) a="evaluate $qdeck $common $eargs"; ready="\\[evaluate\\] darcy:"; out=o/evaluation.json ;;
    esac
    rm -f g.h5* o/*.partial o/s.h5 o/evaluation.json o/holdout.h5
    # SIGTERM to mpiexec
    to_mpiexec $a
    wait_for term.txt "$ready"; sleep 0.5; kill -TERM "$job"; wait "$job"
    check "$stage, TERM to mpiexec: the ranks exit with status 3" "ranks_stopped || { cat term.txt; false; }"
    check "$stage, TERM to mpiexec: says it stopped" "grep -q 'stopped on signal 15' term.txt"
    check "$stage, TERM to mpiexec: no output under its final name" "[ ! -e $out ]"
    if [ $stage = generate ]; then
      check "generate keeps its partial" "[ -e g.h5.partial ]"
    else
      check "$stage, TERM to mpiexec: no .partial left" "[ -z \"\$(find . -name '*.partial')\" ]"
    fi
    # SIGTERM to one rank: mpiexec reports that rank's status 3
    start "$np" rank.txt $a
    wait_for rank.txt "$ready"; sleep 0.5; kill -TERM "$(cat pid.$((np - 1)))"; wait "$job"; rc=$?
    check "$stage, TERM to rank $((np - 1)): status 3" "[ $rc = 3 ] || { cat rank.txt; false; }"
    check "$stage, TERM to a rank: says it stopped" "grep -q 'stopped on signal 15' rank.txt"
    if [ $stage = generate ]; then
      check "generate, TERM to a rank: resumed from the partial" "grep -q 'resuming from g.h5.partial' rank.txt"
      check "generate, TERM to a rank: kept its partial" "[ -e g.h5.partial ] && [ ! -e g.h5 ]"
    else
      check "$stage, TERM to a rank: no .partial left" "[ -z \"\$(find . -name '*.partial')\" ]"
    fi
  done
  # a stop inside one long sampling batch (the batch holds every sample and takes many times
  # run.stop_latency_s): the ranks leave it at the next poll between U-Net blocks, status 3,
  # within the bound (plus start-up slack), nothing written; its progress lines show the batch
  start "$np" batch.txt sample "$qdeck" $common sample.samples=8 sample.batch=8 sample.steps=3000 \
    sample.output=o/s.h5 output.progress_s=0.3 run.stop_latency_s=1
  wait_for batch.txt "batch from sample 0 in progress"; t0=$(now)
  kill -USR1 "$(cat pid.0)"; wait_for batch.txt "stopped on signal"; t1=$(now)
  wait "$job"; rc=$?
  # from the signal to pirf's stop line (mpiexec itself takes seconds more to exit on status 3)
  lat=$($py -c "print(round($t1 - $t0, 2))")
  echo "sample, USR1 inside a batch: stop line $lat s after the signal (run.stop_latency_s = 1)"
  check "sample, USR1 inside a batch: status 3" "[ $rc = 3 ] || { cat batch.txt; false; }"
  check "sample, USR1 inside a batch: the batch was abandoned" \
    "grep -q 'stopped on signal 10 after 0 of 8 samples' batch.txt || { cat batch.txt; false; }"
  check "sample, USR1 inside a batch: within 1 s + 2 s of slack (took $lat s)" \
    "$py -c 'import sys; sys.exit(0 if $lat < 3 else 1)'"
  check "sample, USR1 inside a batch: nothing left" "[ ! -e o/s.h5 ] && [ -z \"\$(find . -name '*.partial')\" ]"
  # evaluate stopped while it generates its held-out data: no holdout.h5(.partial) is left
  rm -f o/holdout.h5* o/evaluation.json
  start "$np" hold.txt evaluate "$qdeck" $common $eargs evaluate.holdout_samples=400000 data.chunk=64
  wait_for hold.txt "generating held-out data"; sleep 0.5; kill -TERM "$(cat pid.$((np - 1)))"
  wait "$job"; rc=$?
  check "evaluate stopped in its held-out data: status 3" "[ $rc = 3 ] || { cat hold.txt; false; }"
  check "evaluate stopped in its held-out data: says it deleted the partial" \
        "grep -q 'stopped on signal 15; deleted o/holdout.h5.partial' hold.txt"
  check "evaluate stopped in its held-out data: nothing left" \
        "[ ! -e o/holdout.h5 ] && [ ! -e o/holdout.h5.partial ] && [ ! -e o/evaluation.json ]"
  ;;
late)
  for trial in 1 2 3; do
    rm -f x.h5*
    start 1 late.txt generate "$kdeck" grid.resolution=32 data.samples=2 pde.kolmogorov.spinup=0.5 \
      data.path=x.h5
    wait_for late.txt "wrote x.h5"
    while kill -0 "$job" 2>/dev/null; do kill -TERM "$(cat pid.0)" 2>/dev/null; sleep 0.005; done
    wait "$job"; rc=$?
    check "trial $trial: a signal after the work leaves status 0 (got $rc)" "[ $rc = 0 ]"
    check "trial $trial: the data set is complete" "[ -f x.h5 ] && [ ! -e x.h5.partial ]"
  done
  ;;
spinup)
  $mpiexec -n 1 "$pirf" generate "$kdeck" grid.resolution=64 data.samples=1 \
    pde.kolmogorov.spinup=40 output.progress_s=0.1 data.path=s.h5 >spin.txt 2>&1
  n=$(grep -c '^\[generate\] 0/1 samples .* kolmogorov trajectory 0: spin-up t = ' spin.txt)
  echo "progress lines during the spin-up: $n"
  check "progress lines during the spin-up (>= 3)" "[ $n -ge 3 ] || { cat spin.txt; false; }"
  check "the lines carry rate, ETA and RSS" "grep -q 'ETA .* RSS [0-9]* MiB/rank (max)' spin.txt"
  ;;
*) echo "unknown case $case_"; exit 2 ;;
esac
echo "generate_resume $case_: $pass passed, $fail failed"
[ $fail = 0 ]
