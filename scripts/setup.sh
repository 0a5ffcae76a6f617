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
          python3-numpy python3-h5py python3-matplotlib python3-yaml
          python3-paraview  # VTK's XDMF reader for the sidecar test (python3-vtk9 has none)
          slurmctld slurmd slurm-client)  # the last three: the job-script test's private SLURM
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

# MPI as root in containers, oversubscription for small machines, no core pinning (ENVIRONMENT.md).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none

build=${PIRF_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${PIRF_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs" 2>&1 | grep -E "error|warning|Error" || true
test -x "$build/pirf" || { echo "[setup] build failed: $build/pirf missing" >&2; exit 1; }
echo "[setup] built $build/pirf"
