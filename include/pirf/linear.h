/* Fully connected layer on per-sample vectors: y[B][out] = x[B][in] W^T + b (OpenBLAS sgemm).
 *
 * W is PyTorch's [out][in], b is [out] (may be NULL: no bias). The forward OVERWRITES y.
 * Backward ACCUMULATES (+=): dx[B][in] += dy W, dW[out][in] += dy^T x, db[out] += sum_b dy;
 * dx, dW, db may each be NULL to skip that term.
 *
 * Parallel use: the embedding vectors are computed redundantly on every rank of a space group
 * (docs/architecture.md). A rank's cotangent dy is then only its tile's partial contribution; because
 * every term above is linear in dy, summing dW, db over the ranks (the caller's usual parameter
 * gradient reduction) gives the exact total, and dx stays a partial cotangent for the layer below.
 * No communication here. */
#ifndef PIRF_LINEAR_H
#define PIRF_LINEAR_H

void pirf_linear_forward(float *y, const float *x, const float *W, const float *b, int B, int in,
                         int out);
void pirf_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                          const float *W, int B, int in, int out);

#endif
