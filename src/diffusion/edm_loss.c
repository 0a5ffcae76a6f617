/* EDM's training loss and its gradient on the tile decomposition (see pirf/edm_loss.h). */
#include "pirf/edm_loss.h"

#include "pirf/check.h"
#include "pirf/reward.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pirf_edm_loss_buf_create(pirf_edm_loss_buf *lb, const pirf_decomp *dc, int B, int C) {
  memset(lb, 0, sizeof *lb);
  lb->B = B;
  lb->C = C;
  lb->tile = (size_t)dc->xm * (size_t)dc->ym;
  size_t n = (size_t)B * (size_t)C * lb->tile;
  PIRF_ALLOC(lb->x, n, "the noisy training inputs");
  PIRF_ALLOC(lb->D, n, "the denoiser outputs");
  PIRF_ALLOC(lb->dD, n, "the loss cotangent");
  PIRF_ALLOC(lb->sigma, B, "noise levels");
  PIRF_ALLOC(lb->weight, B, "loss weights");
  return 0;
}

int pirf_edm_loss_buf_pg(pirf_edm_loss_buf *lb, pirf_physics *ph, double cond_dropout) {
  PIRF_ALLOC(lb->pg_dx, (size_t)lb->B * lb->C * lb->tile, "the physics-gradient inputs");
  lb->pg_ph = ph;
  lb->pg_cond_dropout = cond_dropout;
  return 0;
}

int pirf_edm_pg_with_gradient(uint32_t seed, uint32_t step, double cond_dropout) {
  /* the reference drops the condition when rand < cond_dropout */
  return !(pirf_rng_uniform(seed, PIRF_STREAM_PG_COND, step, 0, 0, 0) < cond_dropout);
}

/* dx = d||R(x_t)|| / dx_t over the loss call's samples of every data group: each group's norm and
 * gradient, rescaled by ||R||_group / ||R||_all (d||R||/dx = J^T R / ||R||). */
static int physics_gradient(pirf_edm_loss_buf *lb, const pirf_decomp *dc, int B) {
  const size_t n = (size_t)B * lb->C * lb->tile;
  memset(lb->pg_dx, 0, n * sizeof *lb->pg_dx);
  double Lg;
  PIRF_TRY(pirf_residual_norm(lb->pg_ph, B, lb->x, &Lg, lb->pg_dx, 1.0));
  double s2 = Lg * Lg; /* the same on every rank of the group: sum it over the groups */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &s2, 1, MPI_DOUBLE, MPI_SUM, dc->data));
  const double f = s2 > 0 ? Lg / sqrt(s2) : 0.0;
  for (size_t k = 0; k < n; k++) lb->pg_dx[k] = (float)(f * lb->pg_dx[k]);
  return 0;
}

int pirf_edm_loss_buf_augment(pirf_edm_loss_buf *lb, const pirf_decomp *dc,
                              const pirf_augment_opts *o) {
  lb->augment = 1; /* before the allocations, so that destroy frees a partial set */
  PIRF_TRY(pirf_augment_buf_create(&lb->ab, o, dc, lb->C));
  PIRF_ALLOC(lb->ya, (size_t)lb->B * lb->C * lb->tile, "the augmented training samples");
  PIRF_ALLOC(lb->labels, (size_t)lb->B * PIRF_AUGMENT_DIM, "the augmentation labels");
  return 0;
}

void pirf_edm_loss_buf_destroy(pirf_edm_loss_buf *lb) {
  if (lb->augment) pirf_augment_buf_destroy(&lb->ab);
  free(lb->ya);
  free(lb->labels);
  free(lb->pg_dx);
  free(lb->x);
  free(lb->D);
  free(lb->dD);
  free(lb->sigma);
  free(lb->weight);
  memset(lb, 0, sizeof *lb);
}

double pirf_edm_sigma(uint32_t seed, uint32_t step, uint32_t slot) {
  return exp(PIRF_EDM_P_MEAN +
             PIRF_EDM_P_STD * pirf_rng_normal(seed, PIRF_STREAM_SIGMA, step, slot, 0, 0));
}

double pirf_edm_loss_weight(double sigma, double sigma_data) {
  return (sigma * sigma + sigma_data * sigma_data) / ((sigma * sigma_data) * (sigma * sigma_data));
}

int pirf_edm_loss(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                  pirf_edm_loss_buf *lb, const pirf_decomp *dc, const float *params,
                  const float *y, int B, long slot0, long batch, uint32_t seed, uint32_t step,
                  const pirf_unet_dropout *drop, float *dparams, int pfirst, int pend,
                  double *loss) {
  PIRF_CHECK(B <= lb->B, "the loss buffers hold %d samples, asked for %d", lb->B, B);
  PIRF_CHECK(!dparams || tape, "a gradient needs a tape");
  PIRF_CHECK(!lb->augment || net->cfg.augment_dim == PIRF_AUGMENT_DIM,
             "augmentation needs a network with %d augmentation labels (model.augment_dim), not %d",
             PIRF_AUGMENT_DIM, net->cfg.augment_dim);
  if (lb->augment) { /* the targets are the augmented samples from here on */
    PIRF_TRY(pirf_augment_tiles(&lb->ab, dc, seed, step, slot0, B, y, lb->ya, lb->labels));
    y = lb->ya;
  }
  const int C = lb->C;
  const size_t tile = lb->tile;
  for (int b = 0; b < B; b++) {
    const uint32_t slot = (uint32_t)(slot0 + b);
    const double sigma = pirf_edm_sigma(seed, step, slot);
    lb->sigma[b] = sigma;
    lb->weight[b] = pirf_edm_loss_weight(sigma, PIRF_SIGMA_DATA);
    for (int c = 0; c < C; c++) {
      const float *yc = y + ((size_t)b * C + c) * tile;
      float *xc = lb->x + ((size_t)b * C + c) * tile;
      for (int i = 0; i < dc->ym; i++)
        for (int j = 0; j < dc->xm; j++) {
          uint32_t pixel = (uint32_t)((dc->ys + i) * dc->W + dc->xs + j);
          double n = sigma * pirf_rng_normal(seed, PIRF_STREAM_NOISE, step, slot, (uint32_t)c, pixel);
          xc[(size_t)i * dc->xm + j] = (float)(yc[(size_t)i * dc->xm + j] + n);
        }
    }
  }
  lb->pg_with = lb->pg_ph && pirf_edm_pg_with_gradient(seed, step, lb->pg_cond_dropout);
  if (lb->pg_with) PIRF_TRY(physics_gradient(lb, dc, B));
  PIRF_TRY(pirf_edm_denoise_with(net, w, tape, params, lb->x, lb->sigma, B, drop,
                                 lb->pg_with ? lb->pg_dx : NULL, lb->augment ? lb->labels : NULL,
                                 lb->D));
  /* L = sum_b weight_b / batch * sum (D - y)^2, so dL/dD = 2 weight_b / batch * (D - y). */
  double sum = 0;
  for (int b = 0; b < B; b++) {
    const double wb = lb->weight[b] / (double)batch;
    const size_t off = (size_t)b * C * tile, n = (size_t)C * tile;
    double sb = 0;
    for (size_t k = 0; k < n; k++) {
      const double r = (double)lb->D[off + k] - (double)y[off + k];
      sb += r * r;
      lb->dD[off + k] = (float)(2.0 * wb * r);
    }
    sum += wb * sb;
  }
  *loss = sum;
  if (dparams)
    PIRF_TRY(pirf_edm_denoise_backward(net, w, tape, params, lb->dD, dparams, pfirst, pend, NULL));
  return 0;
}
