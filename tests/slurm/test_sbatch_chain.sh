#!/usr/bin/env bash
# slurm_job_script_checkpoints_and_chains: jobscripts/slurm/pirf.sbatch under a real (private,
# single-node) SLURM. A pretraining job receives the wall-time warning (simulated with
# `scancel --batch --signal=USR1`, which is what --signal=B:USR1@120 delivers), forwards it to
# pirf, which checkpoints and exits 3; the script submits the next job of the chain, which resumes
# and finishes: base.h5 holds exactly the requested number of steps.
# usage: test_sbatch_chain.sh PIRF SOURCE_DIR
set -uo pipefail
pirf=$1; src=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/slurm_cluster.sh"
slurm_test_begin slurm_job_script
deck=$src/input/quickstart.yaml
steps=400
args=(grid.resolution=16 data.path=$D/d16.h5 data.samples=8 model.channels=8 model.channel_mult=[1,2]
      model.attn_resolutions=[8] model.num_blocks=1 pretrain.batch=4 pretrain.log_kimg=0.004
      pretrain.checkpoint_kimg=1000 pretrain.lr_rampup_kimg=0 output.dir=$D/run
      pretrain.kimg=$(awk "BEGIN { print $steps * 4 / 1000 }"))
mpiexec -n 2 "$pirf" generate "$deck" "${args[@]}" >/dev/null 2>&1 || { echo "generate failed"; exit 1; }

cd "$D"
job=$(PIRF="$pirf" PIRF_COMMAND=pretrain PIRF_JOBSCRIPT="$src/jobscripts/slurm/pirf.sbatch" \
      sbatch --parsable -n 2 -o "$D/job-%j.log" "$src/jobscripts/slurm/pirf.sbatch" "$deck" "${args[@]}")
check "submitted ($job)" "[ -n '$job' ]"
for _ in $(seq 1 600); do
  [ -f "$D/run/pretrain.jsonl" ] && [ "$(wc -l < "$D/run/pretrain.jsonl")" -ge 3 ] && break
  sleep 0.1
done
scancel --batch --signal=USR1 "$job"
state=$(slurm_wait "$job" 120)
check "first job completed after the warning (state $state)" "[ '$state' = COMPLETED ]"
check "the script asked pirf to stop" "grep -q 'wall-time warning' $D/job-$job.log"
check "pirf checkpointed and stopped" "grep -q 'stop requested' $D/job-$job.log"
next=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$D/job-$job.log")
check "the next job of the chain was submitted ($next)" "[ -n '$next' ]"
if [ -n "$next" ]; then
  state=$(slurm_wait "$next" 300)
  check "the next job completed (state $state)" "[ '$state' = COMPLETED ]"
  # the chained job was submitted by the script itself, so its log follows the #SBATCH --output line
  check "it resumed" "grep -q resuming $D/pirf-$next.log"
fi
check "base.h5 written" "[ -f $D/run/base.h5 ]"
got=$(h5dump -a step "$D/run/base.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
check "base.h5 holds all $steps steps ($got)" "[ '$got' = $steps ]"
[ $fail = 0 ] || { echo "--- job logs"; cat "$D"/job-*.log "$D"/pirf-*.log 2>/dev/null; }
echo "slurm_job_script: $pass passed, $fail failed"
[ $fail = 0 ]
