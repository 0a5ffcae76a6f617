#!/usr/bin/env bash
# evaluate_writes_json_and_table: `pirf evaluate` on a tiny random base model (16x16 Darcy) with no
# PIRF model: generates the held-out set, writes evaluation.json with one record per (method, N)
# carrying the required keys (checked with Python's json), marks one best zeta per N, reports the
# data's residual floor and the missing PIRF model, writes evaluation.md and the samples files at
# the first N; then with a "fine-tuned" checkpoint present it evaluates pirf too. Plus the error
# paths of pirf sample: missing checkpoint, checkpoint for another model, unknown method.
# usage: test_evaluate.sh PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -uo pipefail
pirf=$1; mkck=$2; mpiexec=$3; src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d evaluate_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
common="grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]"
common+=" output.dir=$work/o data.path=$work/d.h5 data.samples=4"
ev="evaluate.samples=6 evaluate.batch=4 evaluate.steps=[6,3] evaluate.zetas=[0,2e-3]"
ev+=" evaluate.holdout_samples=4 sample.guided_fraction=0.5"
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
source "$src/tests/core/last_wins.sh" # each override once: the later of two replaces the earlier
run() { local np=$1; shift; local a; mapfile -t a < <(pirf_last_wins "$@"); $mpiexec -n "$np" "${a[@]}" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
experr() { local a; mapfile -t a < <(pirf_last_wins "$@"); bash "$src/tests/expect_error.sh" "${a[@]}" >"$work/err.txt" 2>&1 || { cat "$work/err.txt"; return 1; }; }

mkdir -p $work/o
check "generate" "run 2 $pirf generate $deck $common"
check "make the base checkpoint" "run 1 $mkck $deck $work/o/base.h5 5 $common"
check "evaluate on 2 ranks" "run 2 $pirf evaluate $deck $common $ev"
check "says the PIRF model is missing" "grep -q 'pirf.h5 does not exist' $work/out.txt"
check "prints the table" "grep -q '^| method | zeta | N' $work/out.txt"
check "prints the table once" "[ \$(grep -c '^| method | zeta | N' $work/out.txt) = 1 ]"
check "table has standard errors and the ratio" "grep -q '^| method | zeta | N | samples | residual MSE | / base' $work/out.txt && grep -q '^| dps | .* ± ' $work/out.txt"
check "samples_dps.xmf names samples_dps.h5; no sweep sidecars left" "grep -q 'samples_dps.h5:/physical' $work/o/samples_dps.xmf && ! ls $work/o/samples_dps_z*.xmf 2>/dev/null"
check "DPS records no corrections" "h5dump -a corrections $work/o/samples_dps.h5 | grep -q '(0): 0'"
for f in evaluation.json evaluation.md holdout.h5 samples_base.h5 samples_dps.h5; do
  check "wrote $f" "[ -f $work/o/$f ]"
done
cat > $work/check.py <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = {"method", "steps", "samples", "residual_mse", "residual_mae", "nfe", "seconds_per_sample",
        "fidelity"}
recs = d["records"]
methods = sorted({r["method"] for r in recs})
assert set(methods) == set(sys.argv[2].split(",")), methods
for r in recs:
    missing = want - set(r)
    assert not missing, f"record {r} lacks {missing}"
    assert r["samples"] == 6 and r["steps"] in (6, 3), r
    assert r["residual_mse"] > 0 and r["residual_mae"] > 0 and r["seconds_per_sample"] > 0, r
    assert r["nfe"] == 2 * r["steps"] - 1, r
    assert {"mean_error", "std_error", "level_offset"} <= set(r["fidelity"]), r
    assert len(r["fidelity"]["mean_error"]) == 2, r
for N in (6, 3):
    dps = [r for r in recs if r["method"] == "dps" and r["steps"] == N]
    assert len(dps) == 2 and sum(r["best"] for r in dps) == 1, dps
    # the best zeta is chosen on the selection set (other latents), not on the scored samples
    best = min(dps, key=lambda r: r["selection"]["residual_mse"])
    assert best["best"], dps
    assert all(r["selection"]["seed"] == 1 and r["selection"]["samples"] == 6 for r in dps), dps
    z0 = [r for r in dps if r["zeta"] == 0][0]
    assert z0["selection"]["residual_mse"] != z0["residual_mse"], z0  # other samples
for r in recs:
    assert r["residual_mse_se"] > 0 and r["residual_mae_se"] > 0, r
    assert len(r["fidelity"]["mean_error_se"]) == 2 and min(r["fidelity"]["std_error_se"]) > 0, r
    assert abs(r["residual_mse_ratio_to_base"] * [b for b in recs if b["method"] == "base" and
               b["steps"] == r["steps"]][0]["residual_mse"] - r["residual_mse"]) < 1e-6 * r["residual_mse"], r
g = [r for r in recs if r["method"] == "dps" and r["steps"] == 6 and r["zeta"] > 0][0]
assert g["guidance_vjps"] == 3, g  # guided steps i > 0.5*6: i = 4 (2 vjps), i = 5 (last: 1)
assert d["floor"]["residual_mse"] > 0, d["floor"]
# the sliced Wasserstein distance: in every record, with the default 32 directions; DPS at zeta 0
# samples the base model's latents, so it scores the base model's distance
for r in recs:
    f = r["fidelity"]
    assert f["sliced_directions"] == 32 and f["sliced_w2"] > 0 and f["sliced_w2_se"] > 0, f
for N in (6, 3):
    b = [r for r in recs if r["method"] == "base" and r["steps"] == N][0]
    z0 = [r for r in recs if r["method"] == "dps" and r["steps"] == N and r["zeta"] == 0][0]
    assert abs(z0["fidelity"]["sliced_w2"] - b["fidelity"]["sliced_w2"]) <= 1e-6 * b["fidelity"]["sliced_w2"], (z0, b)
print("json ok:", len(recs), "records,", methods)
PY
check "evaluation.json has the required keys" "/usr/bin/python3 $work/check.py $work/o/evaluation.json base,dps"
check "a fine-tuned checkpoint" "run 1 $mkck $deck $work/o/pirf.h5 9 $common"
check "evaluate with pirf.h5 on 1 rank" "rm $work/o/evaluation.json && run 1 $pirf evaluate $deck $common $ev evaluate.pirf_weights=ema"
check "pirf records" "/usr/bin/python3 $work/check.py $work/o/evaluation.json base,dps,pirf"
check "samples_pirf.h5" "[ -f $work/o/samples_pirf.h5 ]"
# error paths (exit status 2, one clear sentence)
check "missing checkpoint" "experr 2 'checkpoint .*nope.h5. does not exist' -- $mpiexec -n 1 $pirf sample $deck $common sample.checkpoint=$work/nope.h5"
check "checkpoint for another model" "experr 2 'different model' -- $mpiexec -n 1 $pirf sample $deck $common model.channels=16"
check "unknown method" "experr 2 'sample.method' -- $mpiexec -n 1 $pirf sample $deck $common sample.method=ddim"
check "evaluate without base.h5" "experr 2 'base.h5. does not exist' -- $mpiexec -n 1 $pirf evaluate $deck $common output.dir=$work/empty"
echo "evaluate_writes_json_and_table: $pass passed, $fail failed"
[ $fail = 0 ]
