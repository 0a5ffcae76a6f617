#!/usr/bin/env bash
# Weak or strong scaling of a pirf stage on this machine: runs the stage at each rank count with
# mpiexec, then writes DIR/scaling.json and DIR/scaling.png (docs/scaling.md).
#
#   bash jobscripts/local/scaling.sh DECK --ranks 1,2,4 [--mode weak|strong] [--layout groups|tiles]
#        [--stage finetune|pretrain|generate] [--steps S] [--out DIR] [key=value ...]
#
# Builds pirf first if needed (scripts/setup.sh). More ranks than cores oversubscribe (Open MPI
# allows it with the settings of scripts/env.sh); say so when you quote such a figure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then exec /usr/bin/python3 "$root/postprocess/scaling.py" --help; fi
if [ ! -x "$root/build/pirf" ]; then (cd "$root" && bash scripts/setup.sh); fi
source "$root/scripts/env.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMPI_MCA_rmaps_base_oversubscribe=1
export PIRF=${PIRF:-$root/build/pirf}
launcher='mpiexec -n {n}' # {n}: the rank count; PIRF_LAUNCHER replaces it
exec /usr/bin/python3 "$root/postprocess/scaling.py" run "$@" --launcher "${PIRF_LAUNCHER:-$launcher}"
