/* The optimizer: Adam sharded across all ranks (ZeRO stage 1), the learning-rate ramp and the EMA
 * of the weights (docs/algorithm.md §2.8, mirroring torch.optim.Adam and EDM's training loop).
 *
 * Weights are replicated: every rank holds the whole parameter arena (pirf/params.h). Optimizer
 * state is not: the trainable range [first, first+count) of the arena is cut into world-size
 * slices of shard = ceil(count / size) floats, and rank r keeps the Adam moments of
 * [first + r*shard, first + min((r+1)*shard, count)) only (the last slices may be short or empty),
 * so optimizer memory per rank falls as 1/size. One step is
 *
 *   1. reduce-scatter the gradient: each rank receives the sum over all world ranks (tiles and data
 *      groups) of its own slice, times the caller's `scale` (1/ndata gives the mean over groups);
 *   2. replace non-finite values in that slice as the reference does before optimizer.step():
 *      nan -> 0, +inf -> +1e5, -inf -> -1e5 (torch.nan_to_num); there is no clipping;
 *   3. the Adam update of the slice (torch.optim.Adam: bias-corrected first moment over the
 *      bias-corrected square root of the second moment plus eps, no weight decay);
 *   4. allgather the updated slices, so every rank's arena holds the same new weights.
 *
 * The arena is float32, so the rank's own slice of it is the fp32 master copy of its shard: there is
 * no separate master buffer, and the allgather makes the replicas bit-identical after every step.
 * The slicing is the padded one (count rounded up to a multiple of size); the counts variants of the
 * collectives (MPI_Reduce_scatter, MPI_Allgatherv in place) move exactly those slices without
 * materializing a padded copy of the gradient or the weights, which would cost O(count) per rank. */
#ifndef PIRF_OPTIM_H
#define PIRF_OPTIM_H

#include "pirf/config.h"

#include <mpi.h>
#include <stddef.h>

/* Hyper-parameters. pirf_adam_defaults() gives the reference values. */
typedef struct {
  double beta1, beta2, eps;    /* 0.9, 0.999, 1e-8 */
} pirf_adam_config;

typedef struct {
  MPI_Comm comm;               /* the world: every rank shares the reduction and the state */
  int rank, size;
  size_t first, count;         /* trainable range of the arena, in floats */
  size_t shard;                /* ceil(count / size): the slice length before the range ends */
  size_t lo, n;                /* this rank's slice: arena floats [lo, lo+n) */
  float *m, *v;                /* first and second moments of the slice (n floats each) */
  float *g;                    /* the reduced gradient of the slice (scratch, n floats) */
  int *counts, *displs;        /* every rank's slice, for the collectives (size ints each) */
  long t;                      /* steps taken: the exponent of the bias corrections */
  pirf_adam_config cfg;
} pirf_adam;

pirf_adam_config pirf_adam_defaults(void);

/* Collective over comm (the world). State starts at zero, t = 0. count may be any size (even smaller
 * than the number of ranks). */
int pirf_adam_create(pirf_adam *opt, MPI_Comm comm, size_t first, size_t count,
                     const pirf_adam_config *cfg);
void pirf_adam_destroy(pirf_adam *opt);

/* One optimizer step; collective over opt->comm.
 *   params  the replicated arena (every rank the same values); [first, first+count) is updated
 *   grad    this rank's gradient arena (its tiles' and samples' contributions); read only
 *   scale   multiplies the summed gradient (1/ndata for the mean over data groups)
 *   lr      this step's learning rate (pirf_lr_at); lr = 0 still advances the moments and t,
 *           as torch does
 *   nonfinite  if not NULL: the number of gradient values the guard replaced, summed over ranks
 *           (one extra small allreduce; every rank must pass NULL or non-NULL alike) */
int pirf_adam_step(pirf_adam *opt, float *params, const float *grad, double scale, double lr,
                   long *nonfinite);

/* The guard alone, on n floats in place (torch.nan_to_num(g, nan=0, posinf=1e5, neginf=-1e5)).
 * Returns the number of values replaced. */
long pirf_grad_sanitize(float *g, size_t n);

/* Learning rate after n_img images: lr * min(n_img / (rampup_kimg * 1000), 1); rampup_kimg <= 0
 * turns the ramp off (constant lr, also at n_img = 0, where EDM's max(.., 1e-8) guard would give
 * 0). With the EDM default rampup of 10000 kimg the first step has lr = 0. */
double pirf_lr_at(double lr, double rampup_kimg, double n_img);

/* EMA decay for one step of `batch` images taken when n_img images had been seen before it:
 *   halflife = halflife_kimg * 1000, reduced to min(halflife, rampup_ratio * n_img) when
 *   rampup_ratio > 0 (<= 0: no ramp-up); beta = 0.5^(batch / max(halflife, 1e-8)).
 * With the ramp-up, beta = 0 at n_img = 0 (the EMA starts as a copy of the net). */
double pirf_ema_beta(double n_img, double batch, double halflife_kimg, double rampup_ratio);
/* ema = beta * ema + (1 - beta) * net over n floats (the whole arena, or the trainable range by
 * passing ema + first, net + first, count). Local: every rank updates its replica identically. */
void pirf_ema_update(float *ema, const float *net, size_t n, double beta);

/* A stage's optimizer settings: the keys <section>.lr, .lr_rampup_kimg, .ema_halflife_kimg and
 * .ema_rampup_ratio (section "pretrain" or "finetune"; each declares them in its schema table). */
typedef struct {
  double lr, lr_rampup_kimg, ema_halflife_kimg, ema_rampup_ratio;
} pirf_optim_settings;
void pirf_optim_settings_from_deck(const pirf_config *cfg, const char *section,
                                   pirf_optim_settings *s);

#endif
