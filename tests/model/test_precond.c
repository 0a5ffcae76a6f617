/* edm_precond_matches_formula: pirf_edm_denoise computes D = c_skip x + c_out F(c_in x; c_noise)
 * with EDM's coefficients (sigma_data = 0.5, c_noise = ln(sigma)/4), per sample: the coefficients
 * at known sigma, and D against the formula applied to a separate pirf_unet_forward. */
#include "pirf/precond.h"
#include "pirf/unet_eval.h"
#include "model_harness.h"
#include "testing.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  pirf_edm_coeffs k = pirf_edm_coefficients(0.5, 0.5);
  TEST_CLOSE(k.c_skip, 0.5, 1e-15, 0, "c_skip(0.5)");
  TEST_CLOSE(k.c_out, 0.25 / sqrt(0.5), 1e-15, 0, "c_out(0.5)");
  TEST_CLOSE(k.c_in, 1 / sqrt(0.5), 1e-15, 0, "c_in(0.5)");
  TEST_CLOSE(k.c_noise, log(0.5) / 4, 1e-15, 0, "c_noise(0.5)");
  k = pirf_edm_coefficients(80.0, 0.5);
  TEST_CLOSE(k.c_skip, 0.25 / 6400.25, 1e-14, 0, "c_skip(80)");
  TEST_CLOSE(k.c_out, 40.0 / sqrt(6400.25), 1e-14, 0, "c_out(80)");

  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  pirf_unet_config uc = model_tiny_config(0.0);
  pirf_unet net;
  pirf_decomp dc;
  pirf_unet_work *w;
  if (pirf_unet_create(&uc, &net) || pirf_decomp_create(MPI_COMM_WORLD, 16, 16, np, 1, 2, &dc) ||
      pirf_unet_work_create(&net, &dc, 2, 0, &w))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level L0;
  pirf_level_init(&L0, &dc, 0);
  const size_t plane = 2 * (size_t)L0.xm * L0.ym, n = 2 * plane;
  float *params = model_alloc(net.table.total), *x = model_alloc(n), *D = model_alloc(n);
  float *xin = model_alloc(n), *F = model_alloc(n);
  model_random_params(&net, 3, params);
  model_fill_tile(&L0, 2, 0, 2, 1, x);
  double sigma[2] = {0.002, 7.0};
  TEST_CHECK(!pirf_edm_denoise(&net, w, NULL, params, x, sigma, 2, NULL, D), "denoise");
  float cn[2];
  for (int b = 0; b < 2; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], 0.5);
    cn[b] = (float)(log(sigma[b]) / 4);
    for (size_t i = 0; i < plane; i++) xin[b * plane + i] = (float)(c.c_in * x[b * plane + i]);
  }
  TEST_CHECK(!pirf_unet_forward(&net, w, NULL, params, xin, cn, NULL, 2, NULL, F), "F");
  double worst = 0;
  for (int b = 0; b < 2; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], 0.5);
    for (size_t i = 0; i < plane; i++) {
      double want = c.c_skip * x[b * plane + i] + c.c_out * F[b * plane + i];
      worst = fmax(worst, fabs(D[b * plane + i] - want) / (fabs(want) + 1e-6));
    }
  }
  TEST_CHECK(worst < 1e-6, "D differs from c_skip x + c_out F(c_in x) by %g (relative)", worst);
  free(params); free(x); free(D); free(xin); free(F);
  pirf_unet_work_destroy(&w);
  pirf_decomp_destroy(&dc);
  pirf_unet_destroy(&net);
  int rc = test_finish("edm_precond_matches_formula");
  MPI_Finalize();
  return rc;
}
