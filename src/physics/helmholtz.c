/* helmholtz: Lap u + k^2 u = a on (0,1)^2, k = 1 by default (docs/algorithm.md §5.3; DiffusionPDE's
 * generate_inhom_helmholtz.m, PIRF's HelmholtzResidual).
 *
 * Generator: vertex grid of R x R points including the boundary, h = 1/(R-1). The source a is a GRF
 * (alpha, tau; s = R, field 0 of the sample) set to 0 on the boundary. u solves A u = a with the
 * reference's A = kron(I, L) + kron(L, I) + k^2 I, L = tridiag(1, -2, 1)/h^2 with identity first and
 * last rows (pirf/lap5.h, PIRF_LAP5_KRON_ROWS). With a = 0 there, u = 0 on the boundary as long as
 * k^2 + 1 stays below the smallest eigenvalue of the 1-D -L (about pi^2, 9 at R = 4), and the
 * interior block stays definite (k^2 < about 2 pi^2): the range 0 <= k <= 2.5 guarantees both.
 * Stored normalized: x_a = a / a_scale, x_u = u / u_scale.
 *
 * Residual (reward): a = a_scale * x_a, u = u_scale * x_u, R = lap(u) + k^2 u - a with replicate
 * padding at every point, boundary included; its adjoint w.r.t. (x_a, x_u) (lap5_residual.c).
 * Data and reward use the same scales here (2.15 and 0.028 in both DiffusionPDE and PIRF). */
#include "pirf/lap5.h"

static const pirf_cfg_spec helmholtz_schema[] = {
    {"pde.helmholtz.k", PIRF_CFG_REAL, "1", 0, 2.5, 0, 0, NULL,
     "wave number k, 0..2.5 (keeps the generator's system definite: k^2 + 1 < pi^2)"},
    {"pde.helmholtz.a_scale", PIRF_CFG_REAL, "2.15", 1e-6, 1e6, 0, 0, NULL,
     "a = a_scale * x_a, in data and reward alike (PIRF/DiffusionPDE: 2.15)"},
    {"pde.helmholtz.u_scale", PIRF_CFG_REAL, "0.028", 1e-9, 1e6, 0, 0, NULL,
     "u = u_scale * x_u, in data and reward alike (PIRF/DiffusionPDE: 0.028)"},
    {"pde.helmholtz.alpha", PIRF_CFG_REAL, "2", 1, 10, 0, 0, NULL,
     "GRF smoothness of the source: covariance (-Laplacian + tau^2)^-alpha, 1..10"},
    {"pde.helmholtz.tau", PIRF_CFG_REAL, "3", 0.01, 100, 0, 0, NULL,
     "GRF inverse length scale of the source, 0.01..100"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static int helmholtz_setup(pirf_physics *ph) {
  const pirf_config *cfg = ph->cfg;
  const double k = pirf_cfg_real(cfg, "pde.helmholtz.k");
  const double a_scale = pirf_cfg_real(cfg, "pde.helmholtz.a_scale");
  const double u_scale = pirf_cfg_real(cfg, "pde.helmholtz.u_scale");
  pirf_lap5_params prm = {
      .rows = PIRF_LAP5_KRON_ROWS,
      .k2 = k * k,
      .zero_source_boundary = 1,
      .alpha = pirf_cfg_real(cfg, "pde.helmholtz.alpha"),
      .tau = pirf_cfg_real(cfg, "pde.helmholtz.tau"),
      .data_a = 1.0 / a_scale,
      .data_u = 1.0 / u_scale,
      .a_scale = a_scale,
      .u_scale = u_scale,
  };
  return pirf_lap5_pde_setup(ph, &prm);
}

const pirf_pde pirf_pde_helmholtz = {
    .name = "helmholtz",
    .channels = 2,
    .residual_channels = 1,
    .channel_names = "a,u",
    .centring = "vertex",
    .schema = helmholtz_schema,
    .setup = helmholtz_setup,
    .destroy = pirf_lap5_pde_destroy,
    .generate = pirf_lap5_pde_generate,
    .residual = pirf_lap5_pde_residual,
    .residual_adjoint = pirf_lap5_pde_residual_adjoint,
};
