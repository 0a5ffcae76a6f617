# Sourced by the measurement and study scripts: run a pirf stage on NP ranks once, timed
# (MPIEXEC: the launcher, default mpiexec).
#
#   TIMES=FILE NP=2 PIRF=build/pirf; source scripts/timed.sh
#   timed LABEL OUTPUT LOG pirf-arguments...
#
# Skips when OUTPUT exists and FILE already has a line for LABEL (a rerun continues a study or a
# measurement where it stopped: the pirf stages themselves resume from their state files).
# Otherwise runs `mpiexec -n NP PIRF pirf-arguments...` with its output in LOG, then records
# "LABEL<tab>wall seconds<tab>CPU seconds of all ranks" in FILE (CPU time = user + system,
# measured inside each rank, so it is robust to other jobs on the machine, unlike the wall time).
# A failing stage stops the caller with status 1 and names its log.
timed() {
  local label=$1 out=$2 log=$3
  shift 3
  if [ -e "$out" ] && grep -q "^$label	" "$TIMES" 2>/dev/null; then return 0; fi
  echo "[$(date -u +%H:%M:%S)] $label ..." >&2
  rm -f "$log".cpu.*
  /usr/bin/time -f '%e' -o "$log.time" \
    ${MPIEXEC:-mpiexec} -n "$NP" sh -c '/usr/bin/time -f "%U %S" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' \
    "$log.cpu" "$PIRF" "$@" > "$log" 2>&1 < /dev/null ||
    { echo "$label failed; see $log" >&2; exit 1; }
  local wall cpu
  wall=$(tail -1 "$log.time")
  cpu=$(awk '/^[0-9]/ { s += $1 + $2 } END { printf "%.1f", s }' "$log".cpu.*)
  rm -f "$log".cpu.* "$log.time"
  sed -i "/^$label	/d" "$TIMES" 2>/dev/null || true
  printf '%s\t%s\t%s\n' "$label" "$wall" "$cpu" >> "$TIMES"
}
