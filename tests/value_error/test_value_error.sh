#!/usr/bin/env bash
# value_error_json_is_exact_at_the_last_step_and_layout_invariant: `pirf value-error` on a tiny
# random base model (16x16 Darcy, 8 channels, 2 levels; 6 trajectories in batches of 4, so the
# last batch is partial; N in {2, 6}) writes value_error.json with the promised fields and a
# relative error of 0 to rounding at the last step (the last Euler step lands on
# D(x_{N-1}; sigma_{N-1})); its v is pirf sample's residual of the same latents; the numbers agree
# to reduction order at 1 rank, 2 ranks (tiles [2,1]), 2 data groups, 4 ranks (tiles [2,2]) and
# 4 ranks ([2,1] tiles x 2 groups); postprocess/value_error.py draws it. Then the error paths: no
# fine-tuned model, a step count out of range, an N listed twice, too many trajectories x steps to
# keep, an unknown model: each exits 2 with one sentence and writes nothing.
# usage: test_value_error.sh PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mkck=$2; mpiexec=$3; src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d value_error_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]"
common+=" data.path=$work/none.h5 value_error.samples=6 value_error.batch=4 value_error.steps=[2,6]"
py="/usr/bin/python3 $src/tests/value_error/check_json.py"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
source "$src/tests/core/last_wins.sh" # each override once: the later of two replaces the earlier
run() { local np=$1; shift; local a; mapfile -t a < <(pirf_last_wins "$@"); $mpiexec -n "$np" "${a[@]}" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
experr() { local a; mapfile -t a < <(pirf_last_wins "$@"); bash "$src/tests/expect_error.sh" "${a[@]}" >"$work/err.txt" 2>&1 || { cat "$work/err.txt"; return 1; }; }
# one run directory per layout, each with the same base.h5
ve() { local np=$1 name=$2; shift 2; mkdir -p "$work/$name"; cp "$work/base.h5" "$work/$name/base.h5"; run "$np" $pirf value-error $deck $common output.dir=$work/$name "$@"; }

check "make the checkpoint" "run 1 $mkck $deck $work/base.h5 5 $common output.dir=$work"
check "1 rank" "ve 1 r1"
check "fields, last step exact (1 rank)" "$py fields $work/r1/value_error.json 2,6"
check "progress and summary lines" "grep -q 'value-error.*trajectories' $work/out.txt && grep -q 'median v_hat/v' $work/out.txt"
check "v is pirf sample's residual" "run 1 $pirf sample $deck $common output.dir=$work/r1 sample.samples=6 sample.batch=4 sample.steps=6 sample.output=$work/s6.h5 && $py final $work/r1/value_error.json $work/s6.h5 6"
check "postprocess/value_error.py draws a PNG" "/usr/bin/python3 $src/postprocess/value_error.py $work/ve.png $work/r1/value_error.json $work/r1/value_error.json >/dev/null && [ -s $work/ve.png ]"
check "2 ranks, tiles [2,1]" "ve 2 t21 parallel.tiles=[2,1]"
check "tiles [2,1] = 1 rank" "$py same $work/t21/value_error.json $work/r1/value_error.json"
check "2 data groups" "ve 2 g2"
check "2 data groups = 1 rank" "$py same $work/g2/value_error.json $work/r1/value_error.json"
check "4 ranks, tiles [2,2]" "ve 4 t22 parallel.tiles=[2,2]"
check "tiles [2,2] = 1 rank" "$py same $work/t22/value_error.json $work/r1/value_error.json"
check "fields, last step exact (tiles [2,2])" "$py fields $work/t22/value_error.json 2,6"
check "4 ranks, [2,1] tiles x 2 groups" "ve 4 t21g2 parallel.tiles=[2,1]"
check "[2,1] x 2 groups = 1 rank" "$py same $work/t21g2/value_error.json $work/r1/value_error.json"

# error paths: exit 2, one sentence naming the key or file, no value_error.json left behind
mkdir -p $work/e; cp $work/base.h5 $work/e/
ec="$common output.dir=$work/e"
check "no fine-tuned model" "experr 2 'checkpoint .*pirf.h5. does not exist' -- $mpiexec -n 2 $pirf value-error $deck $ec value_error.model=pirf"
check "steps out of range" "experr 2 'value_error.steps' -- $mpiexec -n 1 $pirf value-error $deck $ec value_error.steps=[0,6]"
check "an N twice" "experr 2 'value_error.steps lists N = 6 twice' -- $mpiexec -n 2 $pirf value-error $deck $ec value_error.steps=[6,6]"
check "too many value estimates" "experr 2 'keeps more than 5e7 value estimates' -- $mpiexec -n 1 $pirf value-error $deck $ec value_error.samples=1000000 value_error.steps=[80]"
check "unknown model" "experr 2 'value_error.model' -- $mpiexec -n 1 $pirf value-error $deck $ec value_error.model=finetuned"
check "nothing written on errors" "! ls $work/e/value_error.json* 2>/dev/null"
echo "value_error_json_is_exact_at_the_last_step_and_layout_invariant: $pass passed, $fail failed"
[ $fail = 0 ]
