/* PIRF's weight-based regularization (docs/algorithm.md §2.7):
 *     reg = lambda * sum over trainable tensors p of || theta_p - theta_p^ref ||_2
 * (the L2 norm per tensor, not squared, summed over tensors, as the reference code). theta^ref is
 * the *pretrained* weights (the paper's intent; the reference code's deepcopy-before-load bug made it
 * the random initialization, see docs). The gradient of ||d|| is d / ||d||, defined as 0 at d = 0
 * (the state at the first step, since theta starts at theta^ref). */
#ifndef PIRF_WEIGHT_REG_H
#define PIRF_WEIGHT_REG_H

#include "pirf/params.h"

/* Tensors [p0, p1) of the table. Returns reg; grad (arena layout) += gscale * dreg/dtheta when
 * grad is not NULL. */
double pirf_weight_reg(const pirf_param_table *t, int p0, int p1, const float *theta,
                       const float *theta_ref, double lambda, float *grad, double gscale);

#endif
