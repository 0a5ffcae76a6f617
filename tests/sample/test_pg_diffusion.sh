#!/usr/bin/env bash
# pg_diffusion_trains_samples_and_evaluates: the PG-Diffusion baseline end to end on 16x16 Darcy
# with a tiny network: `pirf pretrain` with model.physics_gradient (4 steps, 2 data groups) writes a
# checkpoint whose tensors carry SongUNetPG's names (emb_grad_layer1/2, a first conv of 2C = 4
# inputs); `pirf sample sample.method=pg-diffusion` (Euler, N evaluations, the residual gradient
# from 0.3 N on) gives the same samples on 1 rank and on 2 tiles; `pirf evaluate`
# lists pg-diffusion beside base and dps with its NFE and cost. Error paths (exit 2): pg-diffusion
# with a network without the branch names model.physics_gradient; a plain checkpoint as
# evaluate.pg_checkpoint is "a different model".
# usage: test_pg_diffusion.sh PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mkck=$2; mpiexec=$3; src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d pg_diffusion_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.num_blocks=1"
common+=" model.attn_resolutions=[8] output.dir=$work/o data.path=$work/d.h5 data.samples=8"
pg="model.physics_gradient=true"
smp="sample.method=pg-diffusion sample.checkpoint=$work/pg/base.h5 sample.steps=10 sample.samples=4 sample.batch=4"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
source "$src/tests/core/last_wins.sh" # each override once: the later of two replaces the earlier
run() { local np=$1; shift; local a; mapfile -t a < <(pirf_last_wins "$@"); $mpiexec -n "$np" "${a[@]}" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
experr() { local a; mapfile -t a < <(pirf_last_wins "$@"); bash "$src/tests/expect_error.sh" "${a[@]}" >"$work/err.txt" 2>&1 || { cat "$work/err.txt"; return 1; }; }
attr() { h5dump -a "$2" "$1" | sed -n 's/.*(0): *//p' | head -1; }
cmp="/usr/bin/python3 $src/tests/compare_fields.py"

mkdir -p $work/o
check "generate" "run 2 $pirf generate $deck $common"
check "pretrain with the branch on 2 data groups" "run 2 $pirf pretrain $deck $common $pg output.dir=$work/pg pretrain.batch=4 pretrain.kimg=0.016 pretrain.checkpoint_kimg=100 pretrain.pg_cond_dropout=0.5"
check "pretrain says it feeds the gradient" "grep -q 'PG-Diffusion: the network gets' $work/out.txt"
check "branch tensors under SongUNetPG's names" "h5ls $work/pg/base.h5/ema | grep -q 'emb_grad_layer1.weight .*{8, 2, 1, 1}' && h5ls $work/pg/base.h5/ema | grep -q 'emb_grad_layer2.bias .*{2}'"
check "first conv has 2C inputs" "h5ls $work/pg/base.h5/ema | grep -q 'enc.16x16_conv.weight .*{8, 4, 3, 3}'"
check "pg-diffusion on 1 rank" "run 1 $pirf sample $deck $common $pg $smp sample.output=$work/s1.h5"
check "pg-diffusion on 2 tiles" "run 2 $pirf sample $deck $common $pg $smp sample.output=$work/s4.h5 parallel.tiles=[2,1]"
check "2 tiles agree with 1 rank to 2e-4" "$cmp $work/s1.h5 $work/s4.h5 2e-4 >/dev/null"
check "method attribute" "[ \"\$(attr $work/s1.h5 method)\" = '\"pg-diffusion\"' ]"
check "N Euler evaluations, gradient on steps i >= 3 (7 of 10)" "[ \"\$(attr $work/s1.h5 nfe)\" = 10 ] && [ \"\$(attr $work/s1.h5 residual_gradients)\" = 7 ] && [ \"\$(attr $work/s1.h5 guidance_vjps)\" = 0 ]"
# evaluate: the base model (plain) beside the PG-Diffusion model
ev="evaluate.samples=4 evaluate.batch=4 evaluate.steps=[5] evaluate.zetas=[0] evaluate.holdout_samples=4"
check "make the base checkpoint" "run 1 $mkck $deck $work/o/base.h5 5 $common"
check "evaluate lists pg-diffusion" "run 2 $pirf evaluate $deck $common $ev evaluate.pg_checkpoint=$work/pg/base.h5"
check "table row" "grep -q '^| pg-diffusion |  | 5 | 4 | ' $work/out.txt"
cat > $work/check.py <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
pg = [r for r in recs if r["method"] == "pg-diffusion"]
assert {r["method"] for r in recs} == {"base", "dps", "pg-diffusion"}, recs
assert len(pg) == 1 and pg[0]["nfe"] == 5 and pg[0]["guidance_vjps"] == 0, pg
assert pg[0]["residual_gradients"] == 3 and pg[0]["seconds_per_sample"] > 0, pg  # i = 2, 3, 4
assert pg[0]["residual_mse"] > 0 and "residual_mse_ratio_to_base" in pg[0], pg
print("pg-diffusion record ok")
PY
check "evaluation.json record with NFE and cost" "/usr/bin/python3 $work/check.py $work/o/evaluation.json"
check "samples_pg-diffusion.h5 written" "[ -f $work/o/samples_pg-diffusion.h5 ]"
check "a missing PG model is a note" "rm $work/o/evaluation.json && run 1 $pirf evaluate $deck $common $ev && grep -q 'PG-Diffusion model .*pg-diffusion.h5 missing' $work/out.txt"
# error paths
check "pg-diffusion without the branch" "experr 2 'model.physics_gradient: true' -- $mpiexec -n 1 $pirf sample $deck $common sample.method=pg-diffusion sample.samples=2"
check "plain checkpoint as evaluate.pg_checkpoint" "experr 2 'different model' -- $mpiexec -n 1 $pirf evaluate $deck $common $ev evaluate.pg_checkpoint=$work/o/base.h5"
echo "pg_diffusion_trains_samples_and_evaluates: $pass passed, $fail failed"
[ $fail = 0 ]
