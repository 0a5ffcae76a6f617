/* One invocation's run directory: the lock, log.txt and the run record (see pirf/run_dir.h). */
#include "pirf/run_dir.h"

#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/provenance.h"
#include "pirf/run_record.h"
#include "pirf/stop.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const pirf_cfg_spec pirf_run_schema[] = {
    {"run.allow_changed_resume", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "resume pretraining/fine-tuning from a state file written with other determining keys "
     "(docs/run-directory.md); otherwise such a resume is refused"},
    {"run.break_lock", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "replace output.dir/pirf.lock held by a job on another host (only when that job has ended)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static struct {
  int open, log_open;
  char command[32];
  double t0;
} rd;

/* Rank 0's command line from /proc/self/cmdline (arguments joined by spaces), malloc'd. */
static char *command_line(void) {
  FILE *f = fopen("/proc/self/cmdline", "rb");
  if (!f) return strdup("(unknown)");
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  int c;
  while (buf && (c = fgetc(f)) != EOF) {
    if (n + 2 > cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) break;
      buf = nb;
    }
    buf[n++] = c ? (char)c : ' ';
  }
  fclose(f);
  if (!buf) return strdup("(unknown)");
  while (n > 0 && buf[n - 1] == ' ') n--;
  buf[n] = 0;
  /* an HDF5 attribute holds at most 64 KiB: a longer command line is cut, and says so */
  enum { MAXC = 32768 };
  if (n > MAXC) snprintf(buf + MAXC - 64, 64, " [... %zu more characters]", n - (MAXC - 64));
  return buf;
}

static int bcast_text(char **s) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int n = rank == 0 ? (int)strlen(*s) + 1 : 0;
  PIRF_MPI(MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (rank != 0) PIRF_ALLOC(*s, n, "the command line");
  PIRF_MPI(MPI_Bcast(*s, n, MPI_CHAR, 0, MPI_COMM_WORLD));
  return 0;
}

/* Every distinct host of the job, in rank order, comma-separated (at most ~4000 characters). */
static int job_hosts(char *out, size_t len) {
  enum { HN = 256 };
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char mine[HN] = "";
  if (gethostname(mine, HN) != 0) snprintf(mine, HN, "unknown-host");
  mine[HN - 1] = 0;
  char *all = NULL;
  if (rank == 0) PIRF_ALLOC(all, (size_t)size * HN, "the host names");
  PIRF_MPI(MPI_Gather(mine, HN, MPI_CHAR, all, HN, MPI_CHAR, 0, MPI_COMM_WORLD));
  out[0] = 0;
  if (rank == 0) {
    size_t used = 0;
    for (int r = 0; r < size; r++) {
      const char *h = all + (size_t)r * HN;
      int seen = 0;
      for (int q = 0; q < r && !seen; q++) seen = !strcmp(h, all + (size_t)q * HN);
      if (seen) continue;
      int w = snprintf(out + used, len - used, "%s%s", used ? "," : "", h);
      if (w < 0 || used + (size_t)w >= len) break;
      used += (size_t)w;
    }
  }
  free(all);
  PIRF_MPI(MPI_Bcast(out, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD));
  return 0;
}

static const char *job_id(void) {
  const char *j = getenv("SLURM_JOB_ID");
  if (!j || !*j) j = getenv("PBS_JOBID");
  return j && *j ? j : "";
}

int pirf_run_dir_open(const pirf_config *cfg, const char *command, int lock) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  memset(&rd, 0, sizeof rd);
  snprintf(rd.command, sizeof rd.command, "%s", command);
  rd.t0 = pirf_wtime();
  char *cmd = rank == 0 ? command_line() : NULL;
  char start[40];
  pirf_log_timestamp(start, sizeof start);
  PIRF_MPI(MPI_Bcast(start, (int)sizeof start, MPI_CHAR, 0, MPI_COMM_WORLD));
  PIRF_TRY(bcast_text(&cmd));
  char hosts[4096];
  int err = job_hosts(hosts, sizeof hosts);
  if (err) {
    free(cmd);
    return err;
  }
  char host[256] = "";
  snprintf(host, sizeof host, "%.*s", (int)strcspn(hosts, ","), hosts);
  long tiles[2] = {1, 1};
  pirf_cfg_int_list(cfg, "parallel.tiles", tiles, 2);
  const long per = tiles[0] * tiles[1], groups = per > 0 ? size / per : 0;
  char layout[256];
  snprintf(layout, sizeof layout, "%d rank%s = %ld data group%s x %ld tile%s (%ldx%ld)", size,
           size == 1 ? "" : "s", groups, groups == 1 ? "" : "s", per, per == 1 ? "" : "s",
           tiles[0], tiles[1]);
  pirf_run_record_set_run(cmd, size, layout, start, host, hosts, job_id());

  if (lock) {
    const char *dir = pirf_cfg_str(cfg, "output.dir");
    err = pirf_mkdir_p(MPI_COMM_WORLD, dir);
    if (!err) err = pirf_run_lock_acquire(dir, cmd, start, pirf_cfg_bool(cfg, "run.break_lock"));
    if (err) {
      free(cmd);
      pirf_run_record_clear();
      return err;
    }
    rd.open = 1;
    /* log.txt: appended across reruns, a header per invocation */
    int ok = 1;
    if (rank == 0) {
      char path[4200], header[8192];
      snprintf(path, sizeof path, "%s/log.txt", dir);
      snprintf(header, sizeof header,
               "==== pirf %s: %s\n"
               "     pirf %s; %s on %s; PID %ld; job %s; started %s\n",
               command, cmd, pirf_build_version(), layout, hosts, (long)getpid(),
               *job_id() ? job_id() : "none", start);
      ok = pirf_log_file_open(path, header) == 0;
      if (*pirf_run_lock_note()) pirf_log("%s", pirf_run_lock_note());
    }
    PIRF_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
    rd.log_open = ok;
    if (!ok) {
      free(cmd);
      pirf_run_dir_close(PIRF_ERR_USER);
      PIRF_USER_CHECK(0, "cannot append to '%s/log.txt'; check the permissions of output.dir", dir);
    }
  } else {
    rd.open = 1;
  }
  free(cmd);
  return 0;
}

void pirf_run_dir_close(int err) {
  if (!rd.open) return;
  const int local = err && err != PIRF_STOPPED && !pirf_error_is_collective();
  if (rd.log_open) {
    char took[16];
    pirf_format_duration(pirf_wtime() - rd.t0, took);
    if (!err)
      pirf_log_file_note("==== pirf %s: finished (exit status 0) after %s\n", rd.command, took);
    else if (err == PIRF_STOPPED)
      pirf_log_file_note("==== pirf %s: stopped on a signal after a checkpoint (exit status 3) after %s; "
               "rerun the same command to continue\n", rd.command, took);
    else
      pirf_log_file_note("==== pirf %s: failed (exit status %d) after %s\n", rd.command,
               err == PIRF_ERR_USER ? 2 : 1, took);
    pirf_log_file_close();
  }
  /* after a local error the job is aborted next, maybe before rank 0 gets here: the ranks that
   * saw the error remove the lock themselves (only if it is still this job's) */
  pirf_run_lock_release(local);
  pirf_run_record_clear();
  memset(&rd, 0, sizeof rd);
}

int pirf_run_dir_stage(pirf_config *cfg, int (*stage)(pirf_config *cfg)) {
  const char *name = pirf_provenance_stage_name(stage);
  if (!name) return stage(cfg);
  /* generate writes data.path, which many runs may share, and sample with its own sample.output
   * writes outside output.dir: those take no lock (and keep no log.txt) */
  const int lock = strcmp(name, "generate") &&
                   !(!strcmp(name, "sample") && *pirf_cfg_str(cfg, "sample.output"));
  PIRF_TRY(pirf_run_dir_open(cfg, name, lock));
  int err = pirf_provenance_begin(cfg, name);
  if (!err) err = stage(cfg);
  int end = pirf_provenance_end(cfg, name, err);
  if (!err) err = end;
  pirf_run_dir_close(err);
  return err;
}
