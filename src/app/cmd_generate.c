/* `pirf generate DECK [key=value ...]`: write the PDE data set of the deck, resumably.
 *
 * Every data group generates its contiguous block of samples, a round of `data.chunk` samples at a
 * time; each round ends with one collective HDF5 write of every rank's tiles into <path>.partial,
 * and a record (/generated) of the samples written, flushed after them. A stop (SIGTERM, SIGUSR1,
 * SIGUSR2) abandons the chunk in flight within one unit of work (a sample, an integrator frame),
 * keeps the partial file and exits with status 3; a rerun (of `pirf generate` or `pirf run`)
 * continues from it: samples already recorded are read back instead of generated, so the
 * residual floor is summed in the same order and the final file's fields and residual attributes
 * equal an uninterrupted run's. A partial file is reused only if its stored identity (the deck keys
 * that determine the data: pde.*, grid.resolution, data.samples, data.seed) and shape match the
 * deck's; otherwise a line says why and it is replaced.
 *
 * The residual of every sample is accumulated on the way, so the data set's residual floor (mean
 * R^2 and mean |R| under the reward's residual) is printed and stored as attributes. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/physics.h"
#include "pirf/stop.h"
#include "pirf/watch.h"
#include "pirf/prof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The attributes every data set carries (docs/architecture.md, file formats). */
static int write_attributes(pirf_dataset *ds, const pirf_physics *ph, const pirf_config *cfg,
                            double mse, double mae, double sec_per_sample) {
  hid_t f = ds->file;
  PIRF_TRY(pirf_write_field_attributes(f, cfg, ph));
  PIRF_TRY(pirf_attr_write_long(f, "seed", (long)ph->seed));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mse", 1, &mse));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mae", 1, &mae));
  PIRF_TRY(pirf_attr_write_double(f, "generator_seconds_per_sample", 1, &sec_per_sample));
  return 0;
}

/* ---- the identity of a data set: the resolved keys that determine its samples --------------- */

typedef struct {
  char *s;
  size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (t->len + (size_t)n + 1 > t->cap) {
    size_t cap = 2 * (t->len + (size_t)n + 1);
    char *s = realloc(t->s, cap);
    if (!s) return;
    t->s = s;
    t->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
}

static void put_key(text *t, const pirf_config *cfg, const pirf_cfg_spec *sp) {
  long il[PIRF_CFG_MAX_LIST];
  double rl[PIRF_CFG_MAX_LIST];
  int n;
  put(t, "%s: ", sp->key);
  switch (sp->type) {
  case PIRF_CFG_INT: put(t, "%ld", pirf_cfg_int(cfg, sp->key)); break;
  case PIRF_CFG_REAL: put(t, "%.17g", pirf_cfg_real(cfg, sp->key)); break;
  case PIRF_CFG_BOOL: put(t, "%s", pirf_cfg_bool(cfg, sp->key) ? "true" : "false"); break;
  case PIRF_CFG_STRING:
  case PIRF_CFG_ENUM: put(t, "\"%s\"", pirf_cfg_str(cfg, sp->key)); break;
  case PIRF_CFG_INT_LIST:
    n = pirf_cfg_int_list(cfg, sp->key, il, PIRF_CFG_MAX_LIST);
    for (int i = 0; i < n; i++) put(t, "%s%ld", i ? ", " : "[", il[i]);
    put(t, "]");
    break;
  case PIRF_CFG_REAL_LIST:
    n = pirf_cfg_real_list(cfg, sp->key, rl, PIRF_CFG_MAX_LIST);
    for (int i = 0; i < n; i++) put(t, "%s%.17g", i ? ", " : "[", rl[i]);
    put(t, "]");
    break;
  }
  put(t, "\n");
}

/* "key: value" lines (malloc'd) of the keys the samples depend on: the PDE's (pde.* and
 * pde.<name>.*), the grid, the sample count and the seed. Not the layout, data.chunk or paths:
 * the data do not depend on them. */
static char *identity_of(const pirf_config *cfg, const pirf_physics *ph) {
  text t = {NULL, 0, 0};
  put(&t, "format_version: %d\n", PIRF_FORMAT_VERSION);
  for (const pirf_cfg_spec *sp = pirf_physics_schema; sp->key; sp++) put_key(&t, cfg, sp);
  if (ph->pde->schema)
    for (const pirf_cfg_spec *sp = ph->pde->schema; sp->key; sp++) put_key(&t, cfg, sp);
  static const char *const app[] = {"grid.resolution", "data.samples", "data.seed", NULL};
  for (int i = 0; app[i]; i++)
    for (const pirf_cfg_spec *sp = pirf_app_schema; sp->key; sp++)
      if (!strcmp(sp->key, app[i])) put_key(&t, cfg, sp);
  return t.s;
}

/* The keys whose lines differ between two identities, "a, b" into buf. */
static void identity_diff(const char *a, const char *b, char *buf, size_t len) {
  buf[0] = 0;
  for (int pass = 0; pass < 2; pass++) {
    const char *x = pass ? b : a, *y = pass ? a : b;
    for (const char *line = x; *line;) {
      const char *end = strchr(line, '\n');
      size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
      const char *colon = memchr(line, ':', n);
      int found = 0;
      for (const char *l2 = y; *l2 && !found;) {
        const char *e2 = strchr(l2, '\n');
        size_t n2 = e2 ? (size_t)(e2 - l2) + 1 : strlen(l2);
        found = n2 == n && !memcmp(l2, line, n);
        l2 += n2;
      }
      if (!found && colon) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(colon - line), line);
        if (!strstr(buf, key)) {
          size_t k = strlen(buf);
          snprintf(buf + k, len - k, "%s%s", k ? ", " : "", key);
        }
      }
      line += n;
    }
  }
}

/* ---- the generator's stop and progress hook -------------------------------------------------- */

static int generate_tick(pirf_physics *ph, const char *note) {
  return pirf_watch_poll(ph->tick_ctx, ph->dc->space, note);
}

static int all_set(const unsigned char *done, long first, long count) {
  for (long i = 0; i < count; i++)
    if (!done[first + i]) return 0;
  return 1;
}

/* Open <path>.partial for resuming when it belongs to this deck (*resumed = its samples), or
 * create a fresh one. A partial file that is not used is deleted with a line saying why. */
static int open_output(pirf_dataset *ds, const pirf_decomp *dc, const char *path, long N, int C,
                       const char *identity, int resumable, unsigned char *done, long *resumed) {
  char why[1024], *stored = NULL;
  *resumed = 0;
  PIRF_TRY(pirf_dataset_reopen_partial(ds, dc->world, path, N, C, dc->H, dc->W, done, &stored, why,
                                       sizeof why));
  if (stored && strcmp(stored, identity)) {
    char keys[700];
    identity_diff(stored, identity, keys, sizeof keys);
    snprintf(why, sizeof why, "it was written for other settings (%s differ%s)", keys,
             strchr(keys, ',') ? "" : "s");
  } else if (ds->file > 0 && !resumable) {
    snprintf(why, sizeof why, "this data set is always generated afresh");
  }
  if (ds->file > 0 && !why[0])
    for (long i = 0; i < N; i++) *resumed += done[i] != 0;
  free(stored);
  if (ds->file > 0 && !why[0]) {
    pirf_log("[generate] resuming from %s: %ld of %ld samples already generated\n", ds->partial,
             *resumed, N);
    return 0;
  }
  if (why[0]) {
    pirf_log("[generate] not resuming from %s: %s; deleting it and starting afresh\n", ds->partial,
             why);
    pirf_dataset_discard(ds);
    PIRF_MPI(MPI_Barrier(dc->world)); /* gone before any rank creates the new file */
  }
  memset(done, 0, (size_t)N);
  PIRF_TRY(pirf_dataset_create(ds, dc->world, path, N, C, dc->H, dc->W));
  if (resumable) PIRF_TRY(pirf_dataset_make_resumable(ds, identity));
  return 0;
}

typedef struct {
  pirf_decomp dc;
  pirf_physics *ph;
  float *buf;
  unsigned char *done;
  char *identity;
  pirf_dataset ds;
  int have_ds;
} generator;

static int generate(pirf_config *cfg, int resumable, generator *g) {
  pirf_decomp *dc = &g->dc;
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, dc));
  PIRF_TRY(pirf_physics_create(cfg, dc, &g->ph));
  pirf_physics *ph = g->ph;
  const int C = ph->pde->channels;
  const long N = pirf_cfg_int(cfg, "data.samples");
  const long chunk = pirf_cfg_int(cfg, "data.chunk");
  char path[4096];
  if (!pirf_deck_data_path(cfg, path, sizeof path)) return PIRF_ERR_USER;
  PIRF_TRY(pirf_mkdir_parent(MPI_COMM_WORLD, path));

  long first, count;
  pirf_decomp_samples(dc, N, &first, &count);
  const long rounds = (pirf_decomp_max_samples(dc, N) + chunk - 1) / chunk;
  pirf_log("[generate] %s: %ld samples of %dx%d, %d channel%s -> %s\n", ph->pde->name, N, dc->H,
           dc->W, C, C > 1 ? "s" : "", path);
  pirf_log("[generate] layout: %d rank%s = %d data group%s x %d tile%s (%dx%d)\n", dc->world_size,
           dc->world_size > 1 ? "s" : "", dc->ndata, dc->ndata > 1 ? "s" : "", dc->nspace,
           dc->nspace > 1 ? "s" : "", dc->px, dc->py);

  const size_t tile = (size_t)C * dc->xm * dc->ym;
  PIRF_ALLOC(g->buf, (size_t)chunk * tile, "generated sample tiles");
  PIRF_ALLOC(g->done, (size_t)N, "the record of generated samples");
  g->identity = identity_of(cfg, ph);
  PIRF_CHECK(g->identity, "out of memory");
  long resumed = 0;
  PIRF_TRY(open_output(&g->ds, dc, path, N, C, g->identity, resumable, g->done, &resumed));
  g->have_ds = 1;

  double sums[3] = {0, 0, 0}, t0 = pirf_wtime();
  pirf_watch w;
  pirf_watch_begin(&w, "generate", "samples", N, resumed, pirf_cfg_real(cfg, "output.progress_s"));
  ph->tick = generate_tick;
  ph->tick_ctx = &w;
  long ndone = resumed;
  int stopped = 0;
  for (long r = 0; r < rounds && !stopped; r++) {
    pirf_tile_block b = {first + r * chunk, 0, dc->xs, dc->xm, dc->ys, dc->ym};
    b.count = count - r * chunk < chunk ? count - r * chunk : chunk;
    if (b.count < 0) b.count = 0;
    /* a chunk recorded by an earlier run is read back (collectively, when anything was resumed) */
    const int have = b.count > 0 && all_set(g->done, b.first, b.count);
    if (resumed > 0) {
      pirf_tile_block rb = b;
      if (!have) rb.count = 0;
      PIRF_TRY(pirf_h5_read_block(g->ds.fields, C, &rb, g->buf));
    }
    if (b.count > 0 && !have) {
      pirf_prof_begin(PIRF_EV_PDE_SOLVE);
      int e = ph->pde->generate(ph, b.first, b.count, g->buf);
      pirf_prof_end(PIRF_EV_PDE_SOLVE, 0);
      if (e == PIRF_STOPPED)
        stopped = 1;
      else
        PIRF_TRY(e);
    }
    pirf_tile_block wb = b;
    if (have || stopped) wb.count = 0;
    double s[3] = {0, 0, 0};
    if (b.count > 0 && !stopped)
      PIRF_TRY(pirf_physics_residual_sums(ph, b.count, g->buf, &s[0], &s[1], &s[2]));
    if (dc->space_rank == 0)
      for (int k = 0; k < 3; k++) sums[k] += s[k];
    PIRF_TRY(pirf_dataset_write(&g->ds, &wb, g->buf));
    if (resumable) PIRF_TRY(pirf_dataset_mark_generated(&g->ds, wb.first, wb.count,
                                                        dc->space_rank == 0 && wb.count > 0));
    long add = dc->space_rank == 0 ? wb.count : 0;
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &add, 1, MPI_LONG, MPI_SUM, dc->world));
    ndone += add;
    int e = pirf_watch_round(&w, dc->world, ndone, NULL);
    if (e == PIRF_STOPPED)
      stopped = 1;
    else
      PIRF_TRY(e);
  }
  ph->tick = NULL;
  if (stopped) {
    g->have_ds = 0;
    if (resumable) {
      PIRF_TRY(pirf_dataset_keep_partial(&g->ds));
      pirf_log("[generate] stopped on signal %d with %ld of %ld samples written; kept %s: rerun the "
               "same command (or pirf run) to continue from it\n", w.signal, ndone, N,
               g->ds.partial);
    } else {
      pirf_dataset_discard(&g->ds);
      pirf_log("[generate] stopped on signal %d; deleted %s (it is generated afresh next time)\n",
               w.signal, g->ds.partial);
    }
    return PIRF_STOPPED;
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  double seconds = pirf_wtime() - t0;
  double mse = sums[0] / sums[2], mae = sums[1] / sums[2];
  /* measured over the samples this run generated (a resumed run's are fewer) */
  double sps = N > resumed ? seconds * dc->ndata / (double)(N - resumed) : 0.0;
  char extra[128];
  snprintf(extra, sizeof extra, "%.3g s/sample per data group", sps);
  pirf_watch_end(&w, extra);
  if (resumable) PIRF_TRY(pirf_dataset_end_resumable(&g->ds));
  PIRF_TRY(write_attributes(&g->ds, ph, cfg, mse, mae, sps));
  g->have_ds = 0;
  PIRF_TRY(pirf_dataset_commit(&g->ds));
  pirf_log("[generate] residual floor of the data: mean(R^2) = %.6e, mean(|R|) = %.6e\n", mse, mae);
  pirf_log("[generate] wrote %s\n", path);
  return 0;
}

int pirf_generate_data(pirf_config *cfg, int resumable) {
  generator *g = calloc(1, sizeof *g);
  PIRF_CHECK(g, "out of memory");
  int err = generate(cfg, resumable, g);
  if (g->have_ds) pirf_dataset_discard(&g->ds); /* a failure: nothing truncated stays behind */
  free(g->buf);
  free(g->done);
  free(g->identity);
  pirf_physics_destroy(&g->ph);
  pirf_decomp_destroy(&g->dc);
  free(g);
  return err;
}

int pirf_stage_generate(pirf_config *cfg) {
  pirf_prof_stage_push(PIRF_STAGE_GENERATE);
  const int err = pirf_generate_data(cfg, 1);
  pirf_prof_stage_pop(PIRF_STAGE_GENERATE);
  return err;
}
