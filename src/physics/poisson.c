/* poisson: Lap u = a on (0,1)^2, u = 0 on the boundary (docs/algorithm.md §5.2; DiffusionPDE's
 * generate_poisson.m, PIRF's PoissonResidual).
 *
 * Generator: vertex grid of R x R points including the boundary, h = 1/(R-1). The source a is a GRF
 * (alpha, tau; s = R, field 0 of the sample), *not* zeroed on the boundary. u solves the 5-point
 * Laplacian with identity rows u = 0 at every boundary point (pirf/lap5.h, PIRF_LAP5_IDENTITY_ROWS).
 * Stored normalized: x_a = a / data_a_scale, x_u = u_scale * u.
 *
 * Residual (reward): a = a_scale * x_a, u = x_u / u_scale, R = lap(u) - a with replicate padding at
 * every point, boundary included; its adjoint w.r.t. (x_a, x_u) (lap5_residual.c).
 *
 * The two a scales are deliberately separate keys. PIRF's reward post-processes with a = 2.5 x_a.
 * DiffusionPDE changed its own Poisson inverse scaling from 2.5 to 2.15 ("fixed scaling bug"),
 * which says its released data were stored as x_a = a / 2.15. The defaults (data 2.15, reward 2.5)
 * therefore reproduce PIRF's situation, including the interior residual floor
 * R = a - (2.5/2.15) a = -0.163 a of ground-truth data; pde.poisson.a_scale=2.15 gives the
 * physically consistent reward (docs/pde-poisson-helmholtz.md). */
#include "pirf/lap5.h"

static const pirf_cfg_spec poisson_schema[] = {
    {"pde.poisson.a_scale", PIRF_CFG_REAL, "2.5", 1e-6, 1e6, 0, 0, NULL,
     "reward post-processing a = a_scale * x_a (PIRF code 2.5; 2.15 matches the data scaling)"},
    {"pde.poisson.data_a_scale", PIRF_CFG_REAL, "2.15", 1e-6, 1e6, 0, 0, NULL,
     "generator stores x_a = a / data_a_scale (2.15: DiffusionPDE's fixed data scaling)"},
    {"pde.poisson.u_scale", PIRF_CFG_REAL, "36.5", 1e-6, 1e6, 0, 0, NULL,
     "x_u = u_scale * u, in data and reward alike (PIRF/DiffusionPDE: 36.5)"},
    {"pde.poisson.alpha", PIRF_CFG_REAL, "2", 1, 10, 0, 0, NULL,
     "GRF smoothness of the source: covariance (-Laplacian + tau^2)^-alpha, 1..10"},
    {"pde.poisson.tau", PIRF_CFG_REAL, "3", 0.01, 100, 0, 0, NULL,
     "GRF inverse length scale of the source, 0.01..100"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static int poisson_setup(pirf_physics *ph) {
  const pirf_config *cfg = ph->cfg;
  const double u_scale = pirf_cfg_real(cfg, "pde.poisson.u_scale");
  pirf_lap5_params prm = {
      .rows = PIRF_LAP5_IDENTITY_ROWS,
      .k2 = 0.0,
      .zero_source_boundary = 0,
      .alpha = pirf_cfg_real(cfg, "pde.poisson.alpha"),
      .tau = pirf_cfg_real(cfg, "pde.poisson.tau"),
      .data_a = 1.0 / pirf_cfg_real(cfg, "pde.poisson.data_a_scale"),
      .data_u = u_scale,
      .a_scale = pirf_cfg_real(cfg, "pde.poisson.a_scale"),
      .u_scale = 1.0 / u_scale,
  };
  return pirf_lap5_pde_setup(ph, &prm);
}

const pirf_pde pirf_pde_poisson = {
    .name = "poisson",
    .channels = 2,
    .residual_channels = 1,
    .channel_names = "a,u",
    .centring = "vertex",
    .schema = poisson_schema,
    .setup = poisson_setup,
    .destroy = pirf_lap5_pde_destroy,
    .generate = pirf_lap5_pde_generate,
    .residual = pirf_lap5_pde_residual,
    .residual_adjoint = pirf_lap5_pde_residual_adjoint,
};
