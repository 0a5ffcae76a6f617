#!/usr/bin/env bash
# Install what pirf needs (Debian 12 packages) if anything is missing, then configure and build.
# Sourced or run by the README's two commands; safe to run again (a no-op when all is in place).
#
#   PIRF_BUILD_DIR   build directory (default: build)
#   PIRF_CMAKE_ARGS  extra arguments for the configure step (e.g. -DPIRF_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin petsc-dev libhdf5-openmpi-dev
          libopenblas-dev libyaml-dev libfftw3-dev libfftw3-mpi-dev librandom123-dev hdf5-tools
          libdnnl-dev  # oneDNN: the 3x3 convolutions (docs/performance.md)
          python3-numpy python3-h5py python3-matplotlib python3-yaml
          python3-paraview  # VTK's XDMF reader for the sidecar test (python3-vtk9 has none)
          slurmctld slurmd slurm-client  # the job-script test's private SLURM
          procps gdb)  # pgrep for the tests that signal ranks; backtraces of a hung test's ranks
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if dpkg-query -W -f='${Status}' libhdf5-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "[setup] note: the serial libhdf5-dev is installed; pirf's CMake asks for the parallel one" >&2
fi

# The MPI settings a user's shell needs too (root in containers, oversubscription, no pinning).
# shellcheck source=env.sh
source scripts/env.sh

build=${PIRF_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
log="$build/setup-build.log"
mkdir -p "$build"
# Quiet build: make's progress lines name targets such as test_..._user_error, which read as build
# errors; print the compiler's own diagnostics (file:line: warning|error) and a summary instead,
# and the whole failing output when something does fail. The full log stays in $log.
if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${PIRF_CMAKE_ARGS:-} >"$log" 2>&1; then
  cat "$log" >&2
  echo "[setup] configure failed (log: $log)" >&2
  exit 1
fi
set +e
cmake --build "$build" -j "$jobs" >>"$log" 2>&1
rc=$?
set -e
diag='^[^ :][^:]*:[0-9]+(:[0-9]+)?: (fatal error|error|warning):'
warnings=$(grep -Ec "$diag" "$log" || true)
grep -E -A2 "$diag" "$log" | grep -v '^--$' || true
if [ "$rc" != 0 ] || [ ! -x "$build/pirf" ]; then
  # the failing commands' output: everything that is not a progress line
  grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built target)|^(Scanning|Consolidate|-- )' "$log" \
    | tail -60 >&2
  echo "[setup] build failed (status $rc; full log: $log)" >&2
  exit 1
fi
targets=$(grep -c "Built target" "$log" || true)
echo "[setup] built $build/pirf ($targets targets, $warnings compiler diagnostics; log: $log)"
