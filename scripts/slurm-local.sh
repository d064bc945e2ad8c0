#!/usr/bin/env bash
# A real single-node Slurm on this machine, for pinniped's integration test.
#   scripts/slurm-local.sh up     install (Debian packages) if needed, configure, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh down   cancel all jobs, stop the daemons this script started (by PID)
# No systemd and no cgroups (containers and CI rarely have either): processes are tracked by PID
# (proctrack/linuxproc, task/none, no accounting, so no sacct); CPUs and memory come from `slurmd -C`
# (more than it detects makes the node INVAL); batch_sched_delay=0 starts tasks at once instead of in
# 3-second waves; kill_invalid_depend keeps a job whose dependency failed from pending forever.
# State lives in $SLURM_LOCAL_DIR (default /tmp/pinniped-slurm).
set -euo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/pinniped-slurm}
CONF=/etc/slurm/slurm.conf

log() { echo "slurm-local: $*" >&2; }

alive() { # a PID that is running and not a zombie
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  local state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != "Z" ]
}

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  log "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

configure() {
  mkdir -p "$DIR"/{state,spool,log} /etc/slurm
  local cpus mem
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
  cat >"$CONF" <<CONF
ClusterName=pinniped-local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
ReturnToService=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if [ ! -f /etc/munge/munge.key ]; then mungekey --create; fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    sleep 0.5
    pgrep -n -x munged >"$DIR/munged.pid"   # ours, to stop it by PID in `down`
  fi
  munge -n | unmunge >/dev/null
}

up() {
  install
  configure
  start_munge
  alive "$(cat "$DIR/slurmctld.pid" 2>/dev/null)" || slurmctld -c
  alive "$(cat "$DIR/slurmd.pid" 2>/dev/null)" || slurmd -N localhost
  for _ in $(seq 1 60); do
    if sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      log "up: $(sinfo -h -N -o '%N %t %c')"
      return 0
    fi
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  log "the node never became idle:"; sinfo -N >&2 || true; tail -20 "$DIR/log/slurmctld.log" >&2 || true
  return 1
}

down() {
  scancel --user=root >/dev/null 2>&1 || true
  for name in slurmd slurmctld munged; do
    local pid pidfile="$DIR/$name.pid"
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if alive "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do alive "$pid" || break; sleep 0.25; done
      alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  log "down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
