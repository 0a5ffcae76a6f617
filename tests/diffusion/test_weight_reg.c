/* weight_regularization_gradient_matches_finite_difference: reg = lambda sum_p ||theta_p - ref_p||
 * over a range of tensors; its gradient equals central differences, tensors outside the range get
 * nothing, and the gradient is exactly zero where theta = ref (the first fine-tuning step). */
#include "pirf/weight_reg.h"
#include "pirf/rng.h"
#include "testing.h"

#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  pirf_param P[3] = {{"a.weight", 1, {5}, 0, 5}, {"b.weight", 2, {2, 3}, 5, 6}, {"c.bias", 1, {4}, 11, 4}};
  pirf_param_table t = {P, 3, 3, 15};
  float th[15], ref[15], g[15];
  for (int k = 0; k < 15; k++) {
    ref[k] = (float)pirf_rng_normal(1, PIRF_STREAM_TEST, 0, 0, 0, (uint32_t)k);
    th[k] = ref[k] + (float)(0.1 * pirf_rng_normal(1, PIRF_STREAM_TEST, 1, 0, 0, (uint32_t)k));
  }
  const double lambda = 0.7;
  memset(g, 0, sizeof g);
  double reg = pirf_weight_reg(&t, 1, 3, th, ref, lambda, g, 1.0);
  double expect = 0;
  for (int i = 1; i < 3; i++) {
    double s = 0;
    for (size_t k = P[i].offset; k < P[i].offset + P[i].count; k++) s += ((double)th[k] - ref[k]) * ((double)th[k] - ref[k]);
    expect += lambda * sqrt(s);
  }
  TEST_CLOSE(reg, expect, 1e-12, 0, "reg value");
  for (int k = 0; k < 15; k++) {
    float keep = th[k];
    th[k] = keep + 1e-3f;
    double p = pirf_weight_reg(&t, 1, 3, th, ref, lambda, NULL, 1);
    th[k] = keep - 1e-3f;
    double m = pirf_weight_reg(&t, 1, 3, th, ref, lambda, NULL, 1);
    th[k] = keep;
    double fd = (p - m) / ((double)(keep + 1e-3f) - (double)(keep - 1e-3f));
    TEST_CLOSE(g[k], fd, 2e-3, 1e-5, "weight_regularization_gradient_matches_finite_difference");
  }
  for (int k = 0; k < 5; k++) TEST_CHECK(g[k] == 0, "tensor outside the range got a gradient");
  memset(g, 0, sizeof g);
  TEST_CHECK(pirf_weight_reg(&t, 0, 3, ref, ref, lambda, g, 1) == 0, "zero at theta = ref");
  int nz = 0;
  for (int k = 0; k < 15; k++) nz += g[k] != 0 || g[k] != g[k];
  TEST_CHECK(nz == 0, "gradient at theta = ref is exactly zero (no NaN)");
  int rc = test_finish("weight_regularization");
  MPI_Finalize();
  return rc;
}
