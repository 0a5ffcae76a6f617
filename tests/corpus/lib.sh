# The bad-input corpus: functions a tests/corpus/<group>.cases file uses (sourced by run.sh).
#
# A case:
#   corpus_begin NAME                 a fresh, empty work directory $W becomes the cwd
#   ...set-up commands...             (corpus_setup CMD... fails the case if CMD fails)
#   corpus_expect STATUS REGEX -- ARGS...
#       runs `mpiexec -n $NP $PIRF ARGS...` in $W under a timeout and passes only if
#       * the exit status is STATUS and stdout+stderr match REGEX (grep -E; "" matches anything),
#       * nothing died: no timeout (a hang), no status >= 128 unless asked for, no MPI_ABORT,
#         no "*** " banner (glibc's buffer-overflow and Open MPI's error banners), no HDF5-DIAG
#         stack (pirf reports HDF5 failures in its own words),
#       * no sanitizer report (runtime error:, AddressSanitizer, LeakSanitizer, ...),
#       * no *.partial is left anywhere under $W,
#       * every *.h5 under $W that the command created or changed opens with h5ls (fixtures that
#         are broken on purpose are left alone because the command did not touch them).
#   corpus_expect_cmd STATUS REGEX -- CMD...   the same checks for an arbitrary command (another
#       rank count, an environment variable: `corpus_expect_cmd 2 re -- env X=1 $MPIEXEC -n 3 $PIRF ..`)
#   corpus_pirf ARGS...               run pirf in $W at $NP ranks as a set-up step (log in $W/.setup.log)
#   corpus_only_np N                  (before corpus_begin) the next case runs only at N ranks
#   corpus_skip "why"                 skip the current case, printing why (e.g. tmpfs not mountable)
#   corpus_mount_tmpfs DIR SIZE       mount a tmpfs of SIZE on $W/DIR (unmounted when the case ends);
#                                     returns non-zero and skips the case where mounting is refused
#
# Variables: $PIRF (binary), $SRC (source dir), $NP (ranks), $W (the case's directory), $MPIEXEC,
# $PY (a python3 with h5py and numpy). Per-case state lives in files, so corpus_expect also works
# inside a pipeline or a subshell. A case with no corpus_expect fails.

CORPUS_TIMEOUT=${CORPUS_TIMEOUT:-120}
corpus_n_pass=0
corpus_n_fail=0
corpus_n_skip=0
corpus_failed_names=()
corpus_case=""
corpus_only=""

corpus_note() { echo "$*" >>"$CORPUS_STATE/notes"; }
corpus_fail_reason() { echo "$*" >>"$CORPUS_STATE/fail"; }

# Close the current case: unmount what it mounted, count it, print its verdict.
corpus_end() {
  [ -n "$corpus_case" ] || return 0
  cd "$CORPUS_ROOT" || true
  if [ -f "$CORPUS_STATE/mounts" ]; then
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done \
      <"$CORPUS_STATE/mounts"
  fi
  local name=$corpus_case
  corpus_case=""
  if [ -f "$CORPUS_STATE/skip" ]; then
    corpus_n_skip=$((corpus_n_skip + 1))
    echo "SKIP $name: $(head -1 "$CORPUS_STATE/skip")"
  elif [ ! -f "$CORPUS_STATE/fail" ] && [ ! -f "$CORPUS_STATE/expects" ]; then
    corpus_n_fail=$((corpus_n_fail + 1))
    corpus_failed_names+=("$name")
    echo "FAIL $name: the case has no corpus_expect"
  elif [ -f "$CORPUS_STATE/fail" ]; then
    corpus_n_fail=$((corpus_n_fail + 1))
    corpus_failed_names+=("$name")
    echo "FAIL $name:"
    sed 's/^/    /' "$CORPUS_STATE/fail"
  else
    corpus_n_pass=$((corpus_n_pass + 1))
    echo "ok   $name"
    [ -n "${CORPUS_KEEP:-}" ] || rm -rf "${CORPUS_ROOT:?}/$name"
  fi
  rm -rf "$CORPUS_STATE"
}

corpus_only_np() { corpus_only=$1; }

corpus_begin() {
  corpus_end
  corpus_case=$1
  CORPUS_STATE="$CORPUS_ROOT/.state.$1"
  rm -rf "$CORPUS_STATE" "${CORPUS_ROOT:?}/$1"
  mkdir -p "$CORPUS_STATE" "$CORPUS_ROOT/$1"
  W="$CORPUS_ROOT/$1"
  export W
  cd "$W" || exit 1
  if [ -n "$corpus_only" ] && [ "$corpus_only" != "$NP" ]; then
    echo "runs at $corpus_only rank(s) only" >"$CORPUS_STATE/skip"
  fi
  corpus_only=""
}

corpus_skip() { [ -f "$CORPUS_STATE/skip" ] || echo "$*" >"$CORPUS_STATE/skip"; }
corpus_skipped() { [ -f "$CORPUS_STATE/skip" ]; }

corpus_setup() {
  corpus_skipped && return 0
  if ! "$@" >>"$W/.setup.log" 2>&1; then
    corpus_fail_reason "set-up command failed: $*"
    sed 's/^/      /' "$W/.setup.log" | tail -20 >>"$CORPUS_STATE/fail"
    return 1
  fi
}

corpus_pirf() {
  corpus_skipped && return 0
  timeout -k 10 "$CORPUS_TIMEOUT" "$MPIEXEC" -n "$NP" "$PIRF" "$@" >>"$W/.setup.log" 2>&1
}

corpus_mount_tmpfs() {
  corpus_skipped && return 1
  local dir="$W/$1" size=$2
  mkdir -p "$dir"
  if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o "size=$size" tmpfs "$dir" 2>/dev/null; then
    corpus_skip "cannot mount a tmpfs here (needs root and mount rights); full-disk case not run"
    return 1
  fi
  echo "$dir" >>"$CORPUS_STATE/mounts"
}

# A snapshot of the HDF5 files under $W: path, modification time, size.
corpus_h5_snapshot() { find "$W" -name '*.h5' -printf '%p\t%T@\t%s\n' 2>/dev/null | sort; }

source "$SRC/tests/core/last_wins.sh"
corpus_expect_cmd() {
  local want=$1 regex=$2
  shift 3 # STATUS REGEX --
  corpus_skipped && return 0
  if [ "${CORPUS_LAST_WINS:-0}" = 1 ]; then # see corpus_expect
    local kept; mapfile -t kept < <(pirf_last_wins "$@"); set -- "${kept[@]}"
  fi
  echo x >>"$CORPUS_STATE/expects"
  local n
  n=$(wc -l <"$CORPUS_STATE/expects")
  local log="$CORPUS_STATE/out.$n" before="$CORPUS_STATE/h5.before.$n"
  corpus_h5_snapshot >"$before"
  timeout -k 10 "$CORPUS_TIMEOUT" "$@" >"$log" 2>&1
  local rc=$?
  local why=()
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    why+=("timed out after ${CORPUS_TIMEOUT}s (a hang?)")
  elif [ "$rc" != "$want" ]; then
    why+=("exit status $rc, expected $want")
  fi
  if [ "$rc" -ge 128 ] && [ "$want" -lt 128 ] && [ "$rc" != 137 ]; then
    why+=("killed by a signal (status $rc)")
  fi
  [ -z "$regex" ] || grep -Eq -- "$regex" "$log" || why+=("the output does not match: $regex")
  grep -q 'MPI_ABORT' "$log" && why+=("MPI_ABORT was called")
  grep -Eq '\*\*\* ' "$log" && why+=("an abort banner ('*** ') was printed")
  grep -q 'HDF5-DIAG' "$log" && why+=("an HDF5-DIAG stack was printed")
  grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer' \
    "$log" && why+=("a sanitizer report")
  local partial
  partial=$(find "$W" -name '*.partial' 2>/dev/null | head -3)
  [ -z "$partial" ] || why+=("left a .partial behind: $partial")
  local f
  while IFS=$'\t' read -r f _; do
    [ -n "$f" ] || continue
    h5ls "$f" >/dev/null 2>&1 || why+=("'$f' was written but does not open with h5ls")
  done < <(comm -13 "$before" <(corpus_h5_snapshot))
  if ((${#why[@]})); then
    {
      echo "command: $*"
      for r in "${why[@]}"; do echo "  - $r"; done
      echo "  output (last 25 lines):"
      tail -25 "$log" | sed 's/^/      | /'
    } >>"$CORPUS_STATE/fail"
    return 1
  fi
  return 0
}

# Groups that compose shared override strings with their own set CORPUS_LAST_WINS=1: of two
# key=value arguments for one key the later is kept, in corpus_expect and corpus_expect_cmd
# (pirf itself refuses a repeated key, which the cli group tests).
corpus_expect() {
  local want=$1 regex=$2
  shift 3
  corpus_expect_cmd "$want" "$regex" -- "$MPIEXEC" -n "$NP" "$PIRF" "$@"
}

# Called by run.sh after the group file: close the last case and print the closing line.
corpus_finish() {
  corpus_end
  local group=$1
  if ((corpus_n_fail)); then echo "failed cases: ${corpus_failed_names[*]}"; fi
  if ((corpus_n_skip)); then
    echo "corpus $group: $corpus_n_pass passed, $corpus_n_fail failed, $corpus_n_skip skipped"
  else
    echo "corpus $group: $corpus_n_pass passed, $corpus_n_fail failed"
  fi
  ((corpus_n_fail == 0))
}
