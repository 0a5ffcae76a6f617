#!/usr/bin/env bash
# usage: tests/corpus/run.sh GROUP NP [PIRF]
# Runs the bad-input cases of tests/corpus/GROUP.cases at NP ranks (see lib.sh for what a case is
# and what makes it pass) and prints "corpus GROUP: N passed, M failed"; exits non-zero on any
# failure. PIRF defaults to $PIRF, then build/pirf; MPIEXEC to $MPIEXEC, then mpiexec.
# CORPUS_WORK=DIR keeps the work directories there (default: a fresh directory under /tmp, removed
# when every case passed); CORPUS_KEEP=1 keeps passing cases' directories too;
# CORPUS_TIMEOUT=S changes the 120 s limit of one command (a sanitizer build is slower).
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 GROUP NP [PIRF]" >&2
  exit 2
fi
group=$1
NP=$2
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIRF=${3:-${PIRF:-$SRC/build/pirf}}
MPIEXEC=${MPIEXEC:-mpiexec}
PY=${PY:-/usr/bin/python3}
cases="$SRC/tests/corpus/$group.cases"
[ -f "$cases" ] || { echo "no such corpus group: $cases" >&2; exit 2; }
[ -x "$PIRF" ] || { echo "pirf binary not found: $PIRF (build first, or pass it)" >&2; exit 2; }
PIRF=$(cd "$(dirname "$PIRF")" && pwd)/$(basename "$PIRF")
export PIRF SRC NP MPIEXEC PY

# MPI as root in containers, oversubscription, no pinning, one BLAS thread (as the test suite).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

if [ -n "${CORPUS_WORK:-}" ]; then
  CORPUS_ROOT=$CORPUS_WORK/$group.np$NP
  rm -rf "$CORPUS_ROOT"
  mkdir -p "$CORPUS_ROOT"
  own_root=0
else
  CORPUS_ROOT=$(mktemp -d "/tmp/pirf-corpus-$group-np$NP.XXXXXX")
  own_root=1
fi
export CORPUS_ROOT

# shellcheck source=lib.sh
source "$SRC/tests/corpus/lib.sh"
echo "corpus $group at $NP rank(s): $PIRF (work: $CORPUS_ROOT)"
# shellcheck disable=SC1090
source "$cases"
corpus_finish "$group"
status=$?
cd /
if [ "$status" = 0 ] && [ "$own_root" = 1 ] && [ -z "${CORPUS_KEEP:-}" ]; then rm -rf "$CORPUS_ROOT"; fi
exit $status
