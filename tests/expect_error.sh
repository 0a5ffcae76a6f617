#!/usr/bin/env bash
# usage: expect_error.sh EXIT_CODE REGEX -- COMMAND [ARGS...]
# Runs COMMAND and passes only if it exits with EXIT_CODE and its stderr matches REGEX (grep -E).
# Prints what it saw, so a failing error-path test shows the actual message.
want_rc=$1; regex=$2; shift 3
err=$(mktemp)
"$@" >/dev/null 2>"$err"
rc=$?
echo "exit code $rc (want $want_rc); stderr:"
cat "$err"
ok=1
[ "$rc" = "$want_rc" ] || ok=0
grep -Eq -- "$regex" "$err" || { echo "stderr does not match: $regex"; ok=0; }
rm -f "$err"
if [ $ok = 1 ]; then echo "expect_error: 1 passed, 0 failed"; exit 0; fi
echo "expect_error: 0 passed, 1 failed"; exit 1
