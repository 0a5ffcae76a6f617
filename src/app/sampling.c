/* Drawing sample sets with the (guided) Heun sampler, batch by batch (see pirf/sampling.h). */
#include "pirf/sampling.h"

#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/deck.h"
#include "pirf/edm_denoiser.h"
#include "pirf/log.h"
#include "pirf/pg_sample.h"
#include "pirf/rng.h"
#include "pirf/samples.h"
#include "pirf/stop.h"
#include "pirf/watch.h"
#include "pirf/prof.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_network(const pirf_config *cfg, const pirf_decomp *dc, int channels,
                        const char *path, const char *group, int physics_gradient, pirf_unet *net,
                        float **params) {
  int exists = access(path, R_OK) == 0;
  PIRF_MPI(MPI_Bcast(&exists, 1, MPI_INT, 0, dc->world));
  PIRF_USER_CHECK(exists, "the checkpoint '%s' does not exist: run `pirf pretrain` (or `pirf run`) "
                  "first, or point the deck at an existing file", path);
  pirf_unet_config uc;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, channels, &uc));
  if (physics_gradient >= 0) uc.physics_gradient = physics_gradient;
  PIRF_TRY(pirf_unet_create(&uc, net));
  *params = malloc(net->table.total * sizeof **params);
  if (!*params) pirf_unet_destroy(net);
  PIRF_CHECK(*params, "out of memory for the network weights");
  int err = pirf_checkpoint_read_weights(path, dc->world, &net->table, group, *params);
  if (err) {
    free(*params);
    *params = NULL;
    pirf_unet_destroy(net);
  }
  return err;
}

int pirf_sample_load_network(const pirf_config *cfg, const pirf_decomp *dc, int channels,
                             const char *path, const char *group, pirf_unet *net, float **params) {
  return load_network(cfg, dc, channels, path, group, -1, net, params);
}

int pirf_sample_load_pg_network(const pirf_config *cfg, const pirf_decomp *dc, int channels,
                                const char *path, const char *group, pirf_unet *net,
                                float **params) {
  return load_network(cfg, dc, channels, path, group, 1, net, params);
}

/* x_0 of samples [first, first+B) on this rank's tile (pirf/sampling.h). */
void pirf_sample_latents(const pirf_decomp *dc, uint32_t seed, long first, int B, int C,
                         double smax, float *x) {
  size_t k = 0;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < dc->ym; i++)
        for (int j = 0; j < dc->xm; j++)
          x[k++] = (float)(smax * pirf_rng_normal(seed, PIRF_STREAM_LATENT, 0, (uint32_t)(first + b),
                                                  (uint32_t)c,
                                                  (uint32_t)((dc->ys + i) * dc->W + dc->xs + j)));
}

static int write_attributes(hid_t f, const pirf_config *cfg, const pirf_physics *ph,
                            const pirf_sample_opts *o, const pirf_sample_stats *st) {
  PIRF_TRY(pirf_write_field_attributes(f, cfg, ph));
  PIRF_TRY(pirf_attr_write_str(f, "method", pirf_method_name(o->g.method)));
  PIRF_TRY(pirf_attr_write_long(f, "steps", o->steps));
  PIRF_TRY(pirf_attr_write_long(f, "seed", (long)o->seed));
  PIRF_TRY(pirf_attr_write_long(f, "batch", o->batch));
  PIRF_TRY(pirf_attr_write_long(f, "nfe", st->nfe));
  PIRF_TRY(pirf_attr_write_long(f, "guidance_vjps", st->vjps));
  PIRF_TRY(pirf_attr_write_long(f, "residual_gradients", st->residual_grads));
  PIRF_TRY(pirf_attr_write_double(f, "seconds_per_sample", 1, &st->seconds_per_sample));
  PIRF_TRY(pirf_attr_write_str(f, "checkpoint", o->checkpoint ? o->checkpoint : ""));
  PIRF_TRY(pirf_attr_write_str(f, "weights", o->weights ? o->weights : ""));
  /* what the method used: PG-Diffusion has no zeta and feeds dx from 0.3 N on */
  const int pg = o->g.method == PIRF_METHOD_PG_DIFFUSION;
  const double zeta = pg ? 0 : o->g.zeta, frac = pg ? PIRF_PG_FRACTION : o->g.guided_fraction;
  PIRF_TRY(pirf_attr_write_double(f, "zeta", 1, &zeta));
  PIRF_TRY(pirf_attr_write_double(f, "guided_fraction", 1, &frac));
  /* what the method did: only CoCoGen makes post-corrections (DPS and the plain sampler none) */
  const int corrects = o->g.method == PIRF_METHOD_COCOGEN;
  const double czeta = corrects ? o->g.correction_zeta : 0;
  PIRF_TRY(pirf_attr_write_long(f, "corrections", corrects ? o->g.corrections : 0));
  PIRF_TRY(pirf_attr_write_double(f, "correction_zeta", 1, &czeta));
  PIRF_TRY(pirf_attr_write_long(f, "discretize_a", ph->discretize_a));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mse", 1, &st->mse));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mae", 1, &st->mae));
  return 0;
}

typedef struct {
  float *x, *phys, *R, *scratch;
  double *sums; /* [2][batch]: per-sample sum R^2, sum |R| */
  pirf_unet_work *work;
  pirf_unet_tape *tapes[2];
  pirf_samples_file sf;
  int have_file;
} sampler_mem;

static void mem_free(sampler_mem *m) {
  free(m->x);
  free(m->phys);
  free(m->R);
  free(m->scratch);
  free(m->sums);
  pirf_unet_work_destroy(&m->work);
  for (int s = 0; s < 2; s++) pirf_unet_tape_destroy(&m->tapes[s]);
  if (m->have_file) pirf_samples_discard(&m->sf);
}

/* The residual of the batch in physical units, its per-sample sums (reduced over the space
 * communicator) and the physical fields. */
static int batch_outputs(pirf_physics *ph, int B, sampler_mem *m, int batch) {
  const pirf_decomp *dc = ph->dc;
  const int C = ph->pde->channels, Cr = ph->pde->residual_channels;
  const size_t plane = (size_t)dc->xm * dc->ym, in = C * plane, out = Cr * plane;
  for (int b = 0; b < B; b++) {
    pirf_prof_begin(PIRF_EV_RESIDUAL);
    PIRF_TRY(ph->pde->residual(ph, m->x + b * in, m->R + b * out));
    pirf_prof_end(PIRF_EV_RESIDUAL, 0);
    double s2 = 0, s1 = 0;
    for (size_t k = 0; k < out; k++) {
      double r = m->R[b * out + k];
      s2 += r * r;
      s1 += fabs(r);
    }
    m->sums[b] = s2;
    m->sums[batch + b] = s1;
    for (int c = 0; c < C; c++)
      for (size_t k = 0; k < plane; k++)
        m->phys[b * in + c * plane + k] =
            (float)((m->x[b * in + c * plane + k] - ph->norm_shift[c]) / ph->norm_scale[c]);
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, m->sums, 2 * batch, MPI_DOUBLE, MPI_SUM, dc->space));
  return 0;
}

/* The in-batch progress line (pirf_stop_arm's hook, called at every poll point on every rank;
 * prints on rank 0 when output.progress_s has passed since the last line). */
typedef struct {
  pirf_watch *w;
  double t_batch;
  long first;
} batch_watch;

static void batch_heartbeat(void *ctx) {
  batch_watch *hb = ctx;
  char note[96];
  snprintf(note, sizeof note, "batch from sample %ld in progress for %.0f s", hb->first,
           pirf_wtime() - hb->t_batch);
  pirf_watch_heartbeat(hb->w, note);
}

static int run(const pirf_config *cfg, const pirf_decomp *dc, pirf_physics *ph,
               const pirf_unet *net, const float *params, const pirf_sample_opts *o,
               pirf_fidelity *fid, pirf_sample_stats *st, sampler_mem *m) {
  const int C = ph->pde->channels, Cr = ph->pde->residual_channels, B = o->batch, N = o->steps;
  const size_t plane = (size_t)dc->xm * dc->ym, n = (size_t)B * C * plane;
  const int guided = pirf_method_guides(o->g.method, o->g.zeta);
  PIRF_USER_CHECK(o->g.method != PIRF_METHOD_PG_DIFFUSION || net->pg_layer1 >= 0,
                  "pg-diffusion sampling needs a network trained with the physics-gradient "
                  "branch: set model.physics_gradient: true and pretrain it (pirf pretrain), "
                  "then sample that checkpoint");
  double sigma[PIRF_MAX_STEPS + 1];
  PIRF_USER_CHECK(B >= 1 && B <= PIRF_SAMPLE_MAX_BATCH,
                  "a sampling batch holds 1 to %d samples, not %d", PIRF_SAMPLE_MAX_BATCH, B);
  PIRF_USER_CHECK(N >= 1 && N <= PIRF_MAX_STEPS, "the sampler needs 1 to %d steps, not %d",
                  PIRF_MAX_STEPS, N);
  pirf_karras_sigmas(N, PIRF_SIGMA_MIN, PIRF_SIGMA_MAX, PIRF_RHO, sigma);

  PIRF_ALLOC(m->x, n, "sample tiles");
  PIRF_ALLOC(m->phys, n, "physical sample tiles");
  PIRF_ALLOC(m->R, (size_t)B * Cr * plane, "residual tiles");
  PIRF_ALLOC(m->scratch, 6 * n, "sampler scratch");
  PIRF_ALLOC(m->sums, 2 * (size_t)B, "per-sample residual sums");
  PIRF_TRY(pirf_unet_work_create(net, dc, B, guided, &m->work));
  if (guided)
    for (int s = 0; s < 2; s++) PIRF_TRY(pirf_unet_tape_create(net, dc, B, &m->tapes[s]));
  if (o->path) {
    PIRF_TRY(pirf_mkdir_parent(dc->world, o->path));
    PIRF_TRY(pirf_samples_create(&m->sf, dc->world, o->path, o->samples, C, Cr, dc->H, dc->W));
    m->have_file = 1;
  }

  const long nbatch = (o->samples + B - 1) / B, rounds = (nbatch + dc->ndata - 1) / dc->ndata;
  const double npix = (double)Cr * dc->H * dc->W;
  double tot[4] = {0, 0, 0, 0}, t_sample = 0; /* sums of R^2, |R|, per-sample mse^2, mae^2 */
  pirf_guidance_cost cost = {0, 0, 0};
  pirf_watch w;
  pirf_watch_begin(&w, o->label ? o->label : "sample", "samples", o->samples, 0,
                   pirf_cfg_real(cfg, "output.progress_s"));
  batch_watch hb = {&w, 0, 0};
  /* as the training runs: 10 exchanges per bound, at most 4 a second */
  const double poll_interval = fmin(pirf_cfg_real(cfg, "run.stop_latency_s") / 10, 0.25);
  int abandoned = 0; /* this group left a batch on a stop request */
  for (long r = 0; r < rounds; r++) {
    const long k = r * dc->ndata + dc->group;
    const long first = k < nbatch ? k * B : 0;
    double t0 = pirf_wtime();
    int count = k < nbatch ? (int)(o->samples - first < B ? o->samples - first : B) : 0;
    if (count > 0) {
      pirf_edm_denoiser d;
      pirf_edm_denoiser_init(&d, net, m->work, params, count, (size_t)count * C * plane);
      d.tapes[0] = m->tapes[0];
      d.tapes[1] = m->tapes[1];
      /* x-only vjps: no parameter gradient (grad = NULL, empty range) */
      pirf_sample_latents(dc, o->seed, first, count, C, sigma[0], m->x);
      pirf_guidance_cost c = {0, 0, 0};
      /* A stop inside the batch: the group's ranks poll between U-Net blocks (they all run the same
       * evaluations; groups with nothing left to sample poll nowhere, so the poll is the group's),
       * abandon the batch together, and join the world's verdict at the end of the round below
       * with nothing to write. A batch at 128^2 takes minutes: this keeps the stop within
       * run.stop_latency_s, and the batch's progress lines show it is alive. */
      PIRF_TRY(pirf_stop_arm(dc->space, poll_interval, batch_heartbeat, &hb));
      hb.t_batch = pirf_wtime();
      hb.first = first;
      int e = pirf_guided_sample(&d.base, ph, count, sigma, N, &o->g, m->x, m->scratch, &c);
      if (e == 0 || e == PIRF_STOPPED) pirf_stop_disarm();
      else pirf_stop_abandon();
      if (e == PIRF_STOPPED) { /* the samples are abandoned; the round goes on empty */
        count = 0;
        abandoned = 1;
      }
      else PIRF_TRY(e);
      cost = c;
    }
    t_sample += pirf_wtime() - t0;
    memset(m->sums, 0, 2 * (size_t)B * sizeof *m->sums);
    if (count > 0) PIRF_TRY(batch_outputs(ph, count, m, B));
    double mse[PIRF_SAMPLE_MAX_BATCH], mae[PIRF_SAMPLE_MAX_BATCH];
    for (int b = 0; b < count; b++) {
      mse[b] = m->sums[b] / npix;
      mae[b] = m->sums[B + b] / npix;
      if (dc->space_rank == 0) {
        tot[0] += m->sums[b];
        tot[1] += m->sums[B + b];
        tot[2] += mse[b] * mse[b];
        tot[3] += mae[b] * mae[b];
      }
    }
    if (fid && count > 0) pirf_fidelity_add(fid, 0, count, m->x);
    if (m->have_file) {
      pirf_tile_block blk = {first, count, dc->xs, dc->xm, dc->ys, dc->ym};
      const int writer = dc->space_rank == 0 && count > 0;
      PIRF_TRY(pirf_samples_write(&m->sf, &blk, m->x, m->phys, m->R, writer ? mse : NULL,
                                  writer ? mae : NULL));
    }
    long done = (r + 1) * dc->ndata * (long)B;
    char extra[96];
    snprintf(extra, sizeof extra, "batch residual MSE %.3e", count > 0 ? mse[0] : 0.0);
    /* a stop between batches: nothing is kept (the samples file is deleted on the way out) */
    int e = pirf_watch_round(&w, dc->world, done < o->samples ? done : o->samples,
                             count > 0 ? extra : NULL);
    if (e == PIRF_STOPPED) {
      /* the samples finished when the stop came: this round's too unless a group abandoned its batch */
      long kept = abandoned ? r * dc->ndata * (long)B : done;
      PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &kept, 1, MPI_LONG, MPI_MIN, dc->world));
      pirf_log("[%s] stopped on signal %d after %ld of %ld samples%s%s%s; a rerun starts again\n",
               w.label, w.signal, kept < o->samples ? kept : o->samples, o->samples,
               m->have_file ? "; deleting " : "", m->have_file ? m->sf.ds.partial : "",
               m->have_file ? " (nothing is kept)" : "");
      return e;
    }
    PIRF_TRY(e);
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, tot, 4, MPI_DOUBLE, MPI_SUM, dc->world));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &t_sample, 1, MPI_DOUBLE, MPI_MAX, dc->world));
  long c3[3] = {cost.nfe, cost.vjps, cost.residual_grads};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, c3, 3, MPI_LONG, MPI_MAX, dc->world));
  st->mse = tot[0] / (npix * (double)o->samples);
  st->mae = tot[1] / (npix * (double)o->samples);
  /* standard errors over samples (every sample has the same pixel count, so the mean of the
   * per-sample means is st->mse): sqrt(sample variance / n) */
  const double ns = (double)o->samples;
  if (ns > 1) {
    st->mse_se = sqrt(fmax(tot[2] / ns - st->mse * st->mse, 0) / (ns - 1));
    st->mae_se = sqrt(fmax(tot[3] / ns - st->mae * st->mae, 0) / (ns - 1));
  }
  st->seconds = t_sample;
  st->seconds_per_sample = t_sample / (double)o->samples;
  st->nfe = c3[0];
  st->vjps = c3[1];
  st->residual_grads = c3[2];
  char extra[160];
  snprintf(extra, sizeof extra, "residual MSE %.4e, MAE %.4e; %.3g s/sample; %ld NFE + %ld vjps",
           st->mse, st->mae, st->seconds_per_sample, st->nfe, st->vjps);
  pirf_watch_end(&w, extra);
  if (m->have_file) {
    PIRF_TRY(write_attributes(m->sf.ds.file, cfg, ph, o, st));
    m->have_file = 0;
    PIRF_TRY(pirf_samples_commit(&m->sf));
  }
  return 0;
}

int pirf_sample_set(const pirf_config *cfg, const pirf_decomp *dc, pirf_physics *ph,
                    const pirf_unet *net, const float *params, const pirf_sample_opts *o,
                    pirf_fidelity *fid, pirf_sample_stats *st) {
  sampler_mem m;
  memset(&m, 0, sizeof m);
  memset(st, 0, sizeof *st);
  int err = run(cfg, dc, ph, net, params, o, fid, st, &m);
  mem_free(&m);
  return err;
}
