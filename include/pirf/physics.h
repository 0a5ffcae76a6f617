/* The PDE registry: one entry per benchmark (darcy, poisson, helmholtz, burgers, kolmogorov).
 *
 * An entry says how many channels the data has, how many the residual has, and provides the
 * generator, the residual R(x) in physical units and its adjoint (vector-Jacobian product) with
 * respect to the *normalized* input channels. Everything works on this rank's tile of one sample,
 * stored as float32 [C][ym][xm] (rows y, columns x, as pirf_decomp), and is collective over the
 * decomposition's space communicator. The network side never sees PETSc: conversion to double and
 * the ghost exchange (DMDA) happen inside.
 *
 * Normalization: x = scale * phys + shift per channel, so phys = (x - shift) / scale. */
#ifndef PIRF_PHYSICS_H
#define PIRF_PHYSICS_H

#include "pirf/config.h"
#include "pirf/decomp.h"

#include <stdint.h>

#define PIRF_MAX_CHANNELS 8

typedef struct pirf_physics pirf_physics;

typedef struct {
  const char *name;
  int channels;             /* data / network channels */
  int residual_channels;    /* channels of R */
  const char *channel_names; /* comma-separated, e.g. "a,u" */
  const char *centring;     /* "cell" (x_i = (i+1/2)h) or "vertex" (x_i = i h) or "periodic" */
  const pirf_cfg_spec *schema; /* this PDE's deck keys (pde.<name>.*), or NULL */
  /* Create PDE-specific state in ph->impl (DMDA, solvers, FFT plans); fill ph->h, ph->norm_*. */
  int (*setup)(pirf_physics *ph);
  void (*destroy)(pirf_physics *ph);
  /* Samples [first, first+count) of the data set, normalized, into tiles [count][C][ym][xm].
   * count may differ between data groups; collective over the space communicator only. */
  int (*generate)(pirf_physics *ph, long first, long count, float *tiles);
  /* R (physical units, [Cr][ym][xm]) of one normalized sample tile x ([C][ym][xm]). */
  int (*residual)(pirf_physics *ph, const float *x, float *R);
  /* xbar += (dR/dx)^T Rbar for one sample (x normalized; xbar accumulates). */
  int (*residual_adjoint)(pirf_physics *ph, const float *x, const float *Rbar, float *xbar);
  /* A coefficient channel that takes two values only (Darcy's a in {3, 12}), for the fidelity
   * measure; levels_channel < 0 (or both levels 0) when there is none. */
  int levels_channel;
  double levels[2];
} pirf_pde;

struct pirf_physics {
  const pirf_pde *pde;
  const pirf_decomp *dc;
  const pirf_config *cfg;
  double norm_scale[PIRF_MAX_CHANNELS], norm_shift[PIRF_MAX_CHANNELS];
  double h;                 /* grid spacing the residual uses */
  int discretize_a;         /* Darcy: threshold a to {3, 12} inside R (reward); 0 = continuous */
  uint32_t seed;            /* data.seed */
  void *impl;
  /* Set by `pirf generate` (NULL otherwise): generators call it through pirf_physics_tick between
   * units of work (a sample, an integrator frame), at the same points on every rank of dc->space,
   * with a note of where they are. Non-zero (PIRF_STOPPED: a stop was requested) means abandon the
   * call and return that code. */
  int (*tick)(pirf_physics *ph, const char *note);
  void *tick_ctx;
};

/* All registered PDEs, NULL-terminated. */
extern const pirf_pde *const pirf_pde_registry[];
const pirf_pde *pirf_pde_find(const char *name);
/* Deck keys shared by all PDEs (pde.name, pde.solver_rtol, ...). */
extern const pirf_cfg_spec pirf_physics_schema[];

/* Create the physics for the deck's pde.name on the decomposition (collective over dc->space). */
int pirf_physics_create(const pirf_config *cfg, const pirf_decomp *dc, pirf_physics **ph);
void pirf_physics_destroy(pirf_physics **ph);

/* Call ph->tick with the note printf(fmt, ...) (0 when there is no tick). Collective over dc->space. */
int pirf_physics_tick(pirf_physics *ph, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Residual statistics of `count` sample tiles: sums of R^2 and |R| and the point count, reduced
 * over the space communicator (not over data groups). */
int pirf_physics_residual_sums(pirf_physics *ph, long count, const float *tiles, double *sum_sq,
                               double *sum_abs, double *npoints);

/* ---- helpers for DMDA-based residuals (physics/dmda_tile.c) ------------------------------ */
/* Copy a float tile [C][ym][xm] into the DMDA global vector g (dof = C), then fill the ghosts of
 * the local vector l (INSERT). */
int pirf_tile_to_local(DM da, int C, const float *tile, Vec g, Vec l);
/* The adjoint of pirf_tile_to_local: add the local vector's values, ghosts included, into their
 * owners (ADD_VALUES), then add the owned values into tilebar [C][ym][xm]. Zeroes g first. */
int pirf_local_to_tile_add(DM da, int C, Vec l, Vec g, float *tilebar);

#endif
