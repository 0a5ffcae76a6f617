/* fidelity_measures_known_differences: with generated samples equal to the reference the errors
 * are zero; shifting channel 0 by delta gives mean_error = delta / rms(std_ref); scaling the
 * deviations from the mean by s gives std_error = |s - 1|; a coefficient exactly at its two levels
 * has offset 0 and one halfway between has offset 1/2. The sliced Wasserstein distance is 0 for
 * identical sets, and for the shift it is the shift of every projection, delta / s_0 times
 * sqrt(mean_j (sum_k theta_j0k)^2 / |theta_j|^2) with the directions of pirf/fidelity.h; its
 * bootstrap standard error is positive. Same numbers at every rank layout (1 rank; 2 tiles;
 * 2x2 tiles; 2 data groups of 2 tiles). */
#include "pirf/fidelity.h"
#include "pirf/rng.h"
#include "testing.h"

#include <math.h>
#include <petscsys.h>
#include <stdlib.h>

enum { NPROJ = 16 };

/* sqrt(mean_j (sum over channel 0's pixels of theta_j)^2 / |theta_j|^2) on the whole 8x8 grid */
static double shift_factor(void) {
  double acc = 0;
  for (int j = 0; j < NPROJ; j++) {
    double s0 = 0, n2 = 0;
    for (int c = 0; c < 2; c++)
      for (uint32_t pix = 0; pix < 64; pix++) {
        const double z = (float)pirf_rng_normal(0, PIRF_STREAM_SLICE, 0, (uint32_t)j, (uint32_t)c, pix);
        n2 += z * z;
        if (c == 0) s0 += z;
      }
    acc += s0 * s0 / n2;
  }
  return sqrt(acc / NPROJ);
}

static pirf_pde fake = {"fake", 2, 1, "a,u", "cell"};

static void make(const pirf_decomp *dc, long first, int B, double shift, double stretch, float *x,
                 int level_mid) {
  size_t plane = (size_t)dc->xm * dc->ym;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < 2; c++)
      for (int j = 0; j < dc->ym; j++)
        for (int i = 0; i < dc->xm; i++) {
          uint32_t pix = (uint32_t)((dc->ys + j) * dc->W + dc->xs + i);
          double z = pirf_rng_normal(9, PIRF_STREAM_TEST, 0, (uint32_t)(first + b), (uint32_t)c, pix);
          double mean = 0.1 * (dc->xs + i);
          double v = mean + stretch * (1 + 0.01 * (dc->ys + j)) * z + (c == 0 ? shift : 0);
          if (c == 1) v = level_mid ? 7.5 : (z > 0 ? 12 : 3);
          x[((size_t)b * 2 + c) * plane + (size_t)j * dc->xm + i] = (float)v;
        }
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px = size >= 2 ? 2 : 1, py = size == 4 && argc > 1 ? 2 : 1; /* argv[1]: use 2x2 tiles */
  pirf_decomp dc;
  pirf_decomp_create(MPI_COMM_WORLD, 8, 8, px, py, 1, &dc);
  pirf_physics ph = {0};
  fake.levels_channel = 1;
  fake.levels[0] = 3;
  fake.levels[1] = 12;
  ph.pde = &fake;
  ph.dc = &dc;
  for (int c = 0; c < 2; c++) ph.norm_scale[c] = 1, ph.norm_shift[c] = 0;
  const long N = 400;
  long first, count;
  pirf_decomp_samples(&dc, N, &first, &count);
  float *g = malloc(sizeof(float) * count * 2 * dc.xm * dc.ym), *r = malloc(sizeof(float) * count * 2 * dc.xm * dc.ym);
  double cases[3][2] = {{0, 1}, {0.25, 1}, {0, 1.5}};
  for (int t = 0; t < 3; t++) {
    pirf_fidelity f;
    pirf_fidelity_init(&f, &ph, NPROJ);
    make(&dc, first, (int)count, 0, 1, r, 0);
    make(&dc, first, (int)count, cases[t][0], cases[t][1], g, t == 2);
    TEST_CHECK(!pirf_fidelity_add(&f, 0, (int)count, g) && !pirf_fidelity_add(&f, 1, (int)count, r),
               "add");
    pirf_fidelity_result res;
    TEST_CHECK(!pirf_fidelity_finish(&f, &res), "finish");
    /* rms over pixels of the reference std: std of row j is (1 + 0.01 j), sampled with N draws */
    if (t == 0) {
      TEST_CHECK(res.mean_error[0] == 0 && res.std_error[0] == 0, "identical sets: %g %g",
                 res.mean_error[0], res.std_error[0]);
      TEST_CLOSE(res.level_offset, 0, 0, 1e-12, "coefficient at its levels");
      TEST_CHECK(res.sliced_w2 == 0, "identical sets: sliced W2 %g", res.sliced_w2);
    } else if (t == 1) {
      double rms = 0;
      for (int j = 0; j < 8; j++) rms += (1 + 0.01 * j) * (1 + 0.01 * j) / 8;
      TEST_CLOSE(res.mean_error[0], 0.25 / sqrt(rms), 0.1, 0, "shift shows as mean error");
      TEST_CLOSE(res.std_error[0], 0, 0, 1e-5, "shift leaves the std alone");
      TEST_CLOSE(res.sliced_w2, res.mean_error[0] * shift_factor(), 1e-5, 0,
                 "shift shows as the sliced distance of a shift");
      TEST_CHECK(res.sliced_w2_se > 0 && res.sliced_w2_se < res.sliced_w2,
                 "bootstrap standard error %g of %g", res.sliced_w2_se, res.sliced_w2);
    } else {
      TEST_CLOSE(res.std_error[0], 0.5, 1e-5, 0, "stretch shows as std error");
      TEST_CLOSE(res.level_offset, 0.5, 1e-12, 0, "coefficient halfway between its levels");
      TEST_CHECK(res.sliced_w2 > 0, "stretch shows in the sliced distance");
    }
    if (dc.world_rank == 0)
      printf("case %d: mean_error %.6f std_error %.6f level_offset %.6f sliced_w2 %.8f ± %.6f\n",
             t, res.mean_error[0], res.std_error[0], res.level_offset, res.sliced_w2,
             res.sliced_w2_se);
    pirf_fidelity_free(&f);
  }
  free(g);
  free(r);
  pirf_decomp_destroy(&dc);
  int rc = test_finish("fidelity_measures_known_differences");
  PetscFinalize();
  return rc;
}
