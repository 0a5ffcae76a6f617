#!/usr/bin/env bash
# A throw-away single-node SLURM cluster in a private directory, for testing job scripts
# (facts in docs/DEVELOPING.md, "Testing job scripts"): auth/none (no munge), no cgroups, no systemd, its
# own ports, nothing written to /etc.
#   source slurm_cluster.sh; slurm_up DIR; ...; slurm_down DIR
#   (or, in a test: slurm_test_begin NAME, then check DESCRIPTION CONDITION ...)
slurm_up() {
  local D=$1 host port
  host=$(hostname -s)
  port=$((20000 + RANDOM % 20000))
  mkdir -p "$D/state" "$D/spool" "$D/log"
  chmod 755 "$D"
  cat > "$D/slurm.conf" <<CONF
ClusterName=pirftest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
EnforcePartLimits=ALL
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
KillWait=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$D/slurm.conf
  local d
  for d in slurmctld slurmd; do
    "$d" -f "$SLURM_CONF" && continue
    echo "slurm_up: $d did not start (status $?); its log:"; cat "$D/log/$d.log" 2>/dev/null
    return 1
  done
  for _ in $(seq 1 100); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && return 0
    sleep 0.1
  done
  echo "slurm_up: the node never became idle"; cat "$D/log/"*.log; return 1
}

slurm_down() {
  local D=$1
  for p in slurmd slurmctld; do
    [ -f "$D/$p.pid" ] && kill "$(cat "$D/$p.pid")" 2>/dev/null
  done
  sleep 0.3
}

# Wait until job $1 has left the queue (or $2 seconds); prints its final state.
slurm_wait() {
  local job=$1 limit=${2:-120} i
  for i in $(seq 1 $((limit * 10))); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 0.1
  done
  scontrol show job -o "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

# The common start of a job-script test (sourced by it): MPI as root, a private cluster in $D
# (removed on exit), the check/pass/fail counters. NAME is the test's summary-line name.
slurm_test_begin() {
  local name=$1
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  export OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=1
  D=$(mktemp -d /tmp/pirf-slurm.XXXXXX)
  trap 'slurm_down "$D"; rm -rf "$D"' EXIT
  fail=0; pass=0
  slurm_up "$D" || { echo "$name: 0 passed, 1 failed"; exit 1; }
}
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
