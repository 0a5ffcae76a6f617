#!/usr/bin/env bash
# The quickstart pipeline on this machine: install what is missing, build, then run every stage of
# input/quickstart.yaml with 2 MPI ranks (NP=... to change), skipping stages already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/setup.sh
export OPENBLAS_NUM_THREADS=1
mpiexec -n "${NP:-2}" build/pirf run input/quickstart.yaml "$@"
