#!/usr/bin/env bash
# The test suite: install what is missing, build, run every test with ctest (2 at a time).
# Extra arguments go to ctest (e.g. tests/run.sh -R darcy).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
cd "${PIRF_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 600 "$@"
