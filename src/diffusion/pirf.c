/* PIRF: one fine-tuning iteration's loss and its gradient through the last K sampler steps
 * (see pirf/finetune.h; docs/algorithm.md §2.4-2.9). */
#include "pirf/finetune.h"

#include "pirf/check.h"
#include "pirf/reward.h"
#include "pirf/rng.h"
#include "pirf/weight_reg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

pirf_ft_config pirf_ft_defaults(void) {
  pirf_ft_config c = {.method = PIRF_FT_DRAFT_K, .k = 2, .steps = 20, .random_schedule = 0,
                      .lv_inner = 2, .sigma_min = 0.002, .sigma_max = 80, .rho = 7,
                      .loss_scaling = 1, .lambda = 0, .dropout = 1, .truncate = 1, .seed = 0,
                      .batch = 40, .micro = 0};
  return c;
}

const char *pirf_ft_method_name(pirf_ft_method m) {
  switch (m) {
  case PIRF_FT_DRAFT_K: return "draft-k";
  case PIRF_FT_DRAFT: return "draft";
  case PIRF_FT_REFT: return "reft";
  case PIRF_FT_DRAFT_LV: return "draft-lv";
  }
  return "?";
}

static const int random_steps[3] = {20, 40, 80};

void pirf_ft_schedule(const pirf_ft_config *c, long iter, int *N, int *K) {
  int n = c->steps;
  if (c->random_schedule) {
    int j = (int)(3.0 * pirf_rng_uniform(c->seed, PIRF_STREAM_SCHEDULE, (uint32_t)iter, 0, 0, 0));
    n = random_steps[j < 3 ? j : 2];
  }
  int k = c->k;
  switch (c->method) {
  case PIRF_FT_DRAFT_K: k = c->k; break;
  case PIRF_FT_DRAFT: k = n; break;
  case PIRF_FT_DRAFT_LV: k = 1; break;
  case PIRF_FT_REFT: /* uniform on 1..N-1 (the reference's randint(1, N-1)) */
    k = 1 + (int)((double)(n - 1) *
                  pirf_rng_uniform(c->seed, PIRF_STREAM_SCHEDULE, (uint32_t)iter, 1, 0, 0));
    if (k > n - 1) k = n - 1;
    if (k < 1) k = 1;
    break;
  }
  *N = n;
  *K = k;
}

int pirf_ft_trainable_range(const pirf_unet *net, const char *which, int *pfirst, int *pend) {
  if (!strcmp(which, "all")) {
    *pfirst = 0;
    *pend = net->table.n;
    return 0;
  }
  int f0, e0;
  pirf_unet_decoder_level_range(net, 0, &f0, &e0);
  if (!strcmp(which, "decoder0")) {
    *pfirst = f0;
    *pend = e0;
    return 0;
  }
  if (!strcmp(which, "freeze_late")) {
    /* the decoder levels below full resolution: they precede level 0 in module order */
    int f = f0;
    for (int l = 1; l < net->cfg.levels; l++) {
      int a, b;
      pirf_unet_decoder_level_range(net, l, &a, &b);
      if (a >= 0 && a < f) f = a;
    }
    *pfirst = f;
    *pend = f0;
    return 0;
  }
  return -1;
}

void pirf_ft_destroy(pirf_ft *ft) {
  for (int s = 0; s < PIRF_MAX_TAPES; s++) pirf_unet_tape_destroy(&ft->tapes[s]);
  pirf_unet_work_destroy(&ft->work);
  free(ft->x);
  free(ft->xbar);
  free(ft->scratch);
  free(ft->saved);
  free(ft->lv);
  free(ft->grad);
  memset(ft, 0, sizeof *ft);
}

/* How many differentiable steps and tapes the method needs at most (user checks). */
static int plan_tapes(pirf_ft *ft, const pirf_ft_config *cfg, int nmax) {
  switch (cfg->method) {
  case PIRF_FT_DRAFT_K: ft->kmax = cfg->k; break;
  case PIRF_FT_DRAFT: ft->kmax = nmax; break;
  case PIRF_FT_REFT: ft->kmax = nmax - 1; break;
  case PIRF_FT_DRAFT_LV: ft->kmax = 1; break;
  }
  PIRF_USER_CHECK(cfg->method != PIRF_FT_REFT || nmax >= 2,
                  "finetune.method = reft needs finetune.steps >= 2 (K is drawn from 1..N-1)");
  PIRF_USER_CHECK(ft->kmax >= 1 && ft->kmax <= (cfg->random_schedule ? random_steps[0] : nmax),
                  "finetune.k = %d differentiable steps is more than the %d sampler steps "
                  "(finetune.steps%s); use k <= N", cfg->k,
                  cfg->random_schedule ? random_steps[0] : nmax,
                  cfg->random_schedule ? ", the smallest random N" : "");
  const int lv = cfg->method == PIRF_FT_DRAFT_LV ? cfg->lv_inner : 0;
  ft->lv_first = 2 * ft->kmax - 1;
  ft->ntapes = ft->lv_first + lv;
  PIRF_USER_CHECK(ft->ntapes <= PIRF_MAX_TAPES,
                  "%s with N = %d needs %d tapes (2K - 1%s), more than the %d supported; use "
                  "draft-k with a smaller finetune.k or fewer finetune.steps",
                  pirf_ft_method_name(cfg->method), nmax, ft->ntapes, lv ? " + lv_inner" : "",
                  PIRF_MAX_TAPES);
  return 0;
}

int pirf_ft_create(pirf_ft *ft, const pirf_unet *net, const pirf_decomp *dc, pirf_physics *ph,
                   const pirf_ft_config *cfg, int pfirst, int pend) {
  memset(ft, 0, sizeof *ft);
  ft->net = net;
  ft->dc = dc;
  ft->ph = ph;
  ft->cfg = *cfg;
  ft->pfirst = pfirst;
  ft->pend = pend;
  const pirf_param_table *t = &net->table;
  PIRF_USER_CHECK(pfirst >= 0 && pend > pfirst && pend <= t->n,
                  "the trainable set is empty (finetune.trainable); choose decoder0, all or "
                  "freeze_late on a network with more than one level");
  ft->first = t->p[pfirst].offset;
  ft->count = t->p[pend - 1].offset + t->p[pend - 1].count - ft->first;

  const int nmax = cfg->random_schedule ? random_steps[2] : cfg->steps;
  if (!cfg->eval_only) PIRF_TRY(plan_tapes(ft, cfg, nmax));
  PIRF_USER_CHECK(cfg->batch % dc->ndata == 0,
                  "finetune.batch = %ld is not a multiple of the %d data groups of this job; use a "
                  "multiple of %d", cfg->batch, dc->ndata, dc->ndata);
  ft->share = cfg->batch / dc->ndata;
  ft->micro = cfg->micro <= 0 || cfg->micro > ft->share ? ft->share : cfg->micro;
  PIRF_USER_CHECK(ft->micro <= 64,
                  "%ld samples per data group and round is more than the 64 the denoiser holds; "
                  "set finetune.micro_batch <= 64 or use more ranks", ft->micro);

  const int B = (int)ft->micro, C = ph->pde->channels;
  const size_t n = (size_t)B * C * dc->xm * dc->ym;
  PIRF_TRY(pirf_unet_work_create(net, dc, B, !cfg->eval_only, &ft->work));
  /* K = 1 with a range that starts after the input: the one tape records from the range on */
  ft->truncated = cfg->truncate && ft->kmax == 1 && pfirst > 0;
  for (int s = 0; s < ft->ntapes; s++) {
    if (s == 0 && ft->truncated)
      PIRF_TRY(pirf_unet_tape_create_from(net, dc, B, pfirst, &ft->tapes[s]));
    else
      PIRF_TRY(pirf_unet_tape_create(net, dc, B, &ft->tapes[s]));
  }
  PIRF_ALLOC(ft->x, n, "the samples x_i");
  PIRF_ALLOC(ft->scratch, 4 * n, "the sampler's scratch");
  if (!cfg->eval_only) PIRF_ALLOC(ft->xbar, n, "the samples' cotangent");
  if (cfg->eval_only) return 0;
  PIRF_ALLOC(ft->saved, (size_t)4 * ft->kmax * n, "the differentiable steps' saved tensors");
  if (ft->ntapes > ft->lv_first) PIRF_ALLOC(ft->lv, 3 * n, "DRaFT-LV's re-noised samples");
  PIRF_ALLOC(ft->grad, t->total, "the gradient");
  return 0;
}

/* Point the denoiser at a round of nb samples starting at global sample slot0. */
static void setup_denoiser(pirf_ft *ft, const float *params, int nb, long slot0, long iter,
                           int taped) {
  const pirf_decomp *dc = ft->dc;
  pirf_edm_denoiser *d = &ft->den;
  pirf_edm_denoiser_init(d, ft->net, ft->work, params, nb,
                         (size_t)nb * ft->ph->pde->channels * dc->xm * dc->ym);
  if (!taped) return;
  for (int s = 0; s < ft->ntapes; s++) {
    d->tapes[s] = ft->tapes[s];
    d->no_dx[s] = s == 0 && ft->truncated;
  }
  d->grad = ft->grad;
  d->pfirst = ft->pfirst;
  d->pend = ft->pend;
  d->dropout = ft->cfg.dropout && ft->net->cfg.dropout > 0;
  d->drop.seed = ft->cfg.seed;
  d->drop.sample0 = (uint32_t)slot0;
  d->step_base = (uint32_t)iter;
}

/* x = sigma * N(0, 1) keyed by (seed, stream, step, global sample, channel, global pixel); add
 * onto base when base is not NULL. */
static void fill_normal(const pirf_ft *ft, uint32_t stream, uint32_t step, long slot0, int nb,
                        double sigma, const float *base, float *x) {
  const pirf_decomp *dc = ft->dc;
  const int C = ft->ph->pde->channels;
  size_t k = 0;
  for (int b = 0; b < nb; b++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < dc->ym; i++)
        for (int j = 0; j < dc->xm; j++, k++) {
          double z = pirf_rng_normal(ft->cfg.seed, stream, step, (uint32_t)(slot0 + b),
                                     (uint32_t)c, (uint32_t)((dc->ys + i) * dc->W + dc->xs + j));
          x[k] = (float)((base ? base[k] : 0.0f) + sigma * z);
        }
}

/* One iteration, with gradient (taped) or without. */
static int iterate(pirf_ft *ft, const float *params, const float *prefix, const float *ref,
                   long iter, int taped, pirf_ft_stats *st) {
  PIRF_CHECK(!taped || !ft->cfg.eval_only, "a gradient of an evaluation-only fine-tuning object");
  const pirf_decomp *dc = ft->dc;
  const pirf_ft_config *c = &ft->cfg;
  int N, K;
  pirf_ft_schedule(c, iter, &N, &K);
  double sigma[PIRF_MAX_STEPS + 1];
  pirf_karras_sigmas(N, c->sigma_min, c->sigma_max, c->rho, sigma);
  const int lv = c->method == PIRF_FT_DRAFT_LV && !c->eval_only ? c->lv_inner : 0;
  /* every round's mean enters with weight nb / batch: the sum over rounds and data groups is the
   * mean over the global batch, whatever the layout */
  if (taped) memset(ft->grad + ft->first, 0, ft->count * sizeof *ft->grad);
  double loss = 0, mse = 0;
  for (long b0 = 0; b0 < ft->share; b0 += ft->micro) {
    const int nb = (int)(ft->share - b0 < ft->micro ? ft->share - b0 : ft->micro);
    const long slot0 = (long)dc->group * ft->share + b0;
    setup_denoiser(ft, params, nb, slot0, iter, taped);
    pirf_denoiser *d = &ft->den.base;
    const size_t n = d->n;
    const double w = (double)nb / (double)c->batch, wl = w * c->loss_scaling / (1.0 + lv);
    fill_normal(ft, PIRF_STREAM_LATENT, (uint32_t)iter, slot0, nb, sigma[0], NULL, ft->x);
    if (!taped) {
      /* the steps DRaFT-K does not differentiate see `prefix` (a stop-gradient) */
      ft->den.params = prefix ? prefix : params;
      PIRF_TRY(pirf_heun_steps_range(d, sigma, N, 0, prefix ? N - K : N, ft->x, ft->scratch));
      ft->den.params = params;
      if (prefix) PIRF_TRY(pirf_heun_steps_range(d, sigma, N, N - K, N, ft->x, ft->scratch));
    } else {
      PIRF_TRY(pirf_heun_steps_range(d, sigma, N, 0, N - K, ft->x, ft->scratch));
      PIRF_TRY(pirf_heun_steps_taped(d, sigma, N, N - K, ft->x, ft->saved));
      memset(ft->xbar, 0, n * sizeof *ft->xbar);
    }
    if (ft->on_samples) PIRF_TRY(ft->on_samples(ft->on_samples_ctx, ft->x, nb));
    double l;
    PIRF_TRY(pirf_reward_mse(ft->ph, nb, ft->x, &l, taped ? ft->xbar : NULL, wl));
    mse += w * l;
    loss += wl * l;
    /* DRaFT-LV: re-noise x_N at sigma_{N-1}, denoise once, and add that sample's reward; the
     * gradient reaches the last step through x_N as well */
    for (int j = 0; j < lv; j++) {
      float *x1 = ft->lv, *D = ft->lv + n, *Dbar = ft->lv + 2 * n;
      fill_normal(ft, PIRF_STREAM_LV, (uint32_t)(iter * lv + j), slot0, nb, sigma[N - 1], ft->x,
                  x1);
      if (taped)
        PIRF_TRY(d->eval_taped(d, ft->lv_first + j, x1, sigma[N - 1], D));
      else
        PIRF_TRY(d->eval(d, x1, sigma[N - 1], D));
      if (taped) memset(Dbar, 0, n * sizeof *Dbar);
      PIRF_TRY(pirf_reward_mse(ft->ph, nb, D, &l, taped ? Dbar : NULL, wl));
      loss += wl * l;
      if (taped) PIRF_TRY(d->vjp(d, ft->lv_first + j, Dbar, ft->xbar));
    }
    if (taped)
      PIRF_TRY(pirf_heun_steps_backward(d, sigma, N, N - K, ft->xbar, ft->saved, ft->scratch));
  }
  /* every rank of a group holds its group's sums (the reward reduces over space) */
  double s[2] = {loss, mse};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, dc->data));
  st->loss = s[0];
  st->residual_mse = s[1];
  st->N = N;
  st->K = K;
  st->reg = 0;
  if (c->lambda > 0) {
    PIRF_CHECK(ref, "weight regularization needs the reference weights");
    /* the weights are replicated: every rank gets the same value; the gradient enters once */
    st->reg = pirf_weight_reg(&ft->net->table, ft->pfirst, ft->pend, params, ref, c->lambda,
                              taped && dc->world_rank == 0 ? ft->grad : NULL, 1.0);
  }
  return 0;
}

int pirf_ft_gradient(pirf_ft *ft, const float *params, const float *ref, long iter,
                     pirf_ft_stats *st) {
  return iterate(ft, params, NULL, ref, iter, 1, st);
}

int pirf_ft_loss(pirf_ft *ft, const float *params, const float *prefix, const float *ref, long iter,
                 pirf_ft_stats *st) {
  return iterate(ft, params, prefix, ref, iter, 0, st);
}
