/* The whole-network rows of `pirf bench` (see pirf/bench.h): one evaluation of the deck's
 * EDM-preconditioned SongUNet, one forward + backward, one training step, each against the
 * counted FLOPs of the network, and the memory each needs per rank.
 *
 * FLOP model (per sample, multiply-add = 2 flops; GroupNorm, SiLU, resampling and the other
 * elementwise work are not counted, as is usual for network FLOP figures):
 *   convolution  2 * Cout * Cin * k * k * (output pixels)   (the weight's PyTorch shape times the
 *                pixels of the module's output level: conv0 and skip of a down/up block run after
 *                the resampling)
 *   linear       2 * out * in                              (map_layer*, affine)
 *   attention    4 * P^2 * C                               (scores Q^T K and the weighted sum,
 *                P = pixels of the level, one head); qkv and proj are 1x1 convolutions
 * The backward does twice the forward's work (input and weight gradients of every product; the
 * attention backward four products where the forward has two), so forward+backward = 3 x forward;
 * a training step adds the Adam update (a few flops per weight, not counted). */
#include "pirf/bench.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/edm_loss.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/physics.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void pirf_unet_flops(const pirf_unet *net, pirf_unet_flop_count *f) {
  memset(f, 0, sizeof *f);
  const int R = net->cfg.resolution;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    const double pix = (double)(R >> m->level) * (double)(R >> m->level);
    for (int i = m->p_first; i < m->p_end; i++) {
      const pirf_param *p = &net->table.p[i];
      if (p->ndim == 4) {
        const double fl = 2.0 * p->shape[0] * p->shape[1] * p->shape[2] * p->shape[3] * pix;
        if (p->shape[2] == 3) f->conv3x3 += fl;
        else f->conv1x1 += fl;
      } else if (p->ndim == 2) {
        f->linear += 2.0 * p->shape[0] * p->shape[1];
      }
    }
    if (m->kind == PIRF_UNET_BLOCK && m->attention) f->attention += 4.0 * pix * pix * m->cout;
  }
  /* the embedding MLP is outside the module list */
  const int map[2] = {net->map_layer0, net->map_layer1};
  for (int j = 0; j < 2; j++) {
    const pirf_param *p = &net->table.p[map[j]];
    f->linear += 2.0 * p->shape[0] * p->shape[1];
  }
  f->total = f->conv3x3 + f->conv1x1 + f->linear + f->attention;
}

typedef struct {
  const pirf_unet *net;
  const pirf_decomp *dc;
  pirf_unet_work *wf, *wb;
  pirf_unet_tape *tape;
  pirf_edm_loss_buf lb;
  pirf_adam opt;
  int B, C, have_lb, have_opt;
  float *params, *ema, *grad, *x, *D, *dD, *dx;
  double *sigma;
  long step;
} net_case;

static int run_forward(void *p) {
  net_case *c = p;
  return pirf_edm_denoise(c->net, c->wf, NULL, c->params, c->x, c->sigma, c->B, NULL, c->D);
}

/* what a DRaFT step differentiates: a taped evaluation (dropout on), then dx and every gradient */
static int run_forward_backward(void *p) {
  net_case *c = p;
  pirf_unet_dropout drop = {1, (uint32_t)c->step++, 0};
  PIRF_TRY(pirf_edm_denoise(c->net, c->wb, c->tape, c->params, c->x, c->sigma, c->B,
                            c->net->cfg.dropout > 0 ? &drop : NULL, c->D));
  return pirf_edm_denoise_backward(c->net, c->wb, c->tape, c->params, c->dD, c->grad, 0,
                                   c->net->table.n, c->dx);
}

/* what `pirf pretrain` does per step and micro-batch round: EDM loss, its gradient, sharded Adam,
 * EMA */
static int run_train_step(void *p) {
  net_case *c = p;
  const size_t P = c->net->table.total;
  memset(c->grad, 0, P * sizeof *c->grad);
  pirf_unet_dropout drop = {1, (uint32_t)c->step, (uint32_t)((long)c->dc->group * c->B)};
  double loss;
  PIRF_TRY(pirf_edm_loss(c->net, c->wb, c->tape, &c->lb, c->dc, c->params, c->x, c->B,
                         (long)c->dc->group * c->B, (long)c->B * c->dc->ndata, 1,
                         (uint32_t)c->step, c->net->cfg.dropout > 0 ? &drop : NULL, c->grad, 0,
                         c->net->table.n, &loss));
  /* a tiny learning rate: the weights stay where the timing started */
  PIRF_TRY(pirf_adam_step(&c->opt, c->params, c->grad, 1.0, 1e-12, NULL));
  pirf_ema_update(c->ema, c->params, P, 0.999);
  c->step++;
  return 0;
}

static void net_case_free(net_case *c) {
  if (c->have_lb) pirf_edm_loss_buf_destroy(&c->lb);
  if (c->have_opt) pirf_adam_destroy(&c->opt);
  pirf_unet_tape_destroy(&c->tape);
  pirf_unet_work_destroy(&c->wf);
  pirf_unet_work_destroy(&c->wb);
  free(c->params), free(c->ema), free(c->grad), free(c->x), free(c->D), free(c->dD), free(c->dx);
  free(c->sigma);
}

/* Deterministic values in [-1, 1]: what they are does not change the work. */
static void fill(float *a, size_t n, unsigned seed) {
  unsigned s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    a[i] = (float)((s >> 8) * (2.0 / 16777216.0) - 1.0);
  }
}

static int bench_rows(pirf_bench *b, const pirf_config *cfg, const pirf_unet *net,
                      const pirf_decomp *dc, int B, net_case *c) {
  const size_t P = net->table.total, n = (size_t)B * c->C * dc->xm * dc->ym;
  const double MiB = 1048576.0;
  c->net = net, c->dc = dc, c->B = B;
  PIRF_ALLOC(c->params, P, "the benchmark's weights");
  PIRF_ALLOC(c->ema, P, "the benchmark's EMA");
  PIRF_ALLOC(c->grad, P, "the benchmark's gradient");
  PIRF_ALLOC(c->x, n, "the benchmark's inputs");
  PIRF_ALLOC(c->D, n, "the benchmark's outputs");
  PIRF_ALLOC(c->dD, n, "the benchmark's cotangents");
  PIRF_ALLOC(c->dx, n, "the benchmark's input gradient");
  PIRF_ALLOC(c->sigma, B, "noise levels");
  pirf_unet_init_params(net, 1, c->params);
  memcpy(c->ema, c->params, P * sizeof *c->ema);
  fill(c->x, n, 1);
  fill(c->dD, n, 2);
  for (int i = 0; i < B; i++) c->sigma[i] = 0.5 + i; /* the value does not change the work */

  pirf_unet_flop_count f;
  pirf_unet_flops(net, &f);
  const double G = 1e9, samples = (double)B * dc->ndata;
  pirf_log("[bench] network: %zu parameters; forward %.3f GFLOP per sample = conv3x3 %.1f%% + "
           "conv1x1 %.1f%% + attention %.1f%% + linear %.2f%% (elementwise work not counted)\n",
           P, f.total / G, 100 * f.conv3x3 / f.total, 100 * f.conv1x1 / f.total,
           100 * f.attention / f.total, 100 * f.linear / f.total);
  char shape[64];
  snprintf(shape, sizeof shape, "B%d %dch %dx%d", B, net->cfg.model_channels, net->cfg.resolution,
           net->cfg.resolution);

  /* forward-only first, with nothing but its own work allocated, so its max RSS means something */
  PIRF_TRY(pirf_unet_work_create(net, dc, B, 0, &c->wf));
  PIRF_TRY(pirf_bench_row(b, "network forward (no tape)", shape, f.total * samples, run_forward,
                          c));
  const double rss_fwd = pirf_bench_max_rss_mib(b->comm);
  const size_t wf = pirf_unet_work_bytes(c->wf);
  pirf_unet_work_destroy(&c->wf);

  PIRF_TRY(pirf_unet_work_create(net, dc, B, 1, &c->wb));
  PIRF_TRY(pirf_unet_tape_create(net, dc, B, &c->tape));
  PIRF_TRY(pirf_bench_row(b, "network forward+backward", shape, 3 * f.total * samples,
                          run_forward_backward, c));
  const double rss_fb = pirf_bench_max_rss_mib(b->comm);

  PIRF_TRY(pirf_edm_loss_buf_create(&c->lb, dc, B, c->C));
  c->have_lb = 1;
  PIRF_TRY(pirf_adam_create(&c->opt, b->comm, 0, P, NULL));
  c->have_opt = 1;
  PIRF_TRY(pirf_bench_row(b, "training step (loss+bwd+Adam+EMA)", shape, 3 * f.total * samples,
                          run_train_step, c));
  const double rss_train = pirf_bench_max_rss_mib(b->comm);

  const size_t wb = pirf_unet_work_bytes(c->wb), tb = pirf_unet_tape_bytes(c->tape);
  pirf_log("[bench] network memory per rank: parameters %.1f MiB per copy; work %.1f MiB "
           "(forward only) / %.1f MiB (forward+backward); tape %.1f MiB; Adam moments %.1f MiB "
           "(this rank's shard)\n", P * 4.0 / MiB, wf / MiB, wb / MiB, tb / MiB,
           2.0 * c->opt.n * 4.0 / MiB);
  pirf_log("[bench] peak memory per rank (max RSS, max over ranks) after the forward row %.1f "
           "MiB, after forward+backward %.1f MiB, after the training step %.1f MiB\n", rss_fwd,
           rss_fb, rss_train);
  (void)cfg;
  return 0;
}

int pirf_bench_network(pirf_bench *b, const pirf_config *cfg, int B) {
  const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(cfg, "pde.name"));
  PIRF_USER_CHECK(pde, "unknown pde.name '%s'", pirf_cfg_str(cfg, "pde.name"));
  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, b->comm, &dc));
  pirf_unet_config uc;
  pirf_unet net;
  int err = pirf_unet_config_from_deck(cfg, dc.H, pde->channels, &uc);
  if (!err) err = pirf_unet_create(&uc, &net);
  if (err) {
    pirf_decomp_destroy(&dc);
    return err;
  }
  net_case c;
  memset(&c, 0, sizeof c);
  c.C = pde->channels;
  err = bench_rows(b, cfg, &net, &dc, B, &c);
  net_case_free(&c);
  pirf_unet_destroy(&net);
  pirf_decomp_destroy(&dc);
  return err;
}
