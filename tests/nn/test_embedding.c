/* Noise embedding (pirf/embedding.h):
 *
 *  embedding_matches_hand_computed_values: N = 8, t = 0.7 against values worked out by hand from
 *      freqs_j = 10000^(-j/3): out = [sin(t f_0..3), cos(t f_0..3)] (EDM's [cos, sin] swapped).
 *  embedding_endpoint_spans_1_to_1_over_max_positions: N = 128 (DDPM++), t = -1.3: the first
 *      frequency is 1 and, with endpoint, the last is exactly 1e-4; without endpoint the last is
 *      10000^(-63/64). Each sample uses its own t. */
#include "nn_testing.h"
#include "pirf/embedding.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  /* hand-computed (python math, double): sin then cos of t * 10000^(-j/3), j = 0..3, t = 0.7 */
  const double want8[8] = {6.442176872e-01, 3.248540547e-02, 1.508103711e-03, 6.999999994e-05,
                           7.648421873e-01, 9.994722099e-01, 9.999988628e-01, 9.999999976e-01};
  float t[2] = {0.7f, 0.7f}, out8[16];
  pirf_noise_embedding_forward(out8, t, 2, 8, 10000.0, 1);
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 8; i++)
      TEST_CLOSE(out8[b * 8 + i], want8[i], 1e-6, 1e-8, "embedding_matches_hand_computed_values");

  float t2[2] = {0.25f, -1.3f}, out[256];
  pirf_noise_embedding_forward(out, t2, 2, 128, 10000.0, 1);
  const float *e = out + 128; /* sample 1, t = -1.3 */
  TEST_CLOSE(e[0], -9.635581854e-01, 1e-6, 1e-8, "embedding_endpoint: sin(t * 1)");
  TEST_CLOSE(e[64], 2.674988286e-01, 1e-6, 1e-8, "embedding_endpoint: cos(t * 1)");
  TEST_CLOSE(e[63], -1.299999996e-04, 1e-6, 1e-12, "embedding_endpoint: sin(t * 1e-4)");
  TEST_CLOSE(e[127], 9.999999915e-01, 1e-6, 1e-8, "embedding_endpoint: cos(t * 1e-4)");
  TEST_CLOSE(out[1], sin(0.25 * pow(1e-4, 1.0 / 63.0)), 1e-6, 1e-8,
             "embedding_endpoint: sample 0 uses its own t");
  pirf_noise_embedding_forward(out, t2, 2, 128, 10000.0, 0);
  TEST_CLOSE(out[128 + 63], sin(-1.3 * pow(1e-4, 63.0 / 64.0)), 1e-6, 1e-12,
             "embedding_without_endpoint: last frequency 10000^(-63/64)");
  int rc = test_finish("embedding");
  MPI_Finalize();
  return rc;
}
