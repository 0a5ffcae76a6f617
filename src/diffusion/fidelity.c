/* Fidelity of generated samples to held-out data (see pirf/fidelity.h). */
#include "pirf/fidelity.h"

#include "pirf/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has_levels(const pirf_pde *pde) {
  return pde->levels_channel >= 0 && (pde->levels[0] != 0 || pde->levels[1] != 0);
}

int pirf_fidelity_init(pirf_fidelity *f, const pirf_physics *ph) {
  memset(f, 0, sizeof *f);
  f->ph = ph;
  size_t n = (size_t)ph->pde->channels * ph->dc->xm * ph->dc->ym;
  for (int s = 0; s < 2; s++) {
    PIRF_ALLOC(f->sum[s], n, "fidelity sums");
    PIRF_ALLOC(f->sum2[s], n, "fidelity sums");
  }
  return 0;
}

void pirf_fidelity_add(pirf_fidelity *f, int set, int B, const float *x) {
  const pirf_physics *ph = f->ph;
  const int C = ph->pde->channels;
  const size_t plane = (size_t)ph->dc->xm * ph->dc->ym, n = C * plane;
  const int lc = ph->pde->levels_channel;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (size_t k = 0; k < plane; k++) {
        double v = (x[b * n + c * plane + k] - ph->norm_shift[c]) / ph->norm_scale[c];
        f->sum[set][c * plane + k] += v;
        f->sum2[set][c * plane + k] += v * v;
        if (set == 0 && c == lc && has_levels(ph->pde)) {
          const double *L = ph->pde->levels;
          f->level_sum += fmin(fabs(v - L[0]), fabs(v - L[1])) / fabs(L[1] - L[0]);
          f->level_count += 1;
        }
      }
  f->count[set] += B;
}

int pirf_fidelity_finish(pirf_fidelity *f, pirf_fidelity_result *r) {
  const pirf_physics *ph = f->ph;
  const pirf_decomp *dc = ph->dc;
  const int C = ph->pde->channels;
  const size_t plane = (size_t)dc->xm * dc->ym, n = C * plane;
  /* per-pixel sums over data groups (ranks holding the same tile) */
  for (int s = 0; s < 2; s++) {
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, f->sum[s], (int)n, MPI_DOUBLE, MPI_SUM, dc->data));
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, f->sum2[s], (int)n, MPI_DOUBLE, MPI_SUM, dc->data));
  }
  double counts[4] = {f->count[0], f->count[1], f->level_sum, f->level_count};
  /* counts are per group (identical on the tiles of a group): sum over groups only */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPI_DOUBLE, MPI_SUM, dc->data));
  PIRF_CHECK(counts[0] > 1 && counts[1] > 1, "fidelity needs at least 2 generated and 2 reference samples");
  double acc[5 * PIRF_MAX_CHANNELS] = {0};
  for (int c = 0; c < C; c++)
    for (size_t k = 0; k < plane; k++) {
      double m[2], sd[2];
      for (int s = 0; s < 2; s++) {
        double N = counts[s];
        m[s] = f->sum[s][c * plane + k] / N;
        sd[s] = sqrt(fmax(f->sum2[s][c * plane + k] / N - m[s] * m[s], 0) * N / (N - 1));
      }
      acc[5 * c] += (m[0] - m[1]) * (m[0] - m[1]);
      acc[5 * c + 1] += (sd[0] - sd[1]) * (sd[0] - sd[1]);
      acc[5 * c + 2] += sd[1] * sd[1];
      /* squared standard errors of the pixel's mean and sd difference (see pirf/fidelity.h) */
      const double v0 = sd[0] * sd[0], v1 = sd[1] * sd[1];
      acc[5 * c + 3] += v0 / counts[0] + v1 / counts[1];
      acc[5 * c + 4] += v0 / (2 * (counts[0] - 1)) + v1 / (2 * (counts[1] - 1));
    }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, 5 * C, MPI_DOUBLE, MPI_SUM, dc->space));
  r->channels = C;
  for (int c = 0; c < C; c++) {
    const double ref = sqrt(acc[5 * c + 2]), div = ref > 0 ? ref : 1;
    r->mean_error[c] = sqrt(acc[5 * c]) / div;
    r->std_error[c] = sqrt(acc[5 * c + 1]) / div;
    r->mean_error_se[c] = sqrt(acc[5 * c + 3]) / div;
    r->std_error_se[c] = sqrt(acc[5 * c + 4]) / div;
  }
  double lv[2] = {counts[2], counts[3]};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, lv, 2, MPI_DOUBLE, MPI_SUM, dc->space));
  r->level_offset = lv[1] > 0 ? lv[0] / lv[1] : -1;
  return 0;
}

void pirf_fidelity_free(pirf_fidelity *f) {
  for (int s = 0; s < 2; s++) {
    free(f->sum[s]);
    free(f->sum2[s]);
  }
  memset(f, 0, sizeof *f);
}
