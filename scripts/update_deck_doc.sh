#!/usr/bin/env bash
# Regenerate the key table of docs/deck.md from `pirf keys` (run after adding deck keys; the test
# docs_list_every_deck_key fails until the table is current).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-build/pirf}
table=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$bin" keys)
awk -v table="$table" '
  /<!-- keys:begin -->/ { print; print table; skip = 1; next }
  /<!-- keys:end -->/   { skip = 0 }
  !skip' docs/deck.md > docs/deck.md.new
mv docs/deck.md.new docs/deck.md
