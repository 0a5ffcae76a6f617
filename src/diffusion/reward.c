/* The physics reward (mean squared residual) and the residual norm used by guidance, with their
 * gradients through the PDE registry's residual adjoint (see pirf/reward.h). */
#include "pirf/reward.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <math.h>
#include <stdlib.h>

/* R for every sample of the batch into Rb [B][Cr][ym][xm]; returns the global sums of R^2, |R|. */
static int batch_residual(pirf_physics *ph, int B, const float *x, float *Rb, double sums[2]) {
  const pirf_decomp *dc = ph->dc;
  size_t in = (size_t)ph->pde->channels * dc->xm * dc->ym;
  size_t out = (size_t)ph->pde->residual_channels * dc->xm * dc->ym;
  sums[0] = sums[1] = 0;
  pirf_prof_begin(PIRF_EV_RESIDUAL);
  for (int b = 0; b < B; b++) {
    PIRF_TRY(ph->pde->residual(ph, x + b * in, Rb + b * out));
    for (size_t k = 0; k < out; k++) {
      double r = Rb[b * out + k];
      sums[0] += r * r;
      sums[1] += fabs(r);
    }
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, dc->space));
  pirf_prof_end(PIRF_EV_RESIDUAL, 0); /* stencils: memory-bound, flops not counted */
  return 0;
}

static double npoints(const pirf_physics *ph, int B) {
  return (double)B * ph->pde->residual_channels * ph->dc->H * ph->dc->W;
}

/* xbar += sum_b J_b^T (factor * R_b) */
static int batch_adjoint(pirf_physics *ph, int B, const float *x, float *Rb, double factor,
                         float *xbar) {
  const pirf_decomp *dc = ph->dc;
  size_t in = (size_t)ph->pde->channels * dc->xm * dc->ym;
  size_t out = (size_t)ph->pde->residual_channels * dc->xm * dc->ym;
  pirf_prof_begin(PIRF_EV_RESIDUAL_ADJOINT);
  for (size_t k = 0; k < (size_t)B * out; k++) Rb[k] = (float)(factor * Rb[k]);
  for (int b = 0; b < B; b++)
    PIRF_TRY(ph->pde->residual_adjoint(ph, x + b * in, Rb + b * out, xbar + b * in));
  pirf_prof_end(PIRF_EV_RESIDUAL_ADJOINT, 0);
  return 0;
}

static int with_residual(pirf_physics *ph, int B, float **Rb) {
  size_t out = (size_t)ph->pde->residual_channels * ph->dc->xm * ph->dc->ym;
  PIRF_ALLOC(*Rb, (size_t)B * out, "residual of a batch");
  return 0;
}

int pirf_reward_mse(pirf_physics *ph, int B, const float *x, double *loss, float *xbar,
                    double scale) {
  float *Rb;
  PIRF_TRY(with_residual(ph, B, &Rb));
  double s[2];
  int err = batch_residual(ph, B, x, Rb, s);
  if (!err) {
    *loss = s[0] / npoints(ph, B);
    /* d mean(R^2) / dR = 2 R / npoints */
    if (xbar) err = batch_adjoint(ph, B, x, Rb, scale * 2.0 / npoints(ph, B), xbar);
  }
  free(Rb);
  return err;
}

int pirf_residual_stats(pirf_physics *ph, int B, const float *x, double *mse, double *mae) {
  float *Rb;
  PIRF_TRY(with_residual(ph, B, &Rb));
  double s[2];
  int err = batch_residual(ph, B, x, Rb, s);
  free(Rb);
  PIRF_TRY(err);
  *mse = s[0] / npoints(ph, B);
  *mae = s[1] / npoints(ph, B);
  return 0;
}

int pirf_residual_mse_samples(pirf_physics *ph, int B, const float *x, double *mse) {
  const pirf_decomp *dc = ph->dc;
  const size_t in = (size_t)ph->pde->channels * dc->xm * dc->ym;
  const size_t out = (size_t)ph->pde->residual_channels * dc->xm * dc->ym;
  float *Rb;
  PIRF_TRY(with_residual(ph, 1, &Rb));
  int err = 0;
  pirf_prof_begin(PIRF_EV_RESIDUAL);
  for (int b = 0; b < B && !err; b++) {
    err = ph->pde->residual(ph, x + b * in, Rb);
    double s2 = 0;
    for (size_t k = 0; k < out && !err; k++) s2 += (double)Rb[k] * Rb[k];
    mse[b] = s2;
  }
  free(Rb);
  PIRF_TRY(err);
  /* one reduction for the batch: the sums of R^2 over this group's tiles */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, mse, B, MPI_DOUBLE, MPI_SUM, dc->space));
  pirf_prof_end(PIRF_EV_RESIDUAL, 0);
  for (int b = 0; b < B; b++) mse[b] /= npoints(ph, 1);
  return 0;
}

int pirf_residual_norm(pirf_physics *ph, int B, const float *x, double *norm, float *xbar,
                       double scale) {
  float *Rb;
  PIRF_TRY(with_residual(ph, B, &Rb));
  double s[2];
  int err = batch_residual(ph, B, x, Rb, s);
  if (!err) {
    *norm = sqrt(s[0]);
    /* d ||R|| / dR = R / ||R||; zero at R = 0 (as the reference's autograd would give NaN, masked) */
    if (xbar && *norm > 0) err = batch_adjoint(ph, B, x, Rb, scale / *norm, xbar);
  }
  free(Rb);
  return err;
}
