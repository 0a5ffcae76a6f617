/* One training run, shared by pretraining and fine-tuning (see pirf/training_run.h). */
#include "pirf/training_run.h"

#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/deck.h"
#include "pirf/provenance.h"
#include "pirf/stop.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pirf_training_init(pirf_training_run *r, const pirf_config *cfg, const char *name,
                       const char *step_key, const char *state_file, const char *log_file) {
  char key[64];
  r->cfg = cfg;
  r->name = name;
  r->step_key = step_key;
  r->ckpt_step = -1;
  snprintf(key, sizeof key, "%s.seed", name);
  r->seed = (uint32_t)pirf_cfg_int(cfg, key);
  snprintf(key, sizeof key, "%s.max_nonfinite", name);
  r->max_nonfinite = pirf_cfg_int(cfg, key);
  r->stop_latency = pirf_cfg_real(cfg, "run.stop_latency_s");
  pirf_optim_settings_from_deck(cfg, name, &r->os);
  const char *dir = pirf_cfg_str(cfg, "output.dir");
  snprintf(r->state, sizeof r->state, "%s/%s", dir, state_file);
  snprintf(r->logpath, sizeof r->logpath, "%s/%s", dir, log_file);
  r->deck_yaml = pirf_config_to_yaml(cfg);
  /* fault injection for the tests of the non-finite guard (docs/pretrain.md) */
  const char *f = getenv("PIRF_FAULT_NONFINITE_STEP");
  r->fault_step = f && *f ? atol(f) : -1;
  return 0;
}

void pirf_training_fault(pirf_training_run *r, float *grad) {
  if (r->fault_step >= 0 && r->step >= r->fault_step && r->dc.world_rank == 0) grad[0] = NAN;
}

int pirf_training_decomp(pirf_training_run *r, const pirf_config *cfg) {
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &r->dc));
  r->have_dc = 1;
  return 0;
}

int pirf_training_network(pirf_training_run *r, int with_ref) {
  PIRF_TRY(pirf_unet_create(&r->uc, &r->net));
  r->have_net = 1;
  const size_t P = r->net.table.total;
  PIRF_ALLOC(r->params, P, "the network weights");
  PIRF_ALLOC(r->ema, P, "the EMA weights");
  if (with_ref) PIRF_ALLOC(r->ref, P, "the base weights");
  return 0;
}

int pirf_training_optimizer(pirf_training_run *r, size_t first, size_t count) {
  PIRF_TRY(pirf_adam_create(&r->opt, MPI_COMM_WORLD, first, count, NULL));
  r->have_opt = 1;
  return 0;
}

static pirf_checkpoint state_of(pirf_training_run *r) {
  pirf_adam *o = &r->opt;
  pirf_checkpoint ck = {r->params, r->ema, r->ref, {o->first, o->count, o->lo, o->n, o->m, o->v, &o->t},
                        r->step, r->n_img, {r->seed, (uint64_t)r->step, 0, 0}};
  return ck;
}

int pirf_training_resume(pirf_training_run *r, int allowed) {
  int resume = allowed && access(r->state, R_OK) == 0;
  PIRF_MPI(MPI_Bcast(&resume, 1, MPI_INT, 0, MPI_COMM_WORLD));
  r->resumed = resume;
  if (!resume) return 0;
  pirf_checkpoint ck = state_of(r);
  PIRF_TRY(pirf_checkpoint_read(r->state, MPI_COMM_WORLD, &r->net.table, &ck, NULL));
  PIRF_USER_CHECK(ck.rng[0] == r->seed,
                  "'%s' was written with %s.seed = %llu, but this run has %u; resume with the same "
                  "seed, or remove the file (or set %s.resume=false) to start over",
                  r->state, r->name, (unsigned long long)ck.rng[0], r->seed, r->name);
  PIRF_TRY(pirf_provenance_check_resume(r->cfg, r->name, r->state)); /* same settings? */
  r->step = ck.step;
  r->n_img = ck.n_img;
  r->ckpt_step = r->step;
  return 0;
}

/* The counter of a JSONL line ("<key>": N) and whether it is an evaluation line; 0 if the line is
 * not a complete object. */
static int line_counter(const char *line, const char *key, long *n, int *eval) {
  size_t len = strlen(line);
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (len < 2 || line[0] != '{' || line[len - 1] != '}') return 0;
  char pat[48];
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  const char *p = strstr(line, pat);
  if (!p) return 0;
  char *end;
  *n = strtol(p + strlen(pat), &end, 10);
  if (end == p + strlen(pat)) return 0;
  *eval = !strncmp(line, "{\"eval\"", 7);
  return 1;
}

/* Rank 0: keep the lines of steps <= the checkpoint's (evaluations: of earlier steps only, since a
 * run resumed at its last step redoes the final evaluation); drop torn lines. Returns lines cut. */
static long trim_log(const char *path, const char *key, long step, int *ok) {
  *ok = 1;
  FILE *in = fopen(path, "r");
  if (!in) return 0;
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.partial", path);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fclose(in);
    *ok = 0;
    return 0;
  }
  long cut = 0;
  size_t cap = 1 << 16;
  char *line = malloc(cap);
  while (line && fgets(line, (int)cap, in)) {
    long n;
    int eval;
    const int whole = strchr(line, '\n') != NULL;
    if (whole && line_counter(line, key, &n, &eval) && (eval ? n < step : n <= step))
      fputs(line, out);
    else
      cut++;
  }
  free(line);
  fclose(in);
  if (fclose(out) || rename(tmp, path)) {
    remove(tmp);
    *ok = 0;
  }
  return cut;
}

int pirf_training_open_log(pirf_training_run *r) {
  int ok = 1;
  long cut = 0;
  if (r->dc.world_rank == 0) {
    const int keep = r->resumed && r->step > 0;
    if (keep) cut = trim_log(r->logpath, r->step_key, r->step, &ok);
    if (ok) r->log = fopen(r->logpath, keep ? "a" : "w");
    ok = ok && r->log != NULL;
  }
  PIRF_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  PIRF_USER_CHECK(ok, "cannot open the training log '%s' for writing; check output.dir", r->logpath);
  if (cut > 0)
    pirf_log("[%s] %s: dropped %ld line%s past the checkpoint's %s %ld (a run killed after its "
             "last checkpoint)\n", r->name, r->logpath, cut, cut == 1 ? "" : "s", r->step_key,
             r->step);
  return 0;
}

/* Called at every in-step poll point: a progress line when the interval has passed. */
static void heartbeat(void *ctx) {
  pirf_training_run *r = ctx;
  if (!r->have_prog || pirf_wtime() - r->prog.t_last_print < r->prog.interval) return;
  if (pirf_stop_poll_rss_mib() > r->prog.rss_max) r->prog.rss_max = pirf_stop_poll_rss_mib();
  char extra[96];
  snprintf(extra, sizeof extra, "%s %ld in progress for %.0f s", r->step_key, r->step + 1,
           pirf_wtime() - r->t_step);
  pirf_progress_heartbeat(&r->prog, extra);
}

int pirf_training_loop_begin(pirf_training_run *r, const char *unit, long total, long done) {
  pirf_progress_begin(&r->prog, r->name, unit, total - done);
  r->have_prog = 1;
  r->t_step = pirf_wtime();
  /* exchanges 10 times per bound, at most 4 a second: the stop costs ~1 of them plus the write */
  double every = r->stop_latency / 10;
  PIRF_TRY(pirf_stop_arm(MPI_COMM_WORLD, every < 0.25 ? every : 0.25, heartbeat, r));
  r->armed = 1;
  return 0;
}

int pirf_training_step_end(pirf_training_run *r, long nonfinite, double loss) {
  if (nonfinite > 0 || !isfinite(loss)) {
    if (r->nonfinite_run++ == 0)
      pirf_log("[%s] %s %ld is non-finite (loss %g, %ld gradient values replaced by the guard)\n",
               r->name, r->step_key, r->step, loss, nonfinite);
  } else {
    r->nonfinite_run = 0;
  }
  PIRF_USER_CHECK(r->max_nonfinite <= 0 || r->nonfinite_run < r->max_nonfinite,
                  "%s stopped: %ld consecutive non-finite steps (%s.max_nonfinite = %ld), the last "
                  "at %s %ld; the learning rate (%s.lr) may be too large, or the data set or the "
                  "starting checkpoint holds NaN/Inf values; '%s' keeps the last checkpoint",
                  r->name, r->nonfinite_run, r->name, r->max_nonfinite, r->step_key, r->step,
                  r->name, r->state);
  return 0;
}

int pirf_training_jsonl(pirf_training_run *r, int with_step, const char *fields) {
  double rss = pirf_rss_peak_mib();
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &rss, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
  if (!r->log) return 0;
  char now[32];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  pirf_utc_now(now);
  if (with_step)
    fprintf(r->log, "{\"%s\": %ld, %s, \"time\": \"%s\", \"unix_time\": %.3f, \"rss_mib\": %.1f}\n",
            r->step_key, r->step, fields, now, ts.tv_sec + 1e-9 * ts.tv_nsec, rss);
  else
    fprintf(r->log, "{%s, \"time\": \"%s\", \"unix_time\": %.3f, \"rss_mib\": %.1f}\n", fields, now,
            ts.tv_sec + 1e-9 * ts.tv_nsec, rss);
  fflush(r->log);
  return 0;
}

int pirf_training_checkpoint(pirf_training_run *r, const char *path) {
  const double t0 = pirf_wtime();
  pirf_checkpoint ck = state_of(r);
  PIRF_TRY(pirf_checkpoint_write(path, MPI_COMM_WORLD, &r->net.table, &ck, r->deck_yaml));
  const double dt = pirf_wtime() - t0;
  if (dt > r->ckpt_seconds) r->ckpt_seconds = dt;
  if (!strcmp(path, r->state)) r->ckpt_step = r->step;
  struct stat st;
  double mib = r->dc.world_rank == 0 && stat(path, &st) == 0 ? st.st_size / 1048576.0 : 0;
  pirf_log("[%s] wrote %s (%s %ld): %.1f MiB in %.2f s\n", r->name, path, r->step_key, r->step,
           mib, dt);
  return 0;
}

int pirf_training_after_step(pirf_training_run *r, long done, const char *extra, int ckpt_now,
                             int more) {
  pirf_progress_update(&r->prog, done, extra);
  if (ckpt_now) PIRF_TRY(pirf_training_checkpoint(r, r->state));
  /* a signal is seen at the next exchange, then the state is written */
  const double gap = pirf_stop_poll_max_gap();
  if (!r->warned && gap + r->ckpt_seconds > r->stop_latency) {
    r->warned = 1;
    pirf_log("[%s] warning: a stop may take about %.1f s here (up to %.1f s between stop checks, "
             "%.1f s per checkpoint write), more than run.stop_latency_s = %g; use more ranks or a "
             "smaller %s.micro_batch, or raise the bound and the batch system's grace time\n",
             r->name, gap + r->ckpt_seconds, gap, r->ckpt_seconds, r->stop_latency, r->name);
  }
  r->t_step = pirf_wtime();
  if (more && pirf_stop_requested(MPI_COMM_WORLD)) return PIRF_STOPPED;
  return 0;
}

static const char *signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : sig == SIGUSR2 ? "SIGUSR2" : "a signal";
}

int pirf_training_stop(pirf_training_run *r) {
  pirf_stop_disarm();
  r->armed = 0;
  if (r->have_prog) pirf_progress_close(&r->prog);
  r->have_prog = 0;
  if (r->ckpt_step != r->step) PIRF_TRY(pirf_training_checkpoint(r, r->state));
  const double latency = pirf_stop_seconds_since_signal(MPI_COMM_WORLD);
  int sig = pirf_stop_signal();
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  pirf_log("[%s] stop requested (%s): %s holds %s %ld, written %.2f s after the signal "
           "(run.stop_latency_s = %g); rerun the same command to resume\n", r->name,
           signal_name(sig), r->state, r->step_key, r->step, latency, r->stop_latency);
  return PIRF_STOPPED;
}

void pirf_training_loop_end(pirf_training_run *r, const char *extra) {
  if (r->armed) pirf_stop_disarm();
  r->armed = 0;
  if (r->have_prog) pirf_progress_end(&r->prog, extra);
  r->have_prog = 0;
}

int pirf_training_finish(pirf_training_run *r, int err, const char *final) {
  if (err == PIRF_STOPPED) return pirf_training_stop(r);
  PIRF_TRY(err);
  pirf_training_loop_end(r, NULL);
  PIRF_TRY(pirf_training_checkpoint(r, final));
  return 0;
}

void pirf_training_destroy(pirf_training_run *r) {
  if (r->armed) pirf_stop_abandon(); /* an error path: perhaps not every rank is here */
  if (r->log) fclose(r->log);
  free(r->deck_yaml);
  if (r->have_opt) pirf_adam_destroy(&r->opt);
  if (r->have_net) pirf_unet_destroy(&r->net);
  free(r->params);
  free(r->ema);
  free(r->ref);
  if (r->have_dc) pirf_decomp_destroy(&r->dc);
  memset(r, 0, sizeof *r);
}
