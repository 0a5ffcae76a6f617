#!/usr/bin/env bash
# -log_view is the profile of a pirf run: on the tiny whole pipeline (`pirf run`, then `pirf
# sample`) at NP ranks, the report lists one stage per pipeline stage and, in each, the events of
# what that stage does, with flops on the compute events and, when a sample is split over tiles,
# messages on the halo exchange and reductions on GroupNorm; a Kolmogorov generation lists the FFT
# and its transposes. Profiling changes no result: the checkpoints of a run without -log_view are
# identical to the profiled run's.
# usage: test_log_view.sh PIRF MPIEXEC SOURCE_DIR NP
set -u
pirf=$1; mpiexec=$2; src=$3; np=$4
source "$src/tests/run/lib.sh"
case $np in 1) tiles="[1,1]" ;; 2) tiles="[2,1]" ;; *) tiles="[2,2]" ;; esac
py=/usr/bin/python3
# check_log FILE STAGE "EVENT ..." [PROPERTY ...]: each event has a count > 0 in the stage;
# properties: flops:EVENT (flops > 0), messages:EVENT, reductions:EVENT
check_log() {
  "$py" - "$src/postprocess" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import petsc_log
path, stage, events = sys.argv[2], sys.argv[3], sys.argv[4].split()
log = petsc_log.read(path)
bad = []
if stage not in log["stages"]:
    sys.exit(f"{path}: no stage '{stage}' (stages: {', '.join(log['stages'])})")
ev = log["stages"][stage]["events"]
bad += [f"no event {e}" for e in events if ev.get(e, {}).get("count", 0) <= 0]
for prop in sys.argv[5:]:
    key, name = prop.split(":")
    if ev.get(name, {}).get(key, 0) <= 0:
        bad.append(f"{name} has no {key}")
if bad:
    sys.exit(f"{path}, stage '{stage}': " + "; ".join(bad))
PY
}

pirf_np "$np" run "$deck" $tiny parallel.tiles=$tiles 'evaluate.zetas=[0,1e-3]' \
  'evaluate.steps=[6]' -log_view ":$work/run.txt"
check "the profiled pipeline runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
nn="Conv3x3Fwd Conv1x1Fwd GroupNormFwd AttentionFwd AttnGatherKV HaloExchange UNetFwd"
nnb="Conv3x3BwdData Conv3x3BwdWeight Conv1x1BwdData Conv1x1BwdWeight GroupNormBwd AttentionBwd"
nnb+=" AttnRedScatKV HaloAdjoint UNetBwd GroupNormAllred"
opt="AdamRedScatter AdamUpdate AdamAllgather EMAUpdate CheckpointWrite TrainStep"
flops="flops:Conv3x3Fwd flops:Conv3x3BwdData flops:Conv3x3BwdWeight flops:Conv1x1Fwd"
flops+=" flops:GroupNormFwd flops:AttentionFwd flops:AdamUpdate flops:EMAUpdate"
split=""
[ "$np" != 1 ] && split="messages:HaloExchange messages:HaloAdjoint reductions:GroupNormAllred"
check "generate's events" 'check_log "$work/run.txt" "pirf generate" "PDESolve DataWrite"'
check "pretrain's events" \
  'check_log "$work/run.txt" "pirf pretrain" "$nn $nnb $opt DataRead" $flops $split'
check "finetune's events" 'check_log "$work/run.txt" "pirf finetune" \
  "$nn $nnb $opt CheckpointRead SamplerStep SamplerStepTape SamplerStepBwd Residual ResidualAdjoint" \
  $flops $split'
check "evaluate's events (DPS: guided steps)" 'check_log "$work/run.txt" "pirf evaluate" \
  "$nn CheckpointRead SamplerStep SamplerStepTape Residual ResidualAdjoint DataWrite"'

pirf_np "$np" sample "$deck" $tiny parallel.tiles=$tiles sample.samples=2 sample.batch=2 \
  sample.steps=2 -log_view ":$work/sample.txt"
check "the profiled sample runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
check "sample's events" \
  'check_log "$work/sample.txt" "pirf sample" "$nn CheckpointRead SamplerStep Residual DataWrite"'

# the same pipeline unprofiled, into another directory: the same weights, bit for bit
mv "$work/r" "$work/r_profiled"
pirf_np "$np" run "$deck" $tiny parallel.tiles=$tiles 'evaluate.zetas=[0,1e-3]' \
  'evaluate.steps=[6]'
check "the unprofiled pipeline runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
check "profiling changes no checkpoint" '"$py" - "$work" <<'"'"'PY'"'"'
import sys, h5py, numpy as np
w = sys.argv[1]
for name in ("base.h5", "pirf.h5"):
    a, b = h5py.File(f"{w}/r/{name}", "r"), h5py.File(f"{w}/r_profiled/{name}", "r")
    sets = []
    a.visititems(lambda k, v: sets.append(k) if isinstance(v, h5py.Dataset) else None)
    assert sets, name
    diff = [k for k in sets if not np.array_equal(a[k][...], b[k][...])]
    assert not diff, f"{name}: {diff[:5]}"
PY'

# Kolmogorov: the spectral solver's FFTs and the tile <-> slab transposes
k="grid.resolution=16 data.samples=2 data.path=$work/k.h5 output.dir=$work/k"
k+=" pde.kolmogorov.spinup=0.1 pde.kolmogorov.samples_per_trajectory=2"
pirf_np "$np" generate "$src/input/kolmogorov_quickstart.yaml" $k parallel.tiles=$tiles \
  -log_view ":$work/kolmogorov.txt"
check "the profiled Kolmogorov generation runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
check "Kolmogorov's events" \
  'check_log "$work/kolmogorov.txt" "pirf generate" "PDESolve FFT FFTTranspose DataWrite" flops:FFT'
# the reader refuses what is not a -log_view report, and prints a report's table
echo "not a report" > "$work/bad.txt"
"$py" "$src/postprocess/petsc_log.py" "$work/bad.txt" > "$work/read.txt" 2>&1; rc=$?
check "petsc_log.py refuses a file that is not a report (exit $rc)" \
  '[ "$rc" = 2 ] && grep -q "not a PETSc -log_view report" "$work/read.txt"'
"$py" "$src/postprocess/petsc_log.py" "$work/run.txt" --stage "pirf finetune" > "$work/read.txt" 2>&1
check "petsc_log.py prints a stage's events" 'grep -q "^  TrainStep  *[1-9]" "$work/read.txt"'
echo "log_view: $pass passed, $fail failed"
[ $fail = 0 ]
