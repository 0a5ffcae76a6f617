#!/usr/bin/env bash
# usage: test_cli.sh PIRF SRC
# What a user sees when a command line is wrong, and the help (issue 10):
#  * a user error is one line, "pirf: error: ...", without the source location, at 1 and 2 ranks,
#    with status 2 and no MPI_ABORT; PIRF_VERBOSITY=2 adds the location;
#  * scripts/env.sh gives a fresh shell what mpiexec needs, and with PIRF_QUIET_MPIEXEC=1 the
#    status 2 comes without mpiexec's notice;
#  * `pirf --help` lists every command and the exit statuses; `pirf COMMAND --help` describes each.
pirf=$1
src=$2
deck=$src/input/quickstart.yaml
fail=0
pass=0
check() { # check NAME CONDITION-STATUS OUTPUT
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL $1; output was:"
    printf '%s\n' "$3" | sed 's/^/    | /'
  fi
}
# a fresh environment: only what env.sh sets (and PATH for mpiexec; and, for speed, no 2 s wait of
# mpiexec after a rank's non-zero exit, as in every test: CMakeLists.txt, PIRF_TEST_ENV; a
# sanitizer build's options pass through)
fresh() {
  env -i PATH="$PATH" HOME="${HOME:-/root}" OMPI_MCA_odls_base_sigkill_timeout=0 \
    ${ASAN_OPTIONS+"ASAN_OPTIONS=$ASAN_OPTIONS"} ${UBSAN_OPTIONS+"UBSAN_OPTIONS=$UBSAN_OPTIONS"} \
    bash -c "source '$src/scripts/env.sh'; $*"
}

for np in 1 2; do
  out=$(fresh "mpiexec -n $np '$pirf' info '$deck' optim.lr=1e-4" 2>&1)
  rc=$?
  first=$(printf '%s\n' "$out" | head -1)
  [ "$rc" = 2 ] && [[ "$first" == "pirf: error: "*"Did you mean 'pretrain.lr' or 'finetune.lr'?" ]] &&
    ! grep -q 'src/.*\.c:[0-9]' <<<"$out" && ! grep -q 'MPI_ABORT' <<<"$out" &&
    [ "$(grep -c '^pirf: error' <<<"$out")" = 1 ]
  check "user error at $np rank(s): one sentence, no location, status 2 (got $rc)" $? "$out"

  out=$(fresh "PIRF_QUIET_MPIEXEC=1; source '$src/scripts/env.sh'; mpiexec -n $np '$pirf' info '$deck' x.y=1" 2>&1)
  rc=$?
  [ "$rc" = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]
  check "PIRF_QUIET_MPIEXEC=1 at $np rank(s): only pirf's sentence (got $rc)" $? "$out"
done

out=$(fresh "PIRF_VERBOSITY=2 mpiexec -n 1 '$pirf' info '$deck' x.y=1" 2>&1)
grep -Eq '^  at .*src/core/config.c:[0-9]+ \(unknown_key\)' <<<"$out"
check "PIRF_VERBOSITY=2 shows where the error was detected" $? "$out"

out=$("$pirf" --help 2>&1)
rc=$?
ok=0
for c in run generate pretrain finetune sample evaluate info bench denoise keys version; do
  grep -Eq "^  $c " <<<"$out" || ok=1
done
[ "$rc" = 0 ] && [ $ok = 0 ] && grep -q "2  bad input" <<<"$out" && grep -q "3  stopped" <<<"$out"
check "pirf --help lists every command and the exit statuses (status $rc)" $? "$out"

for c in run generate pretrain finetune sample evaluate info bench denoise; do
  out=$("$pirf" "$c" --help 2>&1)
  rc=$?
  h2=$("$pirf" help "$c" 2>&1)
  [ "$rc" = 0 ] && grep -q "^usage: pirf $c " <<<"$out" && grep -q "0  done" <<<"$out" &&
    grep -q "1  failure" <<<"$out" && grep -q "2  bad input" <<<"$out" &&
    grep -q "3  stopped" <<<"$out" && [ "$out" = "$h2" ]
  check "pirf $c --help describes the command and the exit statuses" $? "$out"
done
out=$("$pirf" generate --help)
grep -q -- "-darcy_" <<<"$out" && grep -q "key.sub=value" <<<"$out"
check "pirf generate --help explains overrides and PETSc option prefixes" $? "$out"
out=$("$pirf" bench --help)
grep -q -- "-bench_batch" <<<"$out"
check "pirf bench --help lists its -bench_ options" $? "$out"
out=$("$pirf" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "^usage: pirf COMMAND" <<<"$out"
check "pirf without a command prints the usage with status 2 (got $rc)" $? "$out"

echo "cli: $pass passed, $fail failed"
[ $fail = 0 ]
