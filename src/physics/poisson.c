/* poisson: placeholder entry until the generator, residual and adjoint land (not yet implemented). */
#include "pirf/physics.h"

const pirf_pde pirf_pde_poisson = {"poisson", 2, 1, "a,u", "vertex", NULL, NULL, NULL, NULL, NULL, NULL};
