#!/usr/bin/env bash
# pretrain_resume_and_layouts_agree: `pirf pretrain` end to end on a tiny Burgers data set and a
# tiny network (16x16, 4 images per step, 4 steps):
#   - 2 steps, stop, then resume to 4 steps at the same rank count gives a base.h5 identical bit for
#     bit (weights, EMA, Adam moments) to 4 steps in one go;
#   - 2x2 tiles on 4 ranks and 2 data groups on 2 ranks agree to 1e-5 (float sums in another order);
#   - a resume at another rank count continues (moments re-sharded), to 1e-6;
#   - pretrain.jsonl has one finite loss per step and the first step has lr 0 (the ramp);
#   - with EDM's augmentation (pretrain.augment=0.5, model.augment_dim=9) 2 data groups and 2x2
#     tiles agree to 1e-5 too, and the weights differ from the unaugmented run's.
# usage: test_pretrain_resume.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d pretrain_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/burgers_quickstart.yaml
common="grid.resolution=16 data.path=$work/d16.h5 model.channels=8 model.channel_mult=[1,2]"
common+=" model.attn_resolutions=[8] pretrain.batch=4 pretrain.log_kimg=0.004 pretrain.seed=3"
common+=" pretrain.lr_rampup_kimg=0.008 pretrain.lr=1e-3"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
run() { local np=$1; shift; $mpiexec -n "$np" "$pirf" "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }

check "generate" "run 2 generate $deck $common data.samples=8"
check "4 steps on 2 ranks" "run 2 pretrain $deck $common pretrain.kimg=0.016 output.dir=$work/a"
check "2 steps on 2 ranks" "run 2 pretrain $deck $common pretrain.kimg=0.008 output.dir=$work/b"
check "resume to 4 steps on 2 ranks" "run 2 pretrain $deck $common pretrain.kimg=0.016 output.dir=$work/b"
check "the resumed run says so" "grep -q resuming $work/out.txt"
for g in net ema adam_m adam_v; do
  check "resumed /$g is identical" "h5diff -q $work/a/base.h5 $work/b/base.h5 /$g /$g"
done
check "2x2 tiles on 4 ranks" "run 4 pretrain $deck $common pretrain.kimg=0.016 output.dir=$work/c parallel.tiles=[2,2]"
check "2x2 tiles agree with 2 data groups to 1e-5" "h5diff -q -d 1e-5 $work/a/base.h5 $work/c/base.h5 /net /net"
check "2 steps on 2 ranks (again)" "run 2 pretrain $deck $common pretrain.kimg=0.008 output.dir=$work/d"
check "resume on 1 rank" "run 1 pretrain $deck $common pretrain.kimg=0.016 output.dir=$work/d"
check "a resume on 1 rank continues to 1e-6" "h5diff -q -d 1e-6 $work/a/base.h5 $work/d/base.h5 /net /net"
check "one log line per step" "[ \$(wc -l < $work/a/pretrain.jsonl) = 4 ]"
check "finite losses" "! grep -Eq 'nan|inf' $work/a/pretrain.jsonl"
check "first step has lr 0" "head -1 $work/a/pretrain.jsonl | grep -q '\"lr\": 0,'"
check "step counter in the checkpoint" "h5dump -a step $work/a/base.h5 | grep -q '(0): 4'"
aug="model.augment_dim=9 pretrain.augment=0.5 pretrain.kimg=0.016"
check "augmented, 2 data groups" "run 2 pretrain $deck $common $aug output.dir=$work/e"
check "the log names the augmentation" "grep -q 'augmentation: EDM' $work/out.txt"
check "augmented, 2x2 tiles on 4 ranks" "run 4 pretrain $deck $common $aug output.dir=$work/f parallel.tiles=[2,2]"
check "augmented layouts agree to 1e-5" "h5diff -q -d 1e-5 $work/e/base.h5 $work/f/base.h5 /net /net"
check "the network has map_augment" "h5ls $work/e/base.h5/net | grep -q map_augment.weight"
check "augmentation changes the training" "! h5diff -q -d 1e-4 $work/a/base.h5 $work/e/base.h5 /net/map_layer0.weight /net/map_layer0.weight"
echo "pretrain_resume_and_layouts_agree: $pass passed, $fail failed"
[ $fail = 0 ]
