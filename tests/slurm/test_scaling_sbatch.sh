#!/usr/bin/env bash
# slurm_scaling_study_runs_one_job_per_size: jobscripts/slurm/scaling.sbatch under a real (private,
# single-node) SLURM submits a preparation job, one job per size (1 and 2 ranks, weak scaling of
# fine-tuning over data groups on the tiny deck) and a merge job after them; when the queue is
# empty, scaling.json holds both sizes and scaling.png exists. A size that does not fit is refused
# before anything is submitted.
# usage: test_scaling_sbatch.sh PIRF SOURCE_DIR
set -uo pipefail
pirf=$1; src=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/slurm_cluster.sh"
slurm_test_begin slurm_scaling
export OMPI_MCA_odls_base_sigkill_timeout=0 # no grace after a failed rank (fast errors)
deck=$src/input/quickstart.yaml
args=(grid.resolution=16 model.channels=8 model.channel_mult=[1,2] model.attn_resolutions=[8]
      model.num_blocks=1 finetune.batch=2 pretrain.batch=2 finetune.steps=4)
cd "$src"
PIRF=$pirf bash jobscripts/slurm/scaling.sbatch "$deck" --ranks 1,2 --tasks-per-node 4 \
  --mode weak --steps 2 --out "$D/study" "${args[@]}" > "$D/submit.txt" 2>&1; rc=$?
check "the study is submitted (exit $rc)" '[ "$rc" = 0 ] || cat "$D/submit.txt"'
merge=$(sed -n 's/^submitted the merge job \([0-9]*\).*/\1/p' "$D/submit.txt")
check "a preparation, two size and a merge job ($(grep -c submitted "$D/submit.txt") lines)" \
  '[ "$(grep -c "^submitted" "$D/submit.txt")" = 4 ] && [ -n "$merge" ]'
state=$(slurm_wait "$merge" 240)
check "the merge job completed (state $state)" '[ "$state" = COMPLETED ]'
check "scaling.json holds both sizes" '/usr/bin/python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
r = s[\"records\"]
sys.exit(not ([x[\"ranks\"] for x in r] == [1, 2] and [x[\"batch\"] for x in r] == [2, 4]
              and all(x[\"step_time_s\"] > 0 for x in r) and s[\"mode\"] == \"weak\"))" "$D/study/scaling.json"'
check "scaling.png written" '[ -s "$D/study/scaling.png" ]'
PIRF=$pirf bash jobscripts/slurm/scaling.sbatch "$deck" --ranks 1,3 --tasks-per-node 4 \
  --out "$D/bad" "${args[@]}" > "$D/bad.txt" 2>&1; rc=$?
check "a size that does not divide the batch is refused before submitting (exit $rc)" \
  '[ "$rc" = 2 ] && grep -q "does not divide over 3" "$D/bad.txt" && ! grep -q "^submitted" "$D/bad.txt"'
[ $fail = 0 ] || { echo "--- job logs"; cat "$D/submit.txt" "$D"/study/*.log 2>/dev/null; }
echo "slurm_scaling: $pass passed, $fail failed"
[ $fail = 0 ]
