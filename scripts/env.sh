# Source this in a fresh shell before running pirf:   source scripts/env.sh
# (scripts/setup.sh sources it too). It sets what `mpiexec ... build/pirf` needs on a workstation or
# in a container, and changes nothing that is already set, so a cluster's own settings win.
#
#   OMPI_ALLOW_RUN_AS_ROOT*           Open MPI refuses to run as root (containers, CI) without them
#   OMPI_MCA_rmaps_base_oversubscribe more ranks than cores (small machines, tests at 4 ranks)
#   OMPI_MCA_hwloc_base_binding_policy=none   no core pinning: oversubscribed ranks pinned to the
#                                     same cores would slow each other down
#
# Open MPI's mpiexec prints a notice ("Primary job terminated normally, but 1 process returned a
# non-zero exit code ...") after any rank exits with a non-zero status, including pirf's 2 (bad
# input) and 3 (stopped, rerun to resume); pirf's own message comes first. PIRF_QUIET_MPIEXEC=1
# before sourcing this file silences the notice (OMPI_MCA_orte_execute_quiet=1), but that also
# silences mpiexec's own launch errors (too few slots, a missing executable), so it is off by
# default.
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
export OMPI_MCA_hwloc_base_binding_policy=${OMPI_MCA_hwloc_base_binding_policy:-none}
if [ "${PIRF_QUIET_MPIEXEC:-0}" = 1 ]; then export OMPI_MCA_orte_execute_quiet=1; fi

# SIGTERM sent to mpiexec itself (a user's kill, a scheduler without srun): Open MPI passes TERM
# to the ranks about 1.6 x odls_base_sigkill_timeout seconds later and SIGKILLs them the same time
# after that (default 1 s), which is too short for pirf to write its checkpoint. PIRF_TERM_GRACE_S=10
# before sourcing this file sets that timeout (the job scripts in jobscripts/ set it themselves).
# It is not the default because mpiexec also waits about twice as long before it exits after any
# rank's non-zero status (docs/pretrain.md, "The training run").
if [ -n "${PIRF_TERM_GRACE_S:-}" ]; then
  export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-$PIRF_TERM_GRACE_S}
fi
