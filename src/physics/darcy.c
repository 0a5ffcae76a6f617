/* darcy: placeholder entry until the generator, residual and adjoint land (not yet implemented). */
#include "pirf/physics.h"

const pirf_pde pirf_pde_darcy = {"darcy", 2, 1, "a,u", "cell", NULL, NULL, NULL, NULL, NULL, NULL};
