/* model.nograd_precision: winograd. The 3x3 forward with pirf_conv2d_set_forward(WINOGRAD) on a
 * shape oneDNN has a Winograd kernel for (32 -> 32 channels, 16 x 16, B = 2, one rank):
 *
 *  conv3_winograd_forward_matches_direct_sum:
 *      y equals an independent double-precision direct sum (zero padding, bias) within 1e-4
 *      relative to the largest |y| (Winograd's transforms round more than the direct sum: a few
 *      times 1e-6 here);
 *  conv3_winograd_forward_is_not_the_direct_one:
 *      y differs from the float32 direct convolution's output in some entries (the setting took
 *      effect; oneDNN falls back to the direct kernel where it has no Winograd one, which this
 *      shape must not hit);
 *  and the weights' transformed copy follows a change of the weights (conv2d_dnnl.c keeps it while
 *  their fingerprint is unchanged): after changing one weight, y equals the direct sum again.
 * Exit 77 (ctest: skipped) on a CPU without AVX-512, where oneDNN has no Winograd kernel. */
#include "nn_harness.h"
#include "pirf/conv2d.h"
#include "testing.h"

#include <petscsys.h>

static const int B = 2, C = 32, H = 16, W = 16;

static void direct_sum(double *y, const float *x, const float *w, const float *b) {
  for (int s = 0; s < B; s++)
    for (int o = 0; o < C; o++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          double acc = b[o];
          for (int c = 0; c < C; c++)
            for (int u = 0; u < 3; u++)
              for (int v = 0; v < 3; v++) {
                const int ii = i + u - 1, jj = j + v - 1;
                if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
                acc += (double)w[((o * C + c) * 3 + u) * 3 + v] *
                       x[(((size_t)s * C + c) * H + ii) * W + jj];
              }
          y[(((size_t)s * C + o) * H + i) * W + j] = acc;
        }
}

/* The largest |y - ref| over the largest |ref|. */
static double rel_err(const float *y, const double *ref, size_t n) {
  double e = 0, m = 0;
  for (size_t k = 0; k < n; k++) {
    e = fmax(e, fabs(y[k] - ref[k]));
    m = fmax(m, fabs(ref[k]));
  }
  return e / m;
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  if (!pirf_conv2d_bf16_supported()) { /* the same ISA test: oneDNN's Winograd needs AVX-512 */
    printf("SKIP: oneDNN has no Winograd convolution on this CPU (it needs AVX-512)\n");
    PetscFinalize();
    return 77;
  }
  pirf_decomp dc;
  if (pirf_decomp_create(MPI_COMM_SELF, H, W, 1, 1, 1, &dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level L;
  pirf_level_init(&L, &dc, 0);
  pirf_conv2d_set_algo(PIRF_CONV3_DNNL);
  const size_t nx = (size_t)B * C * H * W, nw = (size_t)C * C * 9;
  float *x = nn_alloc(nx), *w = nn_alloc(nw), *b = nn_alloc(C), *y = nn_alloc(nx),
        *y32 = nn_alloc(nx), *scratch = nn_alloc(pirf_conv2d_scratch_floats(&L, B, C, C, 3));
  double *ref = calloc(nx, sizeof *ref);
  nn_fill_vec(nx, 1, x);
  nn_fill_vec(nw, 2, w);
  nn_fill_vec(C, 3, b);
  direct_sum(ref, x, w, b);

  int err = pirf_conv2d_forward(&L, y32, x, w, b, B, C, C, 3, scratch);
  pirf_conv2d_set_forward(PIRF_CONV_FWD_WINOGRAD);
  err = err || pirf_conv2d_forward(&L, y, x, w, b, B, C, C, 3, scratch);
  TEST_CHECK(!err, "the convolutions returned an error");
  const double e = rel_err(y, ref, nx), e32 = rel_err(y32, ref, nx);
  size_t differ = 0;
  for (size_t k = 0; k < nx; k++) differ += y[k] != y32[k];
  printf("winograd: max |y - direct sum| / max |y| = %.3g (float32 direct: %.3g); %zu of %zu "
         "outputs differ from the direct float32 ones\n", e, e32, differ, nx);
  TEST_CHECK(e <= 1e-4, "conv3_winograd_forward_matches_direct_sum: relative error %.3g", e);
  TEST_CHECK(differ > 0, "conv3_winograd_forward_is_not_the_direct_one: all %zu outputs equal", nx);

  /* one weight changed: the kept transformed weights must not be reused */
  w[5] += 0.5f;
  direct_sum(ref, x, w, b);
  err = pirf_conv2d_forward(&L, y, x, w, b, B, C, C, 3, scratch);
  const double e2 = rel_err(y, ref, nx);
  TEST_CHECK(!err && e2 <= 1e-4, "the Winograd forward after a weight change: relative error %.3g",
             e2);
  pirf_conv2d_set_forward(PIRF_CONV_FWD_FP32);

  free(x), free(w), free(b), free(y), free(y32), free(scratch), free(ref);
  pirf_decomp_destroy(&dc);
  const int rc = test_finish("conv3_winograd");
  PetscFinalize();
  return rc;
}
