/* output.dir/pirf.lock: one job at a time in a run directory (see pirf/run_dir.h and
 * docs/run-directory.md).
 *
 * Rank 0 creates the file with open(O_CREAT | O_EXCL), which is atomic on local file systems, NFS
 * v3 and later, Lustre and GPFS (not on NFS v2, nor on some FUSE/object-store mounts). The file says
 * who holds the directory: host, PID, batch job id, command line, start time and a token (host:
 * PID:start) by which a job recognises its own lock when it removes it. A lock whose host is ours
 * and whose PID is no longer alive is stale (a killed job): it is reported and replaced. A lock
 * from another host cannot be checked from here, so it is replaced only with run.break_lock=true. */
#include "pirf/run_dir.h"

#include "pirf/check.h"
#include "pirf/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char lock_path[4200];
static char lock_token[512];
static int lock_held = 0;
static char lock_note[5000]; /* what happened to a stale lock, for log.txt (opened after the lock) */

const char *pirf_run_lock_note(void) { return lock_note; }

static void host_name(char *buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "unknown-host");
  buf[len - 1] = 0;
}

static const char *job_id(void) {
  const char *j = getenv("SLURM_JOB_ID");
  if (!j || !*j) j = getenv("PBS_JOBID");
  return j && *j ? j : "none";
}

/* The holder's fields, from the lock file's "name: value" lines. */
typedef struct {
  char host[256], job[128], since[64], command[1024], token[512];
  long pid;
} holder;

static int read_lock(const char *path, holder *h) {
  memset(h, 0, sizeof *h);
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT ? 0 : -1;
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *v = strstr(line, ": ");
    if (!v) continue;
    *v = 0;
    v += 2;
    if (!strcmp(line, "host")) snprintf(h->host, sizeof h->host, "%s", v);
    else if (!strcmp(line, "pid")) h->pid = strtol(v, NULL, 10);
    else if (!strcmp(line, "job")) snprintf(h->job, sizeof h->job, "%s", v);
    else if (!strcmp(line, "since")) snprintf(h->since, sizeof h->since, "%s", v);
    else if (!strcmp(line, "command")) snprintf(h->command, sizeof h->command, "%s", v);
    else if (!strcmp(line, "token")) snprintf(h->token, sizeof h->token, "%s", v);
  }
  fclose(f);
  return 1;
}

/* Rank 0: 0 = acquired; 1 = held by a live job (msg says by whom); -1 = a system error (msg). */
static int try_acquire(const char *path, const char *cmdline, const char *start, int break_lock,
                       char *msg, size_t len) {
  char host[256];
  host_name(host, sizeof host);
  snprintf(lock_token, sizeof lock_token, "%s:%ld:%s", host, (long)getpid(), start);
  for (int attempt = 0; attempt < 3; attempt++) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      FILE *f = fdopen(fd, "w");
      int ok = f && fprintf(f, "host: %s\npid: %ld\njob: %s\nsince: %s\ncommand: %.1000s\n"
                               "token: %s\n", host, (long)getpid(), job_id(), start, cmdline,
                            lock_token) > 0;
      if (f) ok = fclose(f) == 0 && ok;
      else close(fd);
      if (!ok) {
        unlink(path);
        snprintf(msg, len, "cannot write the lock file '%s': %s", path, strerror(errno));
        return -1;
      }
      return 0;
    }
    if (errno == ENOTDIR) {
      snprintf(msg, len, "output.dir '%.*s' is not a directory; remove the file or choose another "
               "output.dir", (int)(strlen(path) - strlen("/pirf.lock")), path);
      return -1;
    }
    if (errno != EEXIST) {
      snprintf(msg, len, "cannot create the lock file '%s': %s", path, strerror(errno));
      return -1;
    }
    holder h;
    int r = read_lock(path, &h);
    if (r == 0) continue; /* removed meanwhile: try again */
    const int same_host = r == 1 && !strcmp(h.host, host);
    const int dead = same_host && h.pid > 0 && kill((pid_t)h.pid, 0) != 0 && errno == ESRCH;
    if (dead || break_lock) {
      if (dead)
        snprintf(lock_note, sizeof lock_note, "[lock] %s was left by PID %ld on %s (job %s, since "
                 "%s), which is no longer running: removed the stale lock\n", path, h.pid, h.host,
                 h.job, h.since);
      else
        snprintf(lock_note, sizeof lock_note, "[lock] run.break_lock=true: broke %s of PID %ld on "
                 "%s (job %s, since %s)\n", path, h.pid, h.host[0] ? h.host : "?", h.job, h.since);
      if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(msg, len, "cannot remove the stale lock file '%s': %s", path, strerror(errno));
        return -1;
      }
      continue;
    }
    if (r < 0 || !h.host[0])
      snprintf(msg, len, "the run directory is locked by '%s', which cannot be read; if no job "
               "uses this directory, set run.break_lock=true", path);
    else if (same_host)
      snprintf(msg, len, "another job uses this run directory: '%s' is held by PID %ld on %s "
               "(job %s) since %s, running `%s`; wait for it to end, or give this run another "
               "output.dir", path, h.pid, h.host, h.job, h.since, h.command);
    else
      snprintf(msg, len, "another job uses this run directory: '%s' is held by PID %ld on host "
               "%s (job %s) since %s, running `%s`; pirf cannot check a process on another host: "
               "if that job has ended (squeue -j %s / qstat %s), set run.break_lock=true, "
               "otherwise give this run another output.dir", path, h.pid, h.host, h.job, h.since,
               h.command, h.job, h.job);
    return 1;
  }
  snprintf(msg, len, "cannot take the lock '%s': it keeps reappearing (another job is starting "
           "in this run directory)", path);
  return 1;
}

int pirf_run_lock_acquire(const char *dir, const char *cmdline, const char *start,
                          int break_lock) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  snprintf(lock_path, sizeof lock_path, "%s/pirf.lock", dir);
  char msg[10000] = "";
  int st = 0;
  lock_note[0] = 0;
  if (rank == 0) st = try_acquire(lock_path, cmdline, start, break_lock, msg, sizeof msg);
  PIRF_MPI(MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD));
  PIRF_MPI(MPI_Bcast(lock_token, (int)sizeof lock_token, MPI_CHAR, 0, MPI_COMM_WORLD));
  /* every rank returns the same verdict; rank 0 prints the message */
  PIRF_USER_CHECK(st == 0, "%s", msg);
  lock_held = 1;
  return 0;
}

void pirf_run_lock_release(int any_rank) {
  if (!lock_held) return;
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  lock_held = 0;
  if (rank != 0 && !any_rank) return;
  holder h;
  if (read_lock(lock_path, &h) == 1 && !strcmp(h.token, lock_token)) unlink(lock_path);
}
