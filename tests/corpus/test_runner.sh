#!/usr/bin/env bash
# corpus_runner_catches_each_kind_of_failure: the corpus runner (lib.sh) must fail a case on a
# wrong status, an unmatched message, a hang, a signal, an abort banner, an HDF5-DIAG stack, a
# sanitizer report, a leftover .partial and an unreadable .h5 the command wrote, and pass a good one.
# usage: test_runner.sh PIRF
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d /tmp/pirf-corpus-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/tests/corpus"
cp "$here/lib.sh" "$here/run.sh" "$tmp/src/tests/corpus/"
cat >"$tmp/src/tests/corpus/selftest.cases" <<'CASES'
CORPUS_TIMEOUT=5
corpus_begin good
corpus_expect_cmd 2 "clear message" -- bash -c 'echo "pirf: error: clear message"; exit 2'
corpus_begin wrong_status
corpus_expect_cmd 2 "msg" -- bash -c 'echo msg; exit 1'
corpus_begin wrong_message
corpus_expect_cmd 2 "wanted" -- bash -c 'echo other; exit 2'
corpus_begin hang
corpus_expect_cmd 2 "x" -- bash -c 'echo x; sleep 60; exit 2'
corpus_begin signal
corpus_expect_cmd 2 "x" -- bash -c 'echo x; kill -SEGV $$'
corpus_begin banner
corpus_expect_cmd 2 "x" -- bash -c 'echo "x *** buffer overflow detected ***"; exit 2'
corpus_begin mpi_abort
corpus_expect_cmd 2 "x" -- bash -c 'echo "x MPI_ABORT was invoked"; exit 2'
corpus_begin hdf5_diag
corpus_expect_cmd 2 "x" -- bash -c 'echo "x"; echo "HDF5-DIAG: Error detected in HDF5"; exit 2'
corpus_begin sanitizer
corpus_expect_cmd 2 "x" -- bash -c 'echo "x"; echo "a.c:3:4: runtime error: left shift"; exit 2'
corpus_begin partial_left
corpus_expect_cmd 2 "x" -- bash -c 'echo x; touch out.h5.partial; exit 2'
corpus_begin broken_h5_written
corpus_expect_cmd 2 "x" -- bash -c 'echo x; echo junk > out.h5; exit 2'
corpus_begin broken_fixture_untouched
echo junk > fixture.h5
corpus_expect_cmd 2 "x" -- bash -c 'echo x; exit 2'
corpus_begin no_expect
true
corpus_only_np 7
corpus_begin other_rank_count
corpus_expect_cmd 2 "x" -- bash -c 'exit 1'
CASES
out=$(CORPUS_WORK=$tmp/work bash "$tmp/src/tests/corpus/run.sh" selftest 1 "$1" 2>&1)
rc=$?
echo "$out"
pass=0 fail=0
want() { if echo "$out" | grep -Eq "^$1 +$2( |:|$)"; then pass=$((pass+1)); else echo "FAIL: $2 should be $1"; fail=$((fail+1)); fi; }
want ok good
want ok broken_fixture_untouched
for c in wrong_status wrong_message hang signal banner mpi_abort hdf5_diag sanitizer partial_left \
         broken_h5_written no_expect; do want FAIL $c; done
want SKIP other_rank_count
echo "$out" | grep -q "corpus selftest: 2 passed, 11 failed, 1 skipped" && pass=$((pass+1)) || { echo "FAIL: closing line"; fail=$((fail+1)); }
[ "$rc" != 0 ] && pass=$((pass+1)) || { echo "FAIL: run.sh exits 0 despite failures"; fail=$((fail+1)); }
echo "corpus_runner_selftest: $pass passed, $fail failed"
[ $fail = 0 ]
