/* kolmogorov generator's Navier-Stokes integrator (ETDRK4, 2/3 dealiasing), at 1, 2 or 4 ranks:
 *
 *  laminar_state_is_steady:
 *      w = -famp cos(4y) / (16/re + drag) stays put over 2 time units (to 1e-10 relative).
 *  shear_modes_relax_analytically:
 *      w0 = 10 cos 4y + 5 sin 2y (no nonlinear interaction: both depend on y alone) follows
 *      a(t) = a* + (a0 - a*) e^{-(16/re + drag) t}, b(t) = b0 e^{-(4/re + drag) t}.
 *  advection_conserves_energy_and_enstrophy:
 *      the dealiased nonlinear term is a Galerkin truncation: <w, N(w)> = <psi, N(w)> = 0.
 *  enstrophy_and_energy_budgets_close:
 *      over a turbulent short run, Z(T) - Z(0) = int (-P/re - 2 drag Z + <w f>) dt and
 *      E(T) - E(0) = int (-2 Z/re - 2 drag E + <psi f>) dt (Simpson in time).
 *  trajectory_has_small_reference_residual:
 *      three frames of a band-limited flow, 1/512 apart: the reference residual (undealiased
 *      products, central time difference) is tiny compared to w_t, so the integrated equation
 *      (signs, u = psi_y, v = -psi_x, the forcing axis) is the one the residual checks. */
#include "../../src/physics/kolmogorov_impl.h"
#include "physics_harness.h"
#include "testing.h"

#include <string.h>

static double max_diff(kf_fft *f, const double *a, const double *b, double *amax) {
  double m[2] = {0, 0};
  for (size_t k = 0; k < (size_t)f->na * f->R; k++) {
    m[0] = fmax(m[0], fabs(a[k] - b[k]));
    m[1] = fmax(m[1], fabs(b[k]));
  }
  MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, f->comm);
  *amax = m[1];
  return m[0];
}

static void shear(kf_fft *f, double a, double b, double *slab) {
  for (ptrdiff_t r = 0; r < f->na; r++)
    for (int c = 0; c < f->R; c++) {
      double y = 2 * M_PI * c / f->R;
      slab[r * f->R + c] = a * cos(4 * y) + b * sin(2 * y);
    }
}

static void laminar_and_shear(kf_impl *k) {
  kf_fft *f = &k->fft;
  const kf_params *p = &k->p;
  size_t n = (size_t)f->na * f->R;
  double *w = calloc(n, 8), *ref = calloc(n, 8), amax;
  const double lam4 = 16 / p->re + p->drag, lam2 = 4 / p->re + p->drag, astar = -p->famp / lam4;
  shear(f, astar, 0, ref);
  kf_ns_set_physical(&k->ns, ref);
  TEST_CHECK(!kf_ns_advance(&k->ns, 2.0), "advance failed");
  kf_ns_get_physical(&k->ns, w);
  double d = max_diff(f, w, ref, &amax);
  TEST_CHECK(d <= 1e-10 * amax, "laminar_state_is_steady: drift %.3g of %.3g", d, amax);
  if (f->rank == 0) printf("laminar_state_is_steady: max drift %.3g (amplitude %.3g)\n", d, amax);

  const double a0 = 10, b0 = 5, T = 2.0;
  shear(f, a0, b0, w);
  kf_ns_set_physical(&k->ns, w);
  TEST_CHECK(!kf_ns_advance(&k->ns, T), "advance failed");
  kf_ns_get_physical(&k->ns, w);
  shear(f, astar + (a0 - astar) * exp(-lam4 * T), b0 * exp(-lam2 * T), ref);
  d = max_diff(f, w, ref, &amax);
  TEST_CHECK(d <= 1e-9 * amax, "shear_modes_relax_analytically: max error %.3g of %.3g", d, amax);
  if (f->rank == 0) printf("shear_modes_relax_analytically: max error %.3g (amplitude %.3g)\n", d, amax);
  free(w);
  free(ref);
}

/* Spectral inner product <a, b> (grid mean) of two real fields given by their spectra. */
static double spec_dot(kf_fft *f, const fftw_complex *a, const fftw_complex *b) {
  double s = 0;
  for (ptrdiff_t jl = 0; jl < f->nj; jl++) {
    ptrdiff_t j = f->j0 + jl;
    double cj = (j == 0 || j == f->R / 2) ? 1 : 2;
    for (int i = 0; i < f->R; i++) s += cj * creal(a[jl * f->R + i] * conj(b[jl * f->R + i]));
  }
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, f->comm);
  return s / ((double)f->R * f->R * (double)f->R * f->R);
}

static void galerkin(kf_impl *k) {
  kf_fft *f = &k->fft;
  kf_ns_initial(&k->ns, 3, 0);
  fftw_complex *N = fftw_alloc_complex(f->nspec + 1), *psi = fftw_alloc_complex(f->nspec + 1);
  kf_ns_advection(&k->ns, k->ns.w, N);
  for (ptrdiff_t jl = 0; jl < f->nj; jl++)
    for (int i = 0; i < f->R; i++) {
      double kx = kf_kx(f, i), ky = kf_ky(f, jl), k2 = kx * kx + ky * ky;
      psi[jl * f->R + i] = k2 > 0 ? k->ns.w[jl * f->R + i] / k2 : 0;
    }
  double wN = spec_dot(f, k->ns.w, N), pN = spec_dot(f, psi, N);
  double nw = sqrt(spec_dot(f, k->ns.w, k->ns.w) * spec_dot(f, N, N));
  double np = sqrt(spec_dot(f, psi, psi) * spec_dot(f, N, N));
  TEST_CHECK(fabs(wN) <= 1e-12 * nw, "advection_conserves_enstrophy: <w, N> = %.3g vs %.3g", wN, nw);
  TEST_CHECK(fabs(pN) <= 1e-12 * np, "advection_conserves_energy: <psi, N> = %.3g vs %.3g", pN, np);
  if (f->rank == 0)
    printf("advection_conserves_energy_and_enstrophy: <w,N>/|w||N| = %.3g, <psi,N>/|psi||N| = %.3g\n",
           wN / nw, pN / np);
  fftw_free(N);
  fftw_free(psi);
}

static void budgets(kf_impl *k) {
  kf_fft *f = &k->fft;
  const kf_params *p = &k->p;
  kf_ns_initial(&k->ns, 5, 1);
  const int M = 64; /* Simpson intervals */
  const double T = 0.5, h = T / M;
  double E0 = 0, Z0 = 0, intZ = 0, intE = 0, absZ = 0, absE = 0, E = 0, Z = 0;
  for (int s = 0; s <= M; s++) {
    if (s > 0) kf_ns_advance(&k->ns, h);
    double Pal, wf, psif;
    kf_ns_diagnostics(&k->ns, &E, &Z, &Pal, &wf, &psif);
    if (s == 0) {
      E0 = E;
      Z0 = Z;
    }
    double wgt = (s == 0 || s == M) ? 1 : (s % 2 ? 4 : 2);
    double dZ = -Pal / p->re - 2 * p->drag * Z + wf, dE = -2 * Z / p->re - 2 * p->drag * E + psif;
    intZ += wgt * h / 3 * dZ;
    intE += wgt * h / 3 * dE;
    absZ += wgt * h / 3 * (Pal / p->re + 2 * p->drag * Z + fabs(wf));
    absE += wgt * h / 3 * (2 * Z / p->re + 2 * p->drag * E + fabs(psif));
  }
  double eZ = fabs(Z - Z0 - intZ) / absZ, eE = fabs(E - E0 - intE) / absE;
  TEST_CHECK(eZ <= 1e-6, "enstrophy_budget_closes: relative error %.3g (dZ %.6g, integral %.6g)", eZ,
             Z - Z0, intZ);
  TEST_CHECK(eE <= 1e-6, "energy_budget_closes: relative error %.3g (dE %.6g, integral %.6g)", eE,
             E - E0, intE);
  if (f->rank == 0)
    printf("enstrophy_and_energy_budgets_close: Z %.6g -> %.6g (budget error %.3g), E %.6g -> %.6g "
           "(budget error %.3g), %ld steps\n", Z0, Z, eZ, E0, E, eE, k->ns.steps);
}

static void reference_residual(test_physics *t, kf_impl *k) {
  kf_fft *f = &k->fft;
  const pirf_decomp *dc = &t->dc;
  size_t nt = (size_t)dc->xm * dc->ym, ns = (size_t)f->na * f->R;
  float *x = calloc(3 * nt, 4), *R = calloc(nt, 4);
  double *slab = calloc(ns, 8);
  kf_ns_initial(&k->ns, 7, 2);
  for (int c = 0; c < 3; c++) {
    if (c) kf_ns_advance(&k->ns, k->p.frame_dt);
    kf_ns_get_physical(&k->ns, slab);
    kf_slab_to_tile(f, 1, slab, 0.0f, 1.0 / k->p.omega_scale, x + c * nt);
  }
  t->ph->pde->residual(t->ph, x, R);
  double r2 = 0, wt2 = 0;
  for (size_t q = 0; q < nt; q++) {
    double wt = k->p.omega_scale * (x[2 * nt + q] - x[q]) / (2 * k->p.frame_dt);
    r2 += (double)R[q] * R[q];
    wt2 += wt * wt;
  }
  double s[2] = {r2, wt2};
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, dc->space);
  TEST_CHECK(s[0] <= 1e-6 * s[1], "trajectory_has_small_reference_residual: |R|^2 / |w_t|^2 = %.3g",
             s[0] / s[1]);
  if (dc->world_rank == 0)
    printf("trajectory_has_small_reference_residual: |R|^2 / |w_t|^2 = %.3g\n", s[0] / s[1]);
  free(x);
  free(R);
  free(slab);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  {
    /* ETDRK4 is exact for a linear system with constant forcing: large steps are enough here */
    char *over[] = {"pde.name=kolmogorov", "grid.resolution=32", "pde.kolmogorov.max_dt=0.03125"};
    test_physics t;
    if (test_physics_setup(&t, MPI_COMM_WORLD, px, py, 3, over)) MPI_Abort(MPI_COMM_WORLD, 1);
    kf_impl *k = t.ph->impl;
    laminar_and_shear(k);
    galerkin(k);
    test_physics_teardown(&t);
  }
  {
    char *over[] = {"pde.name=kolmogorov", "grid.resolution=32", "pde.kolmogorov.max_dt=0.00390625"};
    test_physics t;
    if (test_physics_setup(&t, MPI_COMM_WORLD, px, py, 3, over)) MPI_Abort(MPI_COMM_WORLD, 1);
    budgets(t.ph->impl);
    test_physics_teardown(&t);
  }
  {
    /* band-limited start (|k| <= 5 on a 64 grid: products stay below the 2/3 cutoff for a while) */
    char *over[] = {"pde.name=kolmogorov", "grid.resolution=64", "pde.kolmogorov.ic_kmax=5",
                    "pde.kolmogorov.frame_dt=0.001953125", "pde.kolmogorov.max_dt=0.0009765625"};
    test_physics t;
    if (test_physics_setup(&t, MPI_COMM_WORLD, px, py, 5, over)) MPI_Abort(MPI_COMM_WORLD, 1);
    reference_residual(&t, t.ph->impl);
    test_physics_teardown(&t);
  }
  int rc = test_finish("kolmogorov_integrator");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
