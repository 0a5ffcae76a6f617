#!/usr/bin/env bash
# The scaling harness (jobscripts/local/scaling.sh, postprocess/scaling.py) on the tiny deck: weak
# scaling of fine-tuning over 1 and 2 data groups and strong scaling of pretraining and of
# generation over 1 and 2 tiles each write scaling.json (one record per rank count with the layout
# the mode implies, a positive time per step, per-event times from -log_view, the peak RSS per rank,
# efficiency 1 at the reference) and scaling.png; bad sizes are refused with status 2 before
# anything runs; the performance model (postprocess/perf_model.py) validates and projects from the
# studies and refuses a study that is not of training steps.
# usage: test_scaling_local.sh PIRF MPIEXEC SOURCE_DIR
set -u
pirf=$1; mpiexec=$2; src=$3; np=2
source "$src/tests/run/lib.sh"
export PIRF=$pirf PIRF_LAUNCHER="$mpiexec -n {n}"
harness=$src/jobscripts/local/scaling.sh
t=$tiny # batches of 2 (np = 2)
# study NAME ARGS...: runs the harness into $work/NAME; $rc, output in $work/NAME.txt
study() { local n=$1; shift; bash "$harness" "$deck" --out "$work/$n" "$@" $t >"$work/$n.txt" 2>&1; rc=$?; }
# records DIR PYTHON-EXPR: the expression holds for scaling.json's dict `s` (records in `r`)
records() {
  "$py" - "$1/scaling.json" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); r = s["records"]
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps([{k: v for k, v in x.items() if k != "events"} for x in r], indent=1))
sys.exit(0 if ok else 1)
PY
}
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

study weak --ranks 1,2 --mode weak --stage finetune --steps 3
check "weak finetune study runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/weak.txt"'
check "two records, data groups, the batch grows" 'records "$work/weak" "[x[\"ranks\"] for x in r] == [1, 2] and [x[\"groups\"] for x in r] == [1, 2] and [x[\"batch\"] for x in r] == [2, 4] and all(x[\"tiles\"] == [1, 1] for x in r)"'
check "times, events, memory, efficiency" 'records "$work/weak" "all(x[\"step_time_s\"] > 0 and x[\"events\"][\"TrainStep\"][\"count\"] == 3 and x[\"rss_mib\"] > 0 and x[\"breakdown_s\"][\"convolutions\"] > 0 for x in r) and r[0][\"efficiency\"] == 1 and 0 < r[1][\"efficiency\"] and s[\"mode\"] == \"weak\""'
check "scaling.png is a PNG" 'png "$work/weak/scaling.png"'

study strong --ranks 1,2 --layout tiles --stage pretrain --steps 2
check "strong pretrain study over tiles runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/strong.txt"'
check "tiles [1,1] then [2,1], the grid and batch fixed, halo messages at 2 tiles" 'records "$work/strong" "[x[\"tiles\"] for x in r] == [[1, 1], [2, 1]] and all(x[\"grid\"] == 16 and x[\"batch\"] == 2 for x in r) and r[1][\"events\"][\"HaloExchange\"][\"messages\"] > 0 and r[0][\"events\"][\"HaloExchange\"][\"messages\"] == 0"'

study gen --ranks 1,2 --layout tiles --stage generate
check "strong generate study runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/gen.txt"'
check "generate is timed per sample" 'records "$work/gen" "all(x[\"step_unit\"] == \"sample\" and x[\"step_time_s\"] > 0 and x[\"events\"][\"PDESolve\"][\"count\"] > 0 for x in r)"'

# the performance model on these studies: exact at the 1-rank reference, every run predicted, and
# a projection per node count with a layout that fits the nodes
study ftiles --ranks 1,2 --layout tiles --stage finetune --steps 3
check "strong finetune study over tiles runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/ftiles.txt"'
"$pirf" info "$deck" $tiny > "$work/info.txt" 2>&1
"$py" "$src/postprocess/perf_model.py" project "$work/weak/scaling.json" "$work/ftiles/scaling.json" \
  --paper "$work/ftiles/scaling.json" --paper-n 4 --paper-pretrain "$work/strong/scaling.json" \
  --info "$work/info.txt" --json "$work/model.json" > "$work/model.txt" 2>&1; rc=$?
check "perf_model.py project runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/model.txt"'
check "the model: exact at 1 rank, every run predicted, a fitting layout per node count" '"$py" - "$work/model.json" <<'"'"'PY'"'"'
import json, sys
m = json.load(open(sys.argv[1]))
v = m["validation"]
assert len(v) == 4 and all(x["predicted_s"] > 0 for x in v), v
assert all(abs(x["error"]) < 1e-9 for x in v if x["ranks"] == 1), v
runs = m["projection"]["runs"]
assert {x["nodes"] for x in runs} >= {1, 2, 64, 256}, runs
assert all(x["ranks"] <= 128 * x["nodes"] and x["step_s"] > 0 for x in runs), runs
assert all((60 if x["run"].startswith("pretraining") else 40) % x["groups"] == 0 for x in runs), runs
assert m["projection"]["memory"]["projection"], m["projection"]["memory"]
PY'
"$py" "$src/postprocess/perf_model.py" validate "$work/gen/scaling.json" > "$work/bad.txt" 2>&1; rc=$?
check "the model refuses a generate study (exit $rc)" '[ "$rc" = 2 ] && grep -q "the model is of training steps" "$work/bad.txt"'

# merge again from the records alone (what the SLURM merge job does)
rm "$work/weak/scaling.json" "$work/weak/scaling.png"
"$py" "$src/postprocess/scaling.py" merge "$work/weak" >"$work/merge.txt" 2>&1
check "merge rebuilds scaling.json and scaling.png" '[ -f "$work/weak/scaling.json" ] && png "$work/weak/scaling.png"'

# bad input: status 2, one line naming the problem, nothing run or written
for bad in "--ranks 1,x|positive integers" "--ranks 1,3|does not divide over 3 data groups" \
           "--ranks 1,2 --layout tiles --mode weak|not a square" "--ranks 1 finetune.bogus=1|unknown key 'finetune.bogus'"; do
  args=${bad%|*}; msg=${bad#*|}
  study bad $args
  check "refused: $args (exit $rc)" '[ "$rc" = 2 ] && grep -q -- "$msg" "$work/bad.txt" && [ ! -e "$work/bad/runs" ] || cat "$work/bad.txt"'
done
"$py" "$src/postprocess/scaling.py" merge "$work/nothing" >"$work/bad.txt" 2>&1; rc=$?
check "merge of an empty directory is refused (exit $rc)" '[ "$rc" = 2 ] && grep -q "no run records" "$work/bad.txt"'
echo "scaling_local: $pass passed, $fail failed"
[ $fail = 0 ]
