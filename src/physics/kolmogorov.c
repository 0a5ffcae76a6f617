/* kolmogorov: placeholder entry until the generator, residual and adjoint land (not yet implemented). */
#include "pirf/physics.h"

const pirf_pde pirf_pde_kolmogorov = {"kolmogorov", 3, 1, "w0,w1,w2", "periodic", NULL, NULL, NULL, NULL, NULL, NULL};
