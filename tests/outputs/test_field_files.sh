#!/usr/bin/env bash
# field_files_explain_themselves: every field file pirf writes (data sets at 1 and 4 ranks, a
# Poisson (vertex grid) and a Burgers (space-time) data set, plain and DPS samples files) carries dimension
# scales, units and descriptions (h5py) and has an XDMF sidecar that VTK's XDMF 3 reader opens with
# one grid per sample, the grid's physical coordinates, the channels as attributes and values equal
# to the HDF5 data (tests/outputs/check_field_file.py; its VTK part is skipped with a message where
# no VTK XDMF reader is installed). The sidecar does not depend on the rank layout.
# usage: test_field_files.sh PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mkck=$2; mpiexec=$3; src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d field_files_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
run() { local np=$1; shift; $mpiexec -n "$np" "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
ck() { /usr/bin/python3 "$src/tests/outputs/check_field_file.py" "$@"; }
deck=$src/input/quickstart.yaml
small="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]"
for np in 1 4; do
  check "darcy data set at $np ranks" "run $np $pirf generate $deck $small data.path=$work/d$np.h5 data.samples=5"
  check "darcy data set at $np ranks explains itself" "ck $work/d$np.h5"
done
check "the sidecar does not depend on the rank layout" "diff <(sed 1,3d $work/d1.xmf | sed s/d1.h5/D/) <(sed 1,3d $work/d4.xmf | sed s/d4.h5/D/)"
check "no partial sidecar left" "! ls $work/*.partial 2>/dev/null"
check "poisson (vertex grid) data set" "run 2 $pirf generate $src/input/poisson_quickstart.yaml grid.resolution=16 data.path=$work/p.h5 data.samples=3"
check "poisson data set explains itself" "ck $work/p.h5"
check "burgers (space-time) data set" "run 2 $pirf generate $src/input/burgers_quickstart.yaml grid.resolution=16 data.path=$work/b.h5 data.samples=2"
check "burgers data set explains itself" "ck $work/b.h5"
check "burgers rows are time" "grep -q '(t rows, x columns)' $work/b.xmf"
mkdir -p $work/o
check "a model" "run 1 $mkck $deck $work/o/base.h5 5 $small data.path=$work/d1.h5"
check "samples at 2 ranks" "run 2 $pirf sample $deck $small data.path=$work/d1.h5 output.dir=$work/o sample.samples=3 sample.steps=3 sample.batch=2"
check "samples file explains itself" "ck $work/o/samples_heun.h5"
check "DPS samples at 2 ranks" "run 2 $pirf sample $deck $small data.path=$work/d1.h5 output.dir=$work/o sample.samples=2 sample.steps=3 sample.batch=2 sample.method=dps sample.zeta=1e-3 sample.corrections=3"
check "DPS samples record the corrections DPS made: none" "h5dump -a corrections $work/o/samples_dps.h5 | grep -q '(0): 0\$'"
check "DPS samples explain themselves" "ck $work/o/samples_dps.h5"
echo "field_files_explain_themselves: $pass passed, $fail failed"
[ $fail = 0 ]
