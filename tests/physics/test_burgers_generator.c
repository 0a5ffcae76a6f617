/* What the Burgers generator stores (one rank, whole samples):
 *
 *  burgers_first_row_is_the_grf1_series (R = 32):
 *      row 0 * 1.415 equals sum_k lambda_k (xi_k cos 2 pi k x + eta_k sin 2 pi k x) at x = j/R,
 *      evaluated directly here from the same Philox draws, lambda_k = sqrt(2) sigma ((2 pi k)^2 +
 *      tau^2)^(-gamma/2), k = 1..grf_modes (10 here, so that no mode aliases on the 32 stored columns).
 *  burgers_rows_are_at_t_equal_n_over_R_minus_1:
 *      with a tiny amplitude (linear regime) and nu = 0.1, Fourier mode k of row n is mode k of
 *      row 0 times exp(-nu (2 pi k)^2 n / (R - 1)): rows are the time levels linspace(0, 1, R).
 *  burgers_rows_conserve_the_mean_and_dissipate_energy (R = 128):
 *      at the default (nonlinear) settings every row has zero mean and the energy sum u^2 never
 *      grows from one row to the next. (At R = 32 the stored columns alias mode 32 of the
 *      solution onto the mean, ~1e-4; at R = 128 the aliased modes are negligible.) */
#include "physics_harness.h"
#include "testing.h"

#include <complex.h>

enum { NS = 3 };

static int make(test_physics *t, int R, const char *sigma, const char *nu, int modes) {
  char name[] = "pde.name=burgers", seed[] = "data.seed=3";
  char r[64], s[64], n[64], m[64];
  snprintf(r, sizeof r, "grid.resolution=%d", R);
  snprintf(s, sizeof s, "pde.burgers.grf_sigma=%s", sigma);
  snprintf(n, sizeof n, "pde.burgers.nu=%s", nu);
  snprintf(m, sizeof m, "pde.burgers.grf_modes=%d", modes);
  char *over[] = {name, seed, r, s, n, m};
  return test_physics_setup(t, MPI_COMM_WORLD, 1, 1, 6, over);
}

static double complex mode(const float *row, int R, int k) {
  double complex m = 0;
  for (int j = 0; j < R; j++) m += row[j] * cexp(-2 * I * M_PI * k * j / R);
  return m / R;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  float *x = malloc(sizeof(float) * NS * 128 * 128);

  /* ---- linear regime: the series and the time levels ---------------------------------------- */
  test_physics t;
  int R = 32, modes = 10;
  const double sigma = 1e-4, nu = 0.1, gamma = 2.5, tau = 7;
  if (make(&t, R, "1e-4", "0.1", modes)) MPI_Abort(MPI_COMM_WORLD, 1);
  TEST_CHECK(!t.ph->pde->generate(t.ph, 5, NS, x), "generate returned an error");
  double worst_series = 0, worst_decay = 0, amp = 0;
  for (int n = 0; n < NS; n++) {
    const float *s = x + (size_t)n * R * R;
    for (int j = 0; j < R; j++) {
      double u = 0;
      for (int k = 1; k <= modes; k++) {
        double kk = 2 * M_PI * k, lam = sqrt(2.0) * sigma * pow(kk * kk + tau * tau, -gamma / 2);
        double xi = pirf_rng_normal(3, PIRF_STREAM_GRF, 0, (uint32_t)(5 + n), 0, (uint32_t)k);
        double eta = pirf_rng_normal(3, PIRF_STREAM_GRF, 0, (uint32_t)(5 + n), 1, (uint32_t)k);
        u += lam * (xi * cos(kk * j / R) + eta * sin(kk * j / R));
      }
      amp = fmax(amp, fabs(u));
      worst_series = fmax(worst_series, fabs(s[j] * 1.415 - u));
    }
    for (int row = 1; row < R; row++)
      for (int k = 1; k <= 3; k++) {
        double complex m0 = mode(s, R, k), mn = mode(s + row * R, R, k);
        double decay = exp(-nu * pow(2 * M_PI * k, 2) * row / (R - 1.0));
        worst_decay = fmax(worst_decay, cabs(mn - m0 * decay) / cabs(m0));
      }
  }
  printf("series: max |u0 - direct sum| = %.3g (max |u0| %.3g); linear decay: worst relative error "
         "%.3g\n", worst_series, amp, worst_decay);
  TEST_CHECK(worst_series <= 1e-6 * amp, "burgers_first_row_is_the_grf1_series: max diff %.3g vs "
             "max |u0| %.3g", worst_series, amp);
  TEST_CHECK(worst_decay <= 1e-4, "burgers_rows_are_at_t_equal_n_over_R_minus_1: worst relative "
             "mode error %.3g", worst_decay);
  test_physics_teardown(&t);

  /* ---- default settings: mean and energy ---------------------------------------------------- */
  R = 128;
  if (make(&t, R, "49", "0.01", 64)) MPI_Abort(MPI_COMM_WORLD, 1);
  TEST_CHECK(!t.ph->pde->generate(t.ph, 0, NS, x), "generate returned an error");
  double worst_mean = 0, worst_growth = -INFINITY;
  for (int n = 0; n < NS; n++) {
    double prev = INFINITY;
    for (int row = 0; row < R; row++) {
      const float *s = x + ((size_t)n * R + row) * R;
      double mean = 0, energy = 0;
      for (int j = 0; j < R; j++) {
        mean += s[j];
        energy += (double)s[j] * s[j];
      }
      worst_mean = fmax(worst_mean, fabs(mean / R));
      if (row) worst_growth = fmax(worst_growth, energy - prev);
      prev = energy;
    }
  }
  printf("default settings: worst |row mean| %.3g, largest energy change between rows %.3g\n",
         worst_mean, worst_growth);
  TEST_CHECK(worst_mean < 1e-6, "burgers_rows_conserve_the_mean_and_dissipate_energy: row mean %.3g",
             worst_mean);
  TEST_CHECK(worst_growth < 1e-6, "burgers_rows_conserve_the_mean_and_dissipate_energy: energy grew "
             "by %.3g", worst_growth);
  test_physics_teardown(&t);
  free(x);
  int rc = test_finish("burgers_generator");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
