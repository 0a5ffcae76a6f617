/* Linear layer forward/backward with OpenBLAS (see pirf/linear.h). Row-major throughout: x [B][in],
 * W [out][in], y [B][out]. */
#include "pirf/linear.h"

#include <cblas.h>

void pirf_linear_forward(float *y, const float *x, const float *W, const float *b, int B, int in,
                         int out) {
  /* y = x W^T: the PyTorch [out][in] layout is W^T for a row-major GEMM with no copy. */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0f, x, in, W, in, 0.0f, y,
              out);
  if (b)
    for (int i = 0; i < B; i++)
      for (int o = 0; o < out; o++) y[(size_t)i * out + o] += b[o];
}

void pirf_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                          const float *W, int B, int in, int out) {
  /* dx [B][in] += dy [B][out] W [out][in] */
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, dy, out, W, in, 1.0f,
                dx, in);
  /* dW [out][in] += dy^T [out][B] x [B][in] */
  if (dW)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, dy, out, x, in, 1.0f,
                dW, in);
  /* db [out] += column sums of dy */
  if (db)
    for (int i = 0; i < B; i++)
      for (int o = 0; o < out; o++) db[o] += dy[(size_t)i * out + o];
}
