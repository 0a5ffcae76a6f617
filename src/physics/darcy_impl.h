/* Private state of the darcy PDE entry, shared by darcy.c (entry, set-up, generator),
 * darcy_solver.c (the linear solve) and darcy_residual.c (the reward residual and its adjoint). */
#ifndef PIRF_DARCY_IMPL_H
#define PIRF_DARCY_IMPL_H

#include "pirf/darcy.h"

#include <petscksp.h>

typedef struct {
  /* deck (pde.darcy.*) */
  double alpha, tau, a_high, a_low;
  int harmonic; /* face coefficients: 1 harmonic mean, 0 arithmetic mean */
  double rtol;  /* pde.solver_rtol */
  /* residual: dof 2 (normalized a, u), star stencil of width 3 so the one-sided edge stencils
   * (up to three points inward) can read a neighbour's points when a tile is narrow */
  DM da_res;
  Vec g_res, l_res, l_bar;
  /* solver: dof 1, 5-point star */
  DM da_sol;
  Vec g_a, l_a, b, u;
  Mat A;
  KSP ksp;
  int last_its;
} darcy_impl;

int pirf_darcy_solver_create(pirf_physics *ph, darcy_impl *d);
void pirf_darcy_solver_destroy(darcy_impl *d);
int pirf_darcy_residual(pirf_physics *ph, const float *x, float *R);
int pirf_darcy_residual_adjoint(pirf_physics *ph, const float *x, const float *Rbar, float *xbar);

#endif
