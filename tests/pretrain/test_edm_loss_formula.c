/* edm_loss_matches_formula_and_directional_derivative (tiny SongUNet, one rank, dropout off):
 *   - the loss equals sum_b weight(sigma_b) / batch * ||D(y_b + n_b; sigma_b) - y_b||^2 rebuilt here
 *     from the documented keys (sigma = exp(-1.2 + 1.2 * normal(seed, SIGMA, step, slot)), noise =
 *     sigma * normal(seed, NOISE, step, slot, channel, pixel)) and the weight
 *     (sigma^2 + 0.25) / (0.5 sigma)^2 computed by hand for one sigma;
 *   - its parameter gradient agrees with a fourth-order central difference of the loss along a
 *     random direction of all parameters (the noise is the same at every evaluation). */
#include "pirf/check.h"
#include "pirf/edm_loss.h"
#include "model/model_harness.h"
#include "testing.h"

#include <string.h>

enum { B = 3, BATCH = 5, SLOT0 = 1 };

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  pirf_unet_config uc = model_tiny_config(0.0);
  pirf_unet net;
  pirf_decomp dc;
  if (pirf_unet_create(&uc, &net) || pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &dc))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level L0;
  pirf_level_init(&L0, &dc, 0);
  const size_t P = net.table.total, nx = (size_t)B * 2 * 256;
  float *params = model_alloc(P), *g = model_alloc(P), *pp = model_alloc(P), *y = model_alloc(nx);
  float *x = model_alloc(nx), *D = model_alloc(nx);
  model_random_params(&net, 3, params);
  model_fill_tile(&L0, B, 0, 2, 7, y);
  pirf_unet_work *w;
  pirf_unet_tape *tape;
  pirf_edm_loss_buf lb;
  if (pirf_unet_work_create(&net, &dc, B, 1, &w) || pirf_unet_tape_create(&net, &dc, B, &tape) ||
      pirf_edm_loss_buf_create(&lb, &dc, B, 2))
    MPI_Abort(MPI_COMM_WORLD, 1);

  const uint32_t seed = 17, step = 4;
  double loss = 0;
  TEST_CHECK(!pirf_edm_loss(&net, w, tape, &lb, &dc, params, y, B, SLOT0, BATCH, seed, step, NULL, g,
                            0, net.table.n, &loss), "loss");

  /* the formula, rebuilt */
  double sigma[B], want = 0;
  for (int b = 0; b < B; b++) {
    double z = pirf_rng_normal(seed, PIRF_STREAM_SIGMA, step, SLOT0 + b, 0, 0);
    sigma[b] = exp(-1.2 + 1.2 * z);
    for (int c = 0; c < 2; c++)
      for (int k = 0; k < 256; k++)
        x[((size_t)b * 2 + c) * 256 + k] =
            (float)(y[((size_t)b * 2 + c) * 256 + k] +
                    sigma[b] * pirf_rng_normal(seed, PIRF_STREAM_NOISE, step, SLOT0 + b, c, k));
  }
  TEST_CHECK(!pirf_edm_denoise(&net, w, NULL, params, x, sigma, B, NULL, D), "denoise");
  for (int b = 0; b < B; b++) {
    double s = 0;
    for (size_t k = 0; k < 512; k++) s += pow((double)D[b * 512 + k] - y[b * 512 + k], 2);
    want += (sigma[b] * sigma[b] + 0.25) / pow(0.5 * sigma[b], 2) / BATCH * s;
  }
  TEST_CLOSE(loss, want, 1e-6, 0, "loss against the formula");
  TEST_CLOSE(pirf_edm_loss_weight(2.0, 0.5), 4.25, 1e-15, 0, "weight at sigma 2: (4 + 0.25) / 1");
  TEST_CLOSE(pirf_edm_sigma(seed, step, SLOT0), sigma[0], 1e-15, 0, "sigma of slot 1");

  /* directional derivative along a random direction of every parameter */
  double an = 0, f[4];
  const double h = 1e-3, steps[4] = {-2, -1, 1, 2};
  for (size_t e = 0; e < P; e++) an += (double)g[e] * model_rand(77, 0, 0, (uint32_t)e);
  for (int j = 0; j < 4; j++) {
    for (size_t e = 0; e < P; e++)
      pp[e] = (float)(params[e] + steps[j] * h * model_rand(77, 0, 0, (uint32_t)e));
    TEST_CHECK(!pirf_edm_loss(&net, w, NULL, &lb, &dc, pp, y, B, SLOT0, BATCH, seed, step, NULL,
                              NULL, 0, 0, &f[j]), "loss");
  }
  double fd = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
  TEST_CLOSE(an, fd, 1e-2, 1e-3, "dL/dtheta along a random direction");
  printf("loss %.9g (formula %.9g); directional derivative %.6g, finite difference %.6g\n", loss,
         want, an, fd);

  pirf_edm_loss_buf_destroy(&lb);
  pirf_unet_tape_destroy(&tape);
  pirf_unet_work_destroy(&w);
  free(params), free(g), free(pp), free(y), free(x), free(D);
  pirf_decomp_destroy(&dc);
  pirf_unet_destroy(&net);
  int rc = test_finish("edm_loss_matches_formula_and_directional_derivative");
  MPI_Finalize();
  return rc;
}
