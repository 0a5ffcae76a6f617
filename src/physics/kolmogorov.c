/* kolmogorov (docs/algorithm.md §5.5): 2-D Kolmogorov flow, three consecutive vorticity frames per sample,
 * one residual channel (the vorticity equation at the middle frame). See docs/pde-kolmogorov.md.
 *
 * Samples and trajectories: sample n is window w = n % S of trajectory t = n / S (S =
 * pde.kolmogorov.samples_per_trajectory): frames w, w+1, w+2 after the spin-up, frame_dt apart.
 * A data group integrates only the trajectories its block of samples touches, each from its own
 * random initial vorticity (Philox keyed by (data.seed, t, mode)). */
#include "kolmogorov_impl.h"

#include "pirf/check.h"
#include "pirf/log.h"
#include "pirf/stop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const pirf_cfg_spec kolmogorov_schema[] = {
    {"pde.kolmogorov.re", PIRF_CFG_REAL, "1000", 1, 1e7, 0, 0, NULL,
     "Reynolds number: the viscosity is 1/re (generator and residual)"},
    {"pde.kolmogorov.drag", PIRF_CFG_REAL, "0.1", 0, 100, 0, 0, NULL,
     "linear drag coefficient: the -drag*w term (generator and residual)"},
    {"pde.kolmogorov.forcing_wavenumber", PIRF_CFG_INT, "4", 1, 1000, 0, 0, NULL,
     "k_f of the forcing f = -amplitude cos(k_f y), y along the columns"},
    {"pde.kolmogorov.forcing_amplitude", PIRF_CFG_REAL, "4", 0, 1e6, 0, 0, NULL,
     "amplitude of the forcing f = -amplitude cos(k_f y)"},
    {"pde.kolmogorov.frame_dt", PIRF_CFG_REAL, "0.03125", 1e-6, 100, 0, 0, NULL,
     "time between the three frames of a sample, also the residual's dt (reference: 1/32)"},
    {"pde.kolmogorov.omega_scale", PIRF_CFG_REAL, "12", 1e-6, 1e6, 0, 0, NULL,
     "normalization: data = vorticity / omega_scale (reference: 12)"},
    {"pde.kolmogorov.spinup", PIRF_CFG_REAL, "10", 0, 1e6, 0, 0, NULL,
     "time integrated from the random initial vorticity before the first stored frame"},
    {"pde.kolmogorov.samples_per_trajectory", PIRF_CFG_INT, "318", 1, 100000000, 0, 0, NULL,
     "3-frame windows (stride one frame) per trajectory; sample n is window n % this of "
     "trajectory n / this (reference: T - 2 windows per seed)"},
    {"pde.kolmogorov.cfl", PIRF_CFG_REAL, "0.5", 0.01, 2, 0, 0, NULL,
     "integrator step limit: dt <= cfl * (2 pi / R) / (largest speed) (ETDRK4)"},
    {"pde.kolmogorov.max_dt", PIRF_CFG_REAL, "0.0078125", 1e-7, 100, 0, 0, NULL,
     "largest integrator step; each frame interval is split into equal steps"},
    {"pde.kolmogorov.ic_alpha", PIRF_CFG_REAL, "2.5", 0, 20, 0, 0, NULL,
     "initial vorticity spectrum: mode amplitudes ~ (k^2 + tau^2)^(-alpha/2)"},
    {"pde.kolmogorov.ic_tau", PIRF_CFG_REAL, "7", 0, 1e4, 0, 0, NULL,
     "initial vorticity spectrum: tau of (k^2 + tau^2)^(-alpha/2)"},
    {"pde.kolmogorov.ic_kmax", PIRF_CFG_INT, "32", 1, 100000, 0, 0, NULL,
     "initial vorticity uses modes with max(abs(kx), abs(ky)) <= ic_kmax (and below the 2/3 cutoff)"},
    {"pde.kolmogorov.ic_rms", PIRF_CFG_REAL, "5", 0, 1e6, 0, 0, NULL,
     "expected root-mean-square of the initial vorticity (physical units)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static int kolmogorov_setup(pirf_physics *ph) {
  const pirf_config *cfg = ph->cfg;
  kf_impl *k = calloc(1, sizeof *k);
  PIRF_CHECK(k, "out of memory");
  ph->impl = k;
  kf_params *p = &k->p;
  p->re = pirf_cfg_real(cfg, "pde.kolmogorov.re");
  p->drag = pirf_cfg_real(cfg, "pde.kolmogorov.drag");
  p->kf = (double)pirf_cfg_int(cfg, "pde.kolmogorov.forcing_wavenumber");
  p->famp = pirf_cfg_real(cfg, "pde.kolmogorov.forcing_amplitude");
  p->frame_dt = pirf_cfg_real(cfg, "pde.kolmogorov.frame_dt");
  p->omega_scale = pirf_cfg_real(cfg, "pde.kolmogorov.omega_scale");
  p->spinup = pirf_cfg_real(cfg, "pde.kolmogorov.spinup");
  p->per_traj = pirf_cfg_int(cfg, "pde.kolmogorov.samples_per_trajectory");
  p->cfl = pirf_cfg_real(cfg, "pde.kolmogorov.cfl");
  p->max_dt = pirf_cfg_real(cfg, "pde.kolmogorov.max_dt");
  p->ic_alpha = pirf_cfg_real(cfg, "pde.kolmogorov.ic_alpha");
  p->ic_tau = pirf_cfg_real(cfg, "pde.kolmogorov.ic_tau");
  p->ic_kmax = (int)pirf_cfg_int(cfg, "pde.kolmogorov.ic_kmax");
  p->ic_rms = pirf_cfg_real(cfg, "pde.kolmogorov.ic_rms");
  for (int c = 0; c < 3; c++) {
    ph->norm_scale[c] = 1.0 / p->omega_scale;
    ph->norm_shift[c] = 0.0;
  }
  ph->h = 2 * M_PI / ph->dc->H;
  PIRF_TRY(kf_fft_create(ph->dc, &k->fft));
  PIRF_USER_CHECK(p->kf <= (ph->dc->H - 1) / 3,
                  "pde.kolmogorov.forcing_wavenumber %g is above the 2/3 dealiasing cutoff %d of "
                  "grid.resolution %d; use a grid.resolution of at least %d",
                  p->kf, (ph->dc->H - 1) / 3, ph->dc->H, (int)(3 * p->kf + 1));
  PIRF_TRY(kf_residual_create(&k->fft, p, &k->res));
  PIRF_TRY(kf_ns_create(&k->fft, p, &k->ns));
  return 0;
}

static void kolmogorov_destroy(pirf_physics *ph) {
  kf_impl *k = ph->impl;
  if (!k) return;
  kf_ns_destroy(&k->ns);
  kf_residual_destroy(&k->res);
  kf_fft_destroy(&k->fft);
  free(k->ring);
  free(k->slab);
  free(k);
  ph->impl = NULL;
}

/* The integrator's hook during generation: a stop request and a progress note per frame interval. */
static int generate_tick(void *ctx) {
  pirf_physics *ph = ctx;
  const kf_impl *k = ph->impl;
  if (k->spinning)
    return pirf_physics_tick(ph, "kolmogorov trajectory %ld: spin-up t = %.3g of %g", k->traj,
                             k->ns.t, k->p.spinup);
  return pirf_physics_tick(ph, "kolmogorov trajectory %ld: frame %ld of %ld", k->traj, k->frame + 1,
                           k->frame_hi);
}

static int trajectories(pirf_physics *ph, long first, long count, float *tiles);

static int kolmogorov_generate(pirf_physics *ph, long first, long count, float *tiles) {
  kf_impl *k = ph->impl;
  k->ns.tick = ph->tick ? generate_tick : NULL;
  k->ns.tick_ctx = ph;
  int err = trajectories(ph, first, count, tiles);
  k->ns.tick = NULL;
  k->spinning = 0;
  if (err) k->traj = -1; /* the cached trajectory is in an unknown state */
  return err;
}

static int trajectories(pirf_physics *ph, long first, long count, float *tiles) {
  kf_impl *k = ph->impl;
  const kf_params *p = &k->p;
  const pirf_decomp *dc = ph->dc;
  const long S = p->per_traj;
  const size_t nt = (size_t)dc->xm * dc->ym;
  if (!k->ring) {
    PIRF_ALLOC(k->slab, (size_t)k->fft.na * k->fft.R + 1, "kolmogorov frame slab");
    PIRF_ALLOC(k->ring, 3 * nt + 1, "kolmogorov frame tiles");
    k->traj = -1;
  }
  for (long t = first / S; t <= (first + count - 1) / S; t++) {
    long wlo = (first > t * S ? first : t * S) - t * S;
    long whi = (first + count < (t + 1) * S ? first + count : (t + 1) * S) - 1 - t * S;
    double t0 = pirf_wtime();
    long fr = 0;
    if (k->traj == t && k->frame <= wlo + 1 && k->ring_lo <= wlo) {
      fr = k->frame + 1; /* continue the trajectory of the previous call (the next chunk) */
    } else {
      k->traj = t;
      PIRF_TRY(kf_ns_initial(&k->ns, ph->seed, t));
      k->spinning = 1;
      int err = kf_ns_advance(&k->ns, p->spinup);
      k->spinning = 0;
      if (err == PIRF_STOPPED) return err; /* a stop request: no trace */
      PIRF_TRY(err);
      k->ring_lo = wlo;
    }
    k->frame_hi = whi + 2;
    for (; fr <= whi + 2; fr++) {
      if (fr > 0) {
        int err = kf_ns_advance(&k->ns, p->frame_dt);
        if (err == PIRF_STOPPED) return err;
        PIRF_TRY(err);
      }
      k->frame = fr;
      if (fr < k->ring_lo) continue;
      PIRF_TRY(kf_ns_get_physical(&k->ns, k->slab));
      PIRF_TRY(kf_slab_to_tile(&k->fft, 1, k->slab, 0.0f, 1.0 / p->omega_scale,
                               k->ring + (fr % 3) * nt));
      const long w = fr - 2; /* the window this frame completes */
      if (w < wlo) continue;
      float *dst = tiles + (size_t)(t * S + w - first) * 3 * nt;
      for (int c = 0; c < 3; c++) memcpy(dst + c * nt, k->ring + ((w + c) % 3) * nt, nt * sizeof *dst);
    }
    pirf_debug("[kolmogorov] trajectory %ld: windows %ld..%ld, %ld steps so far, %.2f s\n", t, wlo,
               whi, k->ns.steps, pirf_wtime() - t0);
  }
  return 0;
}

static int kolmogorov_residual(pirf_physics *ph, const float *x, float *R) {
  kf_impl *k = ph->impl;
  return kf_residual_eval(&k->res, x, R);
}

static int kolmogorov_residual_adjoint(pirf_physics *ph, const float *x, const float *Rbar,
                                       float *xbar) {
  kf_impl *k = ph->impl;
  return kf_residual_adjoint(&k->res, x, Rbar, xbar);
}

const pirf_pde pirf_pde_kolmogorov = {"kolmogorov",
                                      3,
                                      1,
                                      "w0,w1,w2",
                                      "periodic",
                                      kolmogorov_schema,
                                      kolmogorov_setup,
                                      kolmogorov_destroy,
                                      kolmogorov_generate,
                                      kolmogorov_residual,
                                      kolmogorov_residual_adjoint};
