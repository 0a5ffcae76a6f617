/* burgers: placeholder entry until the generator, residual and adjoint land (not yet implemented). */
#include "pirf/physics.h"

const pirf_pde pirf_pde_burgers = {"burgers", 1, 1, "u", "periodic", NULL, NULL, NULL, NULL, NULL, NULL};
