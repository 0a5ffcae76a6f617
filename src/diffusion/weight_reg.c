/* Weight regularization toward the pretrained weights (see pirf/weight_reg.h). */
#include "pirf/weight_reg.h"

#include <math.h>

double pirf_weight_reg(const pirf_param_table *t, int p0, int p1, const float *theta,
                       const float *theta_ref, double lambda, float *grad, double gscale) {
  double reg = 0;
  for (int i = p0; i < p1; i++) {
    const pirf_param *p = &t->p[i];
    double s = 0;
    for (size_t k = p->offset; k < p->offset + p->count; k++) {
      double d = (double)theta[k] - theta_ref[k];
      s += d * d;
    }
    double norm = sqrt(s);
    reg += lambda * norm;
    if (grad && norm > 0) {
      double f = gscale * lambda / norm;
      for (size_t k = p->offset; k < p->offset + p->count; k++)
        grad[k] += (float)(f * ((double)theta[k] - theta_ref[k]));
    }
  }
  return reg;
}
