#!/usr/bin/env bash
# The figures the README and docs/user-guide.md quote for the quickstart, measured by one rerunnable
# command: runs the quickstart pipeline stage by stage (generate, pretrain, finetune, evaluate) into
# a scratch directory of its own, timing each stage (wall time and the ranks' CPU time), then prints
# Markdown: when and where it was measured (date, host, cores, load, commit), the stage table, the
# parameter count, the fine-tuning memory table of docs/finetune.md and the evaluation table.
#
#   bash scripts/measure_quickstart.sh [DECK] [key=value ...]   # run it (default input/quickstart.yaml)
#   MEASURE_DIR=DIR bash scripts/measure_quickstart.sh ...       # where (default runs/measure-<UTC date>)
#
# A rerun with the same MEASURE_DIR skips the stages whose outputs exist (their times are read back
# from DIR/stage_times.tsv) and prints the tables again. Wall times depend on what else runs on the
# machine: quote them with the load this prints, and prefer the CPU seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deck=input/quickstart.yaml
if [ $# -gt 0 ] && [ "${1#*=}" = "$1" ]; then deck=$1; shift; fi
np=${NP:-2}
dir=${MEASURE_DIR:-runs/measure-$(date -u +%Y%m%d-%H%M)}
mkdir -p "$dir"
[ -x build/pirf ] || { echo "build/pirf is missing: run bash scripts/setup.sh first" >&2; exit 2; }
source scripts/env.sh 2>/dev/null || export OMPI_ALLOW_RUN_AS_ROOT=1 \
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
  OMPI_MCA_hwloc_base_binding_policy=none
export OPENBLAS_NUM_THREADS=1
pirf=build/pirf
# Everything goes to the scratch directory, so the user's runs/ and data/ are left alone.
over=("data.path=$dir/data.h5" "output.dir=$dir" "$@")
times=$dir/stage_times.tsv
# When the stages ran: kept from the first run of this directory, so a rerun that only prints says
# when the figures were measured, not when they were printed.
if [ ! -s "$dir/measured_at" ]; then
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD 2>/dev/null || commit="$commit (with local changes)"
  { date -u '+%Y-%m-%d %H:%M UTC'; uptime | sed 's/.*load average: //'; echo "$commit"; } \
    > "$dir/measured_at"
fi
started=$(sed -n 1p "$dir/measured_at")
load_before=$(sed -n 2p "$dir/measured_at")
commit=$(sed -n 3p "$dir/measured_at")
[ -n "$commit" ] || commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown) (when printed)"

TIMES=$times NP=$np PIRF=$pirf
source scripts/timed.sh
stage() { timed "$1" "$2" "$dir/$1.log" "$1" "$deck" "${over[@]}"; } # stage NAME OUTPUT: pirf NAME
stage generate "$dir/data.h5"
stage pretrain "$dir/base.h5"
stage finetune "$dir/pirf.h5"
stage evaluate "$dir/evaluation.json"
[ -n "$(sed -n 4p "$dir/measured_at")" ] || uptime | sed 's/.*load average: //' >> "$dir/measured_at"
load_after=$(sed -n 4p "$dir/measured_at")

# Fine-tuning memory per rank (finetune.bench: one iteration, random weights, one rank).
mem=$dir/finetune_memory.md
if [ ! -s "$mem" ]; then
  {
    echo "| setting | tapes | tape MiB | work MiB | maxrss after 1 iteration (MiB) |"
    echo "|---|---|---|---|---|"
    while IFS='|' read -r label args; do
      # shellcheck disable=SC2086
      line=$(mpiexec -n 1 "$pirf" finetune "$deck" "${over[@]}" finetune.bench=true $args 2>&1 < /dev/null |
             grep 'after one iteration') || { echo "| $label | failed | | | |"; continue; }
      echo "$line" | sed -E "s/.*: ([0-9]+) tapes? ([0-9.]+) MiB, work ([0-9.]+) MiB, maxrss ([0-9.]+) MiB.*/| $label | \1 | \2 | \3 | \4 |/"
    done <<'EOF'
K = 1, decoder0, truncated|finetune.k=1
K = 1, decoder0, untruncated|finetune.k=1 finetune.truncate=false
K = 1, all|finetune.k=1 finetune.trainable=all
K = 2, decoder0 (the quickstart)|finetune.k=2
K = 2, all (the reference's README run)|finetune.k=2 finetune.trainable=all
EOF
  } > "$mem"
fi

echo "## Quickstart figures ($deck)"
echo
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "Measured from $started by \`bash scripts/measure_quickstart.sh\` on host $(hostname)"
echo "($(nproc) cores, $cpu_model), commit $commit, $np ranks."
echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after."
echo "Output directory: \`$dir\`."
echo
echo "| stage | wall time (s) | CPU time of all ranks (s) |"
echo "|---|---|---|"
tw=0; tc=0
while IFS=$'\t' read -r name wall cpu; do
  echo "| $name | $wall | $cpu |"
  tw=$(echo "$tw + $wall" | bc); tc=$(echo "$tc + $cpu" | bc)
done < "$times"
echo "| total | $tw | $tc |"
echo
"$pirf" info "$deck" "${over[@]}" 2>/dev/null | grep -E '^ *total|trainable with' | sed 's/^ */    /'
echo
echo "Fine-tuning memory per rank (\`finetune.bench=true\`, one rank, $(/usr/bin/python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(d.get("finetune",{}).get("batch",40))' "$deck") samples):"
echo
cat "$mem"
echo
grep -h 'residual floor' "$dir/generate.log" | tail -1 | sed 's/^/    /' || true
echo
echo "Evaluation (\`$dir/evaluation.md\`):"
echo
cat "$dir/evaluation.md"
