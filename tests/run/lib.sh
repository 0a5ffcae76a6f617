# Shared set-up of the tests/run/ scripts: the environment, a tiny whole-pipeline deck (16x16
# Darcy, 4 samples, an 8-channel network, 2 pretraining steps, 2 fine-tuning iterations, a
# 2-sample evaluation at N = 2) and the check/run helpers. Sourced with pirf, mpiexec, src and np
# set; creates $work (removed on exit).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "$PWD/run_test.XXXXXX")
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
b=$(( ${np:-1} > 2 ? 4 : 2 )) # batches: a multiple of the data groups
tiny="grid.resolution=16 data.samples=4 data.path=$work/d.h5 output.dir=$work/r model.channels=8"
tiny+=" model.channel_mult=[1,2] model.attn_resolutions=[8] pretrain.batch=$b pretrain.kimg=0.004"
tiny+=" pretrain.log_kimg=0.002 pretrain.checkpoint_kimg=0.002 finetune.steps=4 finetune.k=2"
tiny+=" finetune.batch=$b finetune.iterations=2 finetune.log_iterations=1"
tiny+=" finetune.checkpoint_iterations=1 finetune.eval_samples=0 evaluate.samples=2"
tiny+=" evaluate.batch=2 evaluate.steps=[2] evaluate.zetas=[0] evaluate.holdout_samples=2"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
# pirf NP ARGS...: runs mpiexec -n NP pirf ARGS > $work/out.txt (stdout+stderr); sets $rc
# (the tests compose shared override strings with their own: the later of two values for a key wins)
source "$src/tests/core/last_wins.sh"
pirf_np() {
  local n=$1; shift
  local args; mapfile -t args < <(pirf_last_wins "$@")
  $mpiexec -n "$n" "$pirf" "${args[@]}" >"$work/out.txt" 2>&1; rc=$?
}
# expect STATUS NP ARGS...: runs it; passes if the exit status is STATUS (prints the output if not)
expect() { local want=$1; shift; pirf_np "$@"; [ "$rc" = "$want" ] || { echo "exit $rc, wanted $want:"; cat "$work/out.txt"; return 1; }; }
says() { grep -Eq -- "$1" "$work/out.txt" || { echo "output lacks /$1/:"; cat "$work/out.txt"; return 1; }; }
py=${PIRF_PY:-/usr/bin/python3} # Debian's python3 with h5py
# checksums of every file of the data set and the run directory but log.txt
sums() { (cd "$work" && find d.h5 r -type f ! -name log.txt | sort | xargs md5sum); }
