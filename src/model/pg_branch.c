/* PG-Diffusion's physics-gradient branch, forward and backward (see pirf/pg_branch.h). */
#include "pirf/pg_branch.h"

#include "pirf/check.h"
#include "pirf/conv2d.h"
#include "pirf/gelu.h"

#include <string.h>

size_t pirf_pg_branch_scratch_floats(const pirf_level *L, int B, int C, int Hc) {
  return pirf_conv2d_scratch_floats(L, B, Hc, C, 3); /* the 1x1 conv needs none */
}

int pirf_pg_branch_forward(const pirf_level *L, float *e, float *h, float *g, const float *dx,
                           const float *w1, const float *b1, const float *w2, const float *b2,
                           int B, int C, int Hc, float *scratch) {
  const size_t nh = (size_t)B * Hc * L->xm * L->ym;
  PIRF_TRY(pirf_conv2d_forward(L, h, dx, w1, b1, B, C, Hc, 1, NULL));
  pirf_gelu_forward(g, h, nh);
  PIRF_TRY(pirf_conv2d_forward(L, e, g, w2, b2, B, Hc, C, 3, scratch));
  return 0;
}

int pirf_pg_branch_backward(const pirf_level *L, float *ddx, float *dw1, float *db1, float *dw2,
                            float *db2, const float *de, const float *dx, const float *h, float *g,
                            float *dg, const float *w1, const float *w2, int B, int C, int Hc,
                            float *scratch) {
  const size_t nh = (size_t)B * Hc * L->xm * L->ym;
  pirf_gelu_forward(g, h, nh); /* the 3x3 conv's input, recomputed (cheap, not taped) */
  memset(dg, 0, nh * sizeof *dg);
  PIRF_TRY(pirf_conv2d_backward(L, dg, dw2, db2, de, g, w2, B, Hc, C, 3, scratch));
  float *dh = g; /* g is not needed any more: it becomes dL/dh */
  memset(dh, 0, nh * sizeof *dh);
  pirf_gelu_backward(dh, dg, h, nh);
  PIRF_TRY(pirf_conv2d_backward(L, ddx, dw1, db1, dh, dx, w1, B, C, Hc, 1, NULL));
  return 0;
}
