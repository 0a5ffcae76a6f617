/* Gaussian random fields by the cosine KL expansion, evaluated on tiles (see pirf/grf.h). */
#include "pirf/grf.h"

#include "pirf/check.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>

double pirf_grf_coef(int k1, int k2, double alpha, double tau) {
  return pow(tau, alpha - 1.0) * pow(M_PI * M_PI * ((double)k1 * k1 + (double)k2 * k2) + tau * tau,
                                     -alpha / 2.0);
}

/* basis[n][k] = w(k) cos(pi (2(n0+n)+1) k / 2s); the angle's integer part is reduced exactly. */
static void cosine_basis(int s, int n0, int n, double *basis) {
  for (int a = 0; a < n; a++)
    for (int k = 0; k < s; k++) {
      long m = ((long)(2 * (n0 + a) + 1) * k) % (4L * s);
      double w = k == 0 ? sqrt(1.0 / s) : sqrt(2.0 / s);
      basis[(size_t)a * s + k] = w * cos(M_PI * (double)m / (2.0 * s));
    }
}

int pirf_grf_tile(int s, double alpha, double tau, uint32_t seed, long sample, int field, int ys,
                  int ym, int xs, int xm, double *U) {
  double *Lt, *brow, *bcol, *T;
  /* Lt[k2][k1] = L(k1, k2): transposed so the row sums below run over contiguous memory. */
  PIRF_ALLOC(Lt, (size_t)s * s, "GRF coefficients");
  PIRF_ALLOC(brow, (size_t)ym * s, "GRF row basis");
  PIRF_ALLOC(bcol, (size_t)xm * s, "GRF column basis");
  PIRF_ALLOC(T, (size_t)ym * s, "GRF partial transform");
  for (int k1 = 0; k1 < s; k1++)
    for (int k2 = 0; k2 < s; k2++) {
      double xi = pirf_rng_normal(seed, PIRF_STREAM_GRF, 0, (uint32_t)sample, (uint32_t)field,
                                  (uint32_t)(k1 * s + k2));
      Lt[(size_t)k2 * s + k1] = (k1 == 0 && k2 == 0) ? 0.0 : s * pirf_grf_coef(k1, k2, alpha, tau) * xi;
    }
  cosine_basis(s, ys, ym, brow);
  cosine_basis(s, xs, xm, bcol);
  /* Scalar reductions in a fixed order (no vectorized reassociation): identical at any layout. */
  for (int i = 0; i < ym; i++)
    for (int k2 = 0; k2 < s; k2++) {
      double acc = 0.0;
      const double *b = brow + (size_t)i * s, *l = Lt + (size_t)k2 * s;
      for (int k1 = 0; k1 < s; k1++) acc += b[k1] * l[k1];
      T[(size_t)i * s + k2] = acc;
    }
  for (int i = 0; i < ym; i++)
    for (int j = 0; j < xm; j++) {
      double acc = 0.0;
      const double *t = T + (size_t)i * s, *b = bcol + (size_t)j * s;
      for (int k2 = 0; k2 < s; k2++) acc += t[k2] * b[k2];
      U[(size_t)i * xm + j] = acc;
    }
  free(Lt);
  free(brow);
  free(bcol);
  free(T);
  return 0;
}
