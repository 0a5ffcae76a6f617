/* GroupNorm on domain-decomposed tiles (torch.nn.functional.group_norm, as EDM's GroupNorm).
 *
 *   y[b,c,p] = (x[b,c,p] - mean[b,g]) * rstd[b,g] * gamma[c] + beta[c],   g = c / (C/G)
 *   mean, var = biased statistics over the group's C/G channels and ALL H*W global pixels of the
 *   level (not just this rank's tile); rstd = 1/sqrt(var + eps).
 *
 * Layout: x, y, dx, dy are float32 [B][C][ym][xm], this rank's unpadded tile at level L. G is the
 * caller's choice (EDM: min(32, C/4)); C % G == 0 is required. eps is 1e-6 in EDM's UNetBlocks.
 *
 * Parallel contract (collective over L->comm; every rank of the space group calls with the same
 * B, C, G): the forward reduces the per-group partial sums (sum x, sum x^2) of all B*G pairs with
 * ONE MPI_Allreduce; the backward reduces its two sums (sum dxhat, sum dxhat*xhat) with ONE
 * MPI_Allreduce. Per-sample statistics are therefore identical on every rank of the group.
 *
 * Why single-pass sums in double: a centred two-pass scheme needs a second Allreduce (the mean
 * first). With double partial sums and reduction, var = E[x^2] - mean^2 has relative error about
 * 2^-53 (mean/std)^2 (float32 inputs square exactly in double), while the float32 input itself
 * only resolves std to 2^-24 mean/std; the cancellation therefore never costs more than the data's
 * own resolution until mean/std ~ 2^29. (In float32, E[x^2] - mean^2 fails already at mean/std ~
 * 1e2; tests/nn/test_groupnorm.c checks mean/std = 1000.) The variance is clamped at 0.
 *
 * The forward saves mean and rstd [B][G] (float32) for the backward. Backward ACCUMULATES (+=):
 * dx += ..., dgamma[c] += sum_{this tile} dy*xhat, dbeta[c] += sum_{this tile} dy; the parameter
 * gradients are per-rank partial sums (the caller reduces them over tiles and data groups with
 * the other parameter gradients). dgamma/dbeta may be NULL to skip them.
 *
 * work: caller-provided scratch of pirf_groupnorm_work_size(B, G) doubles (no allocation inside;
 * nothing in it survives a call). The backward reads the forward's INPUT x, so y must not overwrite
 * x when a backward follows; dx must not alias dy. */
#ifndef PIRF_GROUPNORM_H
#define PIRF_GROUPNORM_H

#include "pirf/level.h"

#include <stddef.h>

/* EDM's group count for C channels: min(32, C/4) (GroupNorm's num_groups=32,
 * min_channels_per_group=4). */
static inline int pirf_groupnorm_edm_groups(int C) { return C / 4 < 32 ? C / 4 : 32; }

/* Doubles of scratch that forward and backward need (2*B*G). */
size_t pirf_groupnorm_work_size(int B, int G);

int pirf_groupnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                           const float *beta, int B, int C, int G, float eps, const pirf_level *L,
                           double *work);

/* y from x and the statistics mean, rstd [B][G] of an earlier forward on the same x: exactly the
 * forward's y (the same code computes both, so the floats are identical). A backward uses it to
 * rebuild y instead of keeping it (pirf/unet_eval.h: the tape keeps x and the statistics only).
 * Tile-local, no communication; y may be x. */
int pirf_groupnorm_apply(float *y, const float *x, const float *mean, const float *rstd,
                         const float *gamma, const float *beta, int B, int C, int G,
                         const pirf_level *L);

int pirf_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                            const float *gamma, const float *mean, const float *rstd, int B, int C,
                            int G, const pirf_level *L, double *work);

#endif
