/* The coefficient field of the Darcy generator (pirf_darcy_grf, the deck's alpha and tau).
 *
 * darcy_grf_has_the_intended_covariance:
 *   projecting M sample fields on the orthonormal cosine modes (k1, k2) gives coefficients c with
 *   E c = 0 and Var c = (s coef(k1, k2))^2, coef = tau^(alpha-1) (pi^2 (k1^2+k2^2) + tau^2)^(-alpha/2).
 *   For Gaussian c, T = mean_n c_n^2 / Var is chi^2_M / M: mean 1, standard deviation sqrt(2/M).
 *   Each mode's T must be within 5 sd of 1, and T pooled over the K modes (chi^2_MK / MK) within
 *   5 sqrt(2/(MK)). Mode (0, 0) must be zero (L(0,0) = 0: the field has zero mean).
 * darcy_grf_test_rejects_wrong_tau_or_alpha:
 *   the same pooled statistic computed against tau * 1.25 or alpha + 0.25 is outside the band, so
 *   this test would catch a generator that ignored the deck (it also runs with non-default
 *   pde.darcy.alpha/tau passed as arguments).
 * darcy_generated_a_is_the_thresholded_grf:
 *   the a channel of generated samples is exactly the normalized a_high where the GRF >= 0 and
 *   a_low elsewhere, and u is positive (maximum principle: -div(a grad u) = 1 > 0, u = 0 on the
 *   boundary).
 *
 * argv: deck overrides (key=value). Run at 1, 2 and 4 ranks. */
#include "physics_harness.h"
#include "testing.h"

#include "pirf/darcy.h"
#include "pirf/grf.h"

#include <stdio.h>
#include <string.h>

enum { M = 1000, K = 8 };
static const int modes[K][2] = {{1, 0}, {0, 1}, {1, 1}, {2, 3}, {5, 1}, {8, 8}, {12, 3}, {20, 17}};

static double basis(int s, int n, int k) {
  return (k == 0 ? sqrt(1.0 / s) : sqrt(2.0 / s)) * cos(M_PI * (2.0 * n + 1.0) * k / (2.0 * s));
}

/* Pooled chi^2 / (M K) of the coefficients c[n][m] against the variances of (alpha, tau). */
static double pooled(int s, const double (*c)[K + 1], double alpha, double tau) {
  double T = 0;
  for (int n = 0; n < M; n++)
    for (int m = 0; m < K; m++) {
      double sd = s * pirf_grf_coef(modes[m][0], modes[m][1], alpha, tau);
      T += c[n][m] * c[n][m] / (sd * sd);
    }
  return T / ((double)M * K);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  char *over[16] = {"pde.name=darcy", "grid.resolution=32", "data.seed=7"};
  int nover = 3;
  for (int i = 1; i < argc && nover < 16; i++) over[nover++] = argv[i];
  test_physics t;
  if (test_physics_setup(&t, MPI_COMM_WORLD, px, py, nover, over)) MPI_Abort(MPI_COMM_WORLD, 1);
  const pirf_decomp *dc = &t.dc;
  const int s = dc->W;
  const double alpha = pirf_cfg_real(t.cfg, "pde.darcy.alpha"), tau = pirf_cfg_real(t.cfg, "pde.darcy.tau");
  size_t n = (size_t)dc->xm * dc->ym;
  double *U = calloc(n, sizeof *U);
  double(*c)[K + 1] = calloc(M, sizeof *c); /* K modes, then mode (0, 0) */

  /* ---- projections: c(k1, k2) = sum_ij U(i, j) b_k1(i) b_k2(j), rows i pair with k1 ---------- */
  double *brow = calloc((size_t)(K + 1) * dc->ym, sizeof *brow),
         *bcol = calloc((size_t)(K + 1) * dc->xm, sizeof *bcol);
  for (int m = 0; m <= K; m++) {
    int k1 = m < K ? modes[m][0] : 0, k2 = m < K ? modes[m][1] : 0;
    for (int j = 0; j < dc->ym; j++) brow[m * dc->ym + j] = basis(s, dc->ys + j, k1);
    for (int i = 0; i < dc->xm; i++) bcol[m * dc->xm + i] = basis(s, dc->xs + i, k2);
  }
  int grf_err = 0;
  for (int smp = 0; smp < M; smp++) {
    grf_err |= pirf_darcy_grf(t.ph, smp, U);
    for (int m = 0; m <= K; m++) {
      double acc = 0;
      for (int j = 0; j < dc->ym; j++)
        for (int i = 0; i < dc->xm; i++)
          acc += U[(size_t)j * dc->xm + i] * brow[m * dc->ym + j] * bcol[m * dc->xm + i];
      c[smp][m] = acc;
    }
  }
  free(brow);
  free(bcol);
  MPI_Allreduce(MPI_IN_PLACE, c, M * (K + 1), MPI_DOUBLE, MPI_SUM, dc->space);
  TEST_CHECK(!grf_err, "pirf_darcy_grf failed");

  const double band1 = 5 * sqrt(2.0 / M), bandK = 5 * sqrt(2.0 / ((double)M * K));
  double c00 = 0;
  for (int m = 0; m < K; m++) {
    double sd = s * pirf_grf_coef(modes[m][0], modes[m][1], alpha, tau), T = 0, mean = 0;
    for (int smp = 0; smp < M; smp++) {
      T += c[smp][m] * c[smp][m] / (sd * sd) / M;
      mean += c[smp][m] / sd / M;
    }
    if (rank == 0)
      printf("mode (%2d,%2d): sd %.4e, var ratio %.4f, mean/sd %+.4f\n", modes[m][0], modes[m][1], sd,
             T, mean);
    TEST_CHECK(fabs(T - 1) <= band1, "darcy_grf_has_the_intended_covariance: mode (%d,%d) ratio %.4f",
               modes[m][0], modes[m][1], T);
    TEST_CHECK(fabs(mean) <= 5 / sqrt((double)M),
               "darcy_grf_has_the_intended_covariance: mode (%d,%d) mean/sd %.4f", modes[m][0],
               modes[m][1], mean);
  }
  for (int smp = 0; smp < M; smp++) c00 = fmax(c00, fabs(c[smp][K]));
  TEST_CHECK(c00 < 1e-10 * s, "darcy_grf_has_the_intended_covariance: mode (0,0) = %.3e", c00);

  double T = pooled(s, c, alpha, tau), Ttau = pooled(s, c, alpha, 1.25 * tau),
         Talpha = pooled(s, c, alpha + 0.25, tau);
  if (rank == 0)
    printf("alpha %g tau %g: pooled ratio %.4f (band +-%.4f); with tau*1.25: %.4f; alpha+0.25: %.4f\n",
           alpha, tau, T, bandK, Ttau, Talpha);
  TEST_CHECK(fabs(T - 1) <= bandK, "darcy_grf_has_the_intended_covariance: pooled %.4f", T);
  TEST_CHECK(fabs(Ttau - 1) > bandK, "darcy_grf_test_rejects_wrong_tau_or_alpha: tau*1.25 gives %.4f",
             Ttau);
  TEST_CHECK(fabs(Talpha - 1) > bandK,
             "darcy_grf_test_rejects_wrong_tau_or_alpha: alpha+0.25 gives %.4f", Talpha);

  /* ---- the generator thresholds exactly this field ----------------------------------------- */
  enum { G = 3 };
  const long first = 5;
  float *tiles = calloc((size_t)G * 2 * n, sizeof *tiles);
  TEST_CHECK(!t.ph->pde->generate(t.ph, first, G, tiles), "generate failed");
  const double ah = pirf_cfg_real(t.cfg, "pde.darcy.a_high"), al = pirf_cfg_real(t.cfg, "pde.darcy.a_low");
  const float xh = (float)(0.2 * ah - 1.5), xl = (float)(0.2 * al - 1.5);
  long wrong = 0, nonpositive = 0;
  for (int g = 0; g < G; g++) {
    TEST_CHECK(!pirf_darcy_grf(t.ph, first + g, U), "pirf_darcy_grf failed");
    const float *x = tiles + (size_t)g * 2 * n;
    for (size_t k = 0; k < n; k++) {
      wrong += x[k] != (U[k] >= 0 ? xh : xl);
      nonpositive += (x[n + k] + 0.9) / 115 <= 0;
    }
  }
  long cnt[2] = {wrong, nonpositive};
  MPI_Allreduce(MPI_IN_PLACE, cnt, 2, MPI_LONG, MPI_SUM, dc->space);
  TEST_CHECK(cnt[0] == 0, "darcy_generated_a_is_the_thresholded_grf: %ld pixels differ", cnt[0]);
  TEST_CHECK(cnt[1] == 0, "darcy_generated_a_is_the_thresholded_grf: %ld pixels with u <= 0", cnt[1]);

  free(tiles);
  free(U);
  free(c);
  test_physics_teardown(&t);
  int rc = test_finish("darcy_grf_has_the_intended_covariance");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
