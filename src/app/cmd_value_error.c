/* `pirf value-error DECK [key=value ...]`: how good is the DPS value estimate along the sampler's
 * own trajectories (docs/algorithm.md §1.3; docs/value-error.md).
 *
 * DPS/DiffusionPDE guidance and any "value function" view of the reward estimate the value of an
 * intermediate state x_i, the reward of the sample the ODE ends at from x_i, by the reward of the
 * one-step denoised estimate:
 *     v_hat_i = r(D(x_i; sigma_i)),    v_i = r(x_N of the ODE continued from x_i),
 * where r is the residual MSE of the deck's PDE (the figure `pirf evaluate` reports; the reward is
 * its negative, which changes neither the relative error nor the ratio). This command reports, for
 * every N of value_error.steps and every step i, the relative error |v_hat_i - v_i| / |v_i| and
 * the ratio v_hat_i / v_i over value_error.samples trajectories: mean, standard deviation and the
 * 10/50/90 percentiles.
 *
 * Why one trajectory suffices: the Heun sampler is deterministic and the schedule fixed, so the
 * ODE continued from x_i takes exactly the steps i..N-1 that the trajectory takes and ends at the
 * trajectory's own final sample: v_i = r(x_N) for every i. And D(x_i; sigma_i) is the first
 * network evaluation of step i, so v_hat_i costs one residual per step and no extra network
 * evaluation. On the last step the sampler takes an Euler step to sigma = 0, so
 * x_N = x_{N-1} - sigma_{N-1} (x_{N-1} - D) / sigma_{N-1} = D(x_{N-1}; sigma_{N-1}): the relative
 * error at i = N-1 is zero to rounding, which the tests check.
 *
 * The stochastic sampler (S_churn > 0), where v_i would be a Monte-Carlo mean over continuations,
 * is not implemented: pirf's sampler is the deterministic one only (pirf/sampler.h).
 *
 * Work: batches of value_error.batch trajectories go round-robin to the data groups (the latents
 * of `pirf sample` with seed value_error.seed, so the final samples are pirf sample's); each tile
 * of a group computes its part of the residual sums. Output: output.dir/value_error.json, written
 * by rank 0 as value_error.json.partial and renamed. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/edm_denoiser.h"
#include "pirf/log.h"
#include "pirf/physics.h"
#include "pirf/reward.h"
#include "pirf/run_dir.h"
#include "pirf/sampling.h"
#include "pirf/stop.h"
#include "pirf/watch.h"
#include "pirf/prof.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VE_MAX_N 8 /* entries of value_error.steps */

const pirf_cfg_spec pirf_value_error_schema[] = {
    {"value_error.model", PIRF_CFG_ENUM, "base", 0, 0, 0, 0, "base|pirf",
     "base: output.dir/base.h5, EMA weights; pirf: evaluate.pirf_checkpoint (default "
     "output.dir/pirf.h5) with evaluate.pirf_weights"},
    {"value_error.steps", PIRF_CFG_INT_LIST, "[20, 40, 80]", 1, PIRF_MAX_STEPS, 1, VE_MAX_N, NULL,
     "sampler steps N whose trajectories are analysed"},
    {"value_error.samples", PIRF_CFG_INT, "64", 2, 10000000, 0, 0, NULL,
     "trajectories per N (at least 2, for the spread)"},
    {"value_error.batch", PIRF_CFG_INT, "8", 1, PIRF_SAMPLE_MAX_BATCH, 0, 0, NULL,
     "trajectories per batch, the unit of work of a data group"},
    {"value_error.seed", PIRF_CFG_INT, "0", 0, 2147483647, 0, 0, NULL,
     "seed of the latents (the same samples as pirf sample with sample.seed = this)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* One statistic over trajectories: mean, sample standard deviation, 10/50/90 percentiles. */
typedef struct {
  double mean, std, p10, p50, p90;
} spread;

typedef struct {
  int N;
  double sigma[PIRF_MAX_STEPS + 1];
  double *vhat; /* [samples][N]: r(D(x_i; sigma_i)) of every trajectory */
  double *v;    /* [samples]: r(x_N) */
} ve_run;

typedef struct {
  pirf_decomp dc;
  int have_dc;
  pirf_physics *ph;
  pirf_unet net;
  float *params;
  float *x, *scratch;
  pirf_unet_work *work;
  ve_run runs[VE_MAX_N];
  int nruns;
  double *tmp; /* [samples]: sorting scratch */
  char ckpt[4096];
  const char *weights;
} ve_state;

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Percentile q of sorted v[0..n) by linear interpolation between order statistics (numpy's
 * default), so the postprocess script and a reader with numpy agree. */
static double percentile(const double *v, int n, double q) {
  const double pos = q * (n - 1);
  const int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

static spread spread_of(double *v, int n) {
  spread s = {0, 0, 0, 0, 0};
  if (n == 0) return s;
  for (int k = 0; k < n; k++) s.mean += v[k];
  s.mean /= n;
  for (int k = 0; k < n; k++) s.std += (v[k] - s.mean) * (v[k] - s.mean);
  s.std = n > 1 ? sqrt(s.std / (n - 1)) : 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  s.p10 = percentile(v, n, 0.1);
  s.p50 = percentile(v, n, 0.5);
  s.p90 = percentile(v, n, 0.9);
  return s;
}

/* The trajectories of one N: every group its batches; the values of a batch are stored by the
 * group's tile 0 only, so the world sum at the end moves each value unchanged. */
static int run_steps(ve_state *st, const pirf_config *cfg, ve_run *run, pirf_watch *w,
                     long done_before) {
  const pirf_decomp *dc = &st->dc;
  const int C = st->ph->pde->channels, N = run->N;
  const long S = pirf_cfg_int(cfg, "value_error.samples");
  const int B = (int)pirf_cfg_int(cfg, "value_error.batch");
  const uint32_t seed = (uint32_t)pirf_cfg_int(cfg, "value_error.seed");
  const size_t plane = (size_t)dc->xm * dc->ym;
  pirf_karras_sigmas(N, PIRF_SIGMA_MIN, PIRF_SIGMA_MAX, PIRF_RHO, run->sigma);
  PIRF_ALLOC(run->vhat, (size_t)S * N, "value estimates");
  PIRF_ALLOC(run->v, (size_t)S, "values");
  const long nbatch = (S + B - 1) / B, rounds = (nbatch + dc->ndata - 1) / dc->ndata;
  double vh[PIRF_SAMPLE_MAX_BATCH];
  for (long r = 0; r < rounds; r++) {
    const long k = r * dc->ndata + dc->group;
    const long first = k * B;
    const int count = k < nbatch ? (int)(S - first < B ? S - first : B) : 0;
    const int keep = dc->space_rank == 0;
    if (count > 0) {
      pirf_edm_denoiser d;
      pirf_edm_denoiser_init(&d, &st->net, st->work, st->params, count, (size_t)count * C * plane);
      pirf_sample_latents(dc, seed, first, count, C, run->sigma[0], st->x);
      for (int i = 0; i < N; i++) {
        /* one step; scratch then holds D(x_i; sigma_i), the step's first evaluation */
        PIRF_TRY(pirf_heun_steps_range(&d.base, run->sigma, N, i, i + 1, st->x, st->scratch));
        PIRF_TRY(pirf_residual_mse_samples(st->ph, count, st->scratch, vh));
        if (keep)
          for (int b = 0; b < count; b++) run->vhat[(first + b) * N + i] = vh[b];
      }
      PIRF_TRY(pirf_residual_mse_samples(st->ph, count, st->x, vh));
      if (keep)
        for (int b = 0; b < count; b++) run->v[first + b] = vh[b];
    }
    long done = (r + 1) * dc->ndata * (long)B;
    if (done > S) done = S;
    char note[64];
    snprintf(note, sizeof note, "N = %d", N);
    PIRF_TRY(pirf_watch_round(w, dc->world, done_before + done, note));
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, run->vhat, (int)(S * N), MPI_DOUBLE, MPI_SUM, dc->world));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, run->v, (int)S, MPI_DOUBLE, MPI_SUM, dc->world));
  return 0;
}

/* The relative error (what = 0) or the ratio (what = 1) of step i over the trajectories with
 * v != 0 (a sample with zero residual has no relative error; none was ever seen). */
static spread step_spread(const ve_run *run, long S, int i, int what, double *tmp, int *used) {
  int n = 0;
  for (long s = 0; s < S; s++) {
    const double v = run->v[s], vh = run->vhat[s * run->N + i];
    if (v == 0) continue;
    tmp[n++] = what == 0 ? fabs(vh - v) / fabs(v) : vh / v;
  }
  *used = n;
  return spread_of(tmp, n);
}

static void json_spread(FILE *f, const char *key, spread s) {
  fprintf(f, "\"%s\": {\"mean\": %.6e, \"std\": %.6e, \"p10\": %.6e, \"p50\": %.6e, \"p90\": %.6e}",
          key, s.mean, s.std, s.p10, s.p50, s.p90);
}

static int write_json(ve_state *st, const pirf_config *cfg, const char *path) {
  if (st->dc.world_rank != 0) return 0;
  const long S = pirf_cfg_int(cfg, "value_error.samples");
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.partial", path);
  FILE *f = fopen(tmp, "w");
  PIRF_CHECK(f, "cannot write '%s'", tmp);
  fprintf(f, "{\n  \"pde\": \"%s\",\n  \"resolution\": %d,\n  \"ranks\": %d,\n  \"tiles\": [%d, %d],\n"
             "  \"data_groups\": %d,\n",
          st->ph->pde->name, st->dc.H, st->dc.world_size, st->dc.px, st->dc.py, st->dc.ndata);
  fprintf(f, "  \"model\": \"%s\",\n  \"checkpoint\": \"%s\",\n  \"weights\": \"%s\",\n",
          pirf_cfg_str(cfg, "value_error.model"), st->ckpt, st->weights);
  fprintf(f, "  \"samples\": %ld,\n  \"seed\": %ld,\n  \"sampler\": \"deterministic Heun (S_churn = 0), "
             "Karras sigma_min = %g, sigma_max = %g, rho = %g\",\n",
          S, pirf_cfg_int(cfg, "value_error.seed"), PIRF_SIGMA_MIN, PIRF_SIGMA_MAX, PIRF_RHO);
  fprintf(f, "  \"value\": \"r(x) = residual MSE of one sample, physical units, discretize_a = %d; "
             "v_hat_i = r(D(x_i; sigma_i)), v_i = r(x_N)\",\n", st->ph->discretize_a);
  fprintf(f, "  \"runs\": [\n");
  for (int k = 0; k < st->nruns; k++) {
    const ve_run *run = &st->runs[k];
    double vmean = 0;
    for (long s = 0; s < S; s++) vmean += run->v[s];
    vmean /= (double)S;
    fprintf(f, "    {\"steps\": %d, \"nfe\": %d, \"v_mean\": %.6e, \"per_step\": [\n", run->N,
            pirf_heun_nfe(run->N), vmean);
    for (int i = 0; i < run->N; i++) {
      double vh = 0;
      for (long s = 0; s < S; s++) vh += run->vhat[s * run->N + i];
      int used;
      spread rel = step_spread(run, S, i, 0, st->tmp, &used);
      spread ratio = step_spread(run, S, i, 1, st->tmp, &used);
      fprintf(f, "      {\"i\": %d, \"sigma\": %.9e, \"samples\": %d, \"v_hat_mean\": %.6e, ", i,
              run->sigma[i], used, vh / (double)S);
      json_spread(f, "relative_error", rel);
      fprintf(f, ", ");
      json_spread(f, "ratio", ratio);
      fprintf(f, "}%s\n", i + 1 < run->N ? "," : "");
    }
    fprintf(f, "    ]}%s\n", k + 1 < st->nruns ? "," : "");
  }
  fprintf(f, "  ]\n}\n");
  int bad = fclose(f) != 0 || rename(tmp, path) != 0;
  if (bad) remove(tmp);
  PIRF_CHECK(!bad, "cannot write '%s'", path);
  return 0;
}

/* A few rows per N on the log: the start, the quarters and the last step. */
static void log_summary(ve_state *st, long S) {
  for (int k = 0; k < st->nruns; k++) {
    const ve_run *run = &st->runs[k];
    pirf_log("[value-error] N = %d:      i     sigma_i  mean |v_hat-v|/v  median v_hat/v\n", run->N);
    int last = -1;
    for (int q = 0; q <= 4; q++) {
      const int i = q == 4 ? run->N - 1 : q * run->N / 4;
      if (i == last) continue;
      last = i;
      int used;
      spread rel = step_spread(run, S, i, 0, st->tmp, &used);
      spread ratio = step_spread(run, S, i, 1, st->tmp, &used);
      pirf_log("[value-error]           %6d  %10.4g  %16.4e  %14.4e\n", i, run->sigma[i], rel.mean,
               ratio.p50);
    }
  }
}

static int value_error(pirf_config *cfg, ve_state *st) {
  const char *dir = pirf_cfg_str(cfg, "output.dir");
  const int tuned = !strcmp(pirf_cfg_str(cfg, "value_error.model"), "pirf");
  if (!tuned) {
    if (!pirf_pretrain_output(cfg, st->ckpt, sizeof st->ckpt)) return PIRF_ERR_USER;
    st->weights = "ema";
  } else {
    if (*pirf_cfg_str(cfg, "evaluate.pirf_checkpoint"))
      snprintf(st->ckpt, sizeof st->ckpt, "%s", pirf_cfg_str(cfg, "evaluate.pirf_checkpoint"));
    else if (!pirf_finetune_output(cfg, st->ckpt, sizeof st->ckpt))
      return PIRF_ERR_USER;
    st->weights = pirf_cfg_str(cfg, "evaluate.pirf_weights");
  }
  char out[4200];
  if (!pirf_path_printf(out, sizeof out, "output.dir", "%s/value_error.json", dir))
    return PIRF_ERR_USER;
  long steps[VE_MAX_N];
  st->nruns = pirf_cfg_int_list(cfg, "value_error.steps", steps, VE_MAX_N);
  for (int k = 0; k < st->nruns; k++) {
    for (int j = 0; j < k; j++)
      PIRF_USER_CHECK(steps[j] != steps[k], "value_error.steps lists N = %ld twice; give each N "
                      "once", steps[k]);
    st->runs[k].N = (int)steps[k];
  }
  /* every rank keeps v_hat of every trajectory and step until the end (for the percentiles) */
  for (int k = 0; k < st->nruns; k++)
    PIRF_USER_CHECK((double)pirf_cfg_int(cfg, "value_error.samples") * st->runs[k].N <= 5e7,
                    "value_error.samples = %ld at N = %d keeps more than 5e7 value estimates per "
                    "rank; lower value_error.samples", pirf_cfg_int(cfg, "value_error.samples"),
                    st->runs[k].N);
  const long S = pirf_cfg_int(cfg, "value_error.samples");
  const int B = (int)pirf_cfg_int(cfg, "value_error.batch");

  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &st->dc));
  st->have_dc = 1;
  PIRF_TRY(pirf_physics_create(cfg, &st->dc, &st->ph));
  const int C = st->ph->pde->channels;
  PIRF_TRY(pirf_sample_load_network(cfg, &st->dc, C, st->ckpt, st->weights, &st->net, &st->params));
  const size_t n = (size_t)B * C * st->dc.xm * st->dc.ym;
  PIRF_ALLOC(st->x, n, "trajectory tiles");
  PIRF_ALLOC(st->scratch, 4 * n, "sampler scratch"); /* pirf_heun_scratch_floats */
  PIRF_ALLOC(st->tmp, (size_t)S, "per-trajectory statistics");
  PIRF_TRY(pirf_unet_work_create(&st->net, &st->dc, B, 0, &st->work));

  long total = 0, nfe = 0;
  for (int k = 0; k < st->nruns; k++) {
    total += S;
    nfe += pirf_heun_nfe(st->runs[k].N);
  }
  char list[VE_MAX_N * 8] = "";
  for (int k = 0; k < st->nruns; k++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", k ? ", " : "", st->runs[k].N);
  pirf_log("[value-error] %s weights of %s; N in {%s}, %ld trajectories each in batches of %d "
           "(%ld network evaluations per latent over all N); %d data group%s x %d tile%s\n",
           st->weights, st->ckpt, list, S, B, nfe, st->dc.ndata, st->dc.ndata == 1 ? "" : "s",
           st->dc.nspace, st->dc.nspace == 1 ? "" : "s");
  pirf_watch w;
  pirf_watch_begin(&w, "value-error", "trajectories", total, 0,
                   pirf_cfg_real(cfg, "output.progress_s"));
  long done = 0;
  for (int k = 0; k < st->nruns; k++) {
    int e = run_steps(st, cfg, &st->runs[k], &w, done);
    if (e == PIRF_STOPPED)
      pirf_log("[value-error] stopped on signal %d; nothing is written, a rerun starts again\n",
               w.signal);
    PIRF_TRY(e);
    done += S;
  }
  pirf_watch_end(&w, NULL);
  log_summary(st, S);
  PIRF_TRY(write_json(st, cfg, out));
  pirf_log("[value-error] wrote %s\n", out);
  return 0;
}

static int stage(pirf_config *cfg) {
  ve_state *st = calloc(1, sizeof *st);
  PIRF_CHECK(st, "out of memory");
  int err = value_error(cfg, st);
  for (int k = 0; k < VE_MAX_N; k++) {
    free(st->runs[k].vhat);
    free(st->runs[k].v);
  }
  free(st->x);
  free(st->scratch);
  free(st->tmp);
  pirf_unet_work_destroy(&st->work);
  if (st->params) {
    free(st->params);
    pirf_unet_destroy(&st->net);
  }
  pirf_physics_destroy(&st->ph);
  if (st->have_dc) pirf_decomp_destroy(&st->dc);
  free(st);
  return err;
}

/* Holds output.dir (lock, log.txt) like the stages, but keeps no provenance record: its output is
 * an analysis, not an input of another stage. */
int pirf_stage_value_error(pirf_config *cfg) {
  PIRF_TRY(pirf_run_dir_open(cfg, "value-error", 1));
  int err = stage(cfg);
  pirf_run_dir_close(err);
  return err;
}
