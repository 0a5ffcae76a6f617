/* Adam sharded across the world (ZeRO stage 1): reduce-scatter, guard, update, allgather
 * (see pirf/optim.h for the contract). */
#include "pirf/optim.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

pirf_adam_config pirf_adam_defaults(void) {
  pirf_adam_config c = {0.9, 0.999, 1e-8};
  return c;
}

int pirf_adam_create(pirf_adam *opt, MPI_Comm comm, size_t first, size_t count,
                     const pirf_adam_config *cfg) {
  memset(opt, 0, sizeof *opt);
  opt->comm = comm;
  opt->cfg = cfg ? *cfg : pirf_adam_defaults();
  PIRF_MPI(MPI_Comm_rank(comm, &opt->rank));
  PIRF_MPI(MPI_Comm_size(comm, &opt->size));
  opt->first = first;
  opt->count = count;
  /* The padded slicing: a slice of ceil(count/size) per rank, the tail ranks short or empty. */
  opt->shard = (count + (size_t)opt->size - 1) / (size_t)opt->size;
  PIRF_CHECK(opt->shard <= INT_MAX && count <= INT_MAX,
             "the trainable range of %zu floats is too large for one MPI collective (the limit "
             "is %d floats); this would need a chunked reduction", count, INT_MAX);
  PIRF_ALLOC(opt->counts, opt->size, "optimizer slice counts");
  PIRF_ALLOC(opt->displs, opt->size, "optimizer slice offsets");
  for (int r = 0; r < opt->size; r++) {
    size_t lo = (size_t)r * opt->shard, hi = lo + opt->shard;
    if (lo > count) lo = count;
    if (hi > count) hi = count;
    opt->displs[r] = (int)lo;
    opt->counts[r] = (int)(hi - lo);
  }
  opt->lo = first + (size_t)opt->displs[opt->rank];
  opt->n = (size_t)opt->counts[opt->rank];
  PIRF_ALLOC(opt->m, opt->n, "Adam first moments");
  PIRF_ALLOC(opt->v, opt->n, "Adam second moments");
  PIRF_ALLOC(opt->g, opt->n, "the reduced gradient slice");
  return 0;
}

void pirf_adam_destroy(pirf_adam *opt) {
  free(opt->m);
  free(opt->v);
  free(opt->g);
  free(opt->counts);
  free(opt->displs);
  memset(opt, 0, sizeof *opt);
}

long pirf_grad_sanitize(float *g, size_t n) {
  long replaced = 0;
  for (size_t i = 0; i < n; i++) {
    if (isfinite(g[i])) continue;
    g[i] = isnan(g[i]) ? 0.0f : (g[i] > 0 ? 1e5f : -1e5f);
    replaced++;
  }
  return replaced;
}

int pirf_adam_step(pirf_adam *opt, float *params, const float *grad, double scale, double lr,
                   long *nonfinite) {
  if (opt->count == 0) {
    if (nonfinite) *nonfinite = 0;
    return 0;
  }
  /* 1. Sum over every rank (tiles hold disjoint pixels' contributions, groups disjoint samples). */
  pirf_prof_begin(PIRF_EV_ADAM_REDUCE);
  PIRF_MPI(MPI_Reduce_scatter(grad + opt->first, opt->g, opt->counts, MPI_FLOAT, MPI_SUM,
                              opt->comm));
  pirf_prof_end(PIRF_EV_ADAM_REDUCE, 0);
  pirf_prof_begin(PIRF_EV_ADAM_UPDATE);
  const float s = (float)scale;
  for (size_t i = 0; i < opt->n; i++) opt->g[i] *= s;
  /* 2. The guard acts on the reduced (averaged) gradient, as nan_to_num does after DDP's
   *    all-reduce in the reference: one rank's inf makes the sum inf, which becomes 1e5. */
  long bad = pirf_grad_sanitize(opt->g, opt->n);
  if (nonfinite) PIRF_MPI(MPI_Allreduce(&bad, nonfinite, 1, MPI_LONG, MPI_SUM, opt->comm));

  /* 3. torch.optim.Adam: eps is added after dividing sqrt(v) by sqrt(1 - beta2^t), and the step
   *    size carries the first moment's correction, lr / (1 - beta1^t). */
  opt->t++;
  const double b1 = opt->cfg.beta1, b2 = opt->cfg.beta2;
  const double bc1 = 1.0 - pow(b1, (double)opt->t), bc2 = 1.0 - pow(b2, (double)opt->t);
  const float step_size = (float)(lr / bc1), inv_bc2_sqrt = (float)(1.0 / sqrt(bc2));
  const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1.0 - b1), c2 = (float)(1.0 - b2);
  const float eps = (float)opt->cfg.eps;
  float *p = params + opt->lo;
  for (size_t i = 0; i < opt->n; i++) {
    const float g = opt->g[i];
    opt->m[i] = fb1 * opt->m[i] + c1 * g;
    opt->v[i] = fb2 * opt->v[i] + c2 * g * g;
    const float denom = sqrtf(opt->v[i]) * inv_bc2_sqrt + eps;
    p[i] -= step_size * opt->m[i] / denom;
  }
  pirf_prof_end(PIRF_EV_ADAM_UPDATE, 12.0 * (double)opt->n);

  /* 4. Every rank's slice already sits at its place in its own arena: gather in place. */
  pirf_prof_begin(PIRF_EV_ADAM_GATHER);
  PIRF_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, params + opt->first, opt->counts,
                          opt->displs, MPI_FLOAT, opt->comm));
  pirf_prof_end(PIRF_EV_ADAM_GATHER, 0);
  return 0;
}
