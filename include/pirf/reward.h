/* The physics reward and the residual-guidance objective on a batch of samples.
 *
 * PIRF's loss is mean(R(post(x))^2) over the batch's samples, residual channels and all pixels
 * (docs/algorithm.md §2.5); the reward is its negative. DPS/DiffusionPDE guidance uses the Euclidean norm of
 * R over the whole batch, not squared (§7.2). Both run on this rank's tiles ([B][C][ym][xm]) and
 * reduce over the space communicator, so every rank of a data group gets the same value; the batch
 * is the data group's batch. */
#ifndef PIRF_REWARD_H
#define PIRF_REWARD_H

#include "pirf/physics.h"

/* loss = mean(R^2); if xbar is not NULL, xbar += scale * dloss/dx. */
int pirf_reward_mse(pirf_physics *ph, int B, const float *x, double *loss, float *xbar,
                    double scale);
/* Also the mean |R| (for logging), without gradient. */
int pirf_residual_stats(pirf_physics *ph, int B, const float *x, double *mse, double *mae);
/* mse[b] = mean(R_b^2) of every sample b of the batch, without gradient: the value r(x) of one
 * sample (pirf value-error; the per-sample figure pirf sample and evaluate report). */
int pirf_residual_mse_samples(pirf_physics *ph, int B, const float *x, double *mse);
/* norm = ||R||_2 over the batch; if xbar is not NULL, xbar += scale * dnorm/dx. */
int pirf_residual_norm(pirf_physics *ph, int B, const float *x, double *norm, float *xbar,
                       double scale);

#endif
