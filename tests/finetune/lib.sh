# The shared harness of the `pirf finetune` command tests (test_finetune_command.sh,
# test_pidm_command.sh): MPI as root, a scratch directory removed at exit, check/run/user_error.
# usage: source lib.sh PIRF MPIEXEC SOURCE_DIR NAME   (sets pirf, mpiexec, src, work, deck)
pirf=$1; mpiexec=$2; src=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
work=$(mktemp -d "$4_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
deck=$src/input/quickstart.yaml
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
source "$src/tests/core/last_wins.sh" # each override once: the later of two replaces the earlier
run() { local np=$1; shift; local a; mapfile -t a < <(pirf_last_wins "$@"); $mpiexec -n "$np" "$pirf" "${a[@]}" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; return 1; }; }
user_error() { # np, expected message fragment, args...
  local np=$1 msg=$2; shift 2
  local a; mapfile -t a < <(pirf_last_wins "$@")
  $mpiexec -n "$np" "$pirf" "${a[@]}" >"$work/err.txt" 2>&1
  local rc=$?
  [ $rc = 2 ] && grep -q -- "$msg" "$work/err.txt" || { echo "rc $rc"; cat "$work/err.txt"; return 1; }
}
