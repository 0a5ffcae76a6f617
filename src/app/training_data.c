/* The training data set of pretraining and of the PIDM baseline (see pirf/training_data.h). */
#include "pirf/training_data.h"

#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/physics.h"
#include "pirf/rng.h"
#include "pirf/stop.h"

int pirf_training_data_open(const pirf_config *cfg, const pirf_decomp *dc, pirf_dataset *ds,
                            char *path, size_t len) {
  if (!pirf_deck_data_path(cfg, path, len)) return PIRF_ERR_USER;
  PIRF_TRY(pirf_dataset_open(ds, MPI_COMM_WORLD, path, "data.path"));
  const int C = ds->C, H = ds->H, W = ds->W;
  const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(cfg, "pde.name"));
  if (H != dc->H || W != dc->W || (pde && pde->channels != C)) pirf_dataset_close(ds);
  PIRF_USER_CHECK(H == dc->H && W == dc->W,
                  "data.path '%s' holds %dx%d fields but grid.resolution is %d; use the deck the "
                  "data were generated with", path, H, W, dc->H);
  /* the network's channels come from the data; they must be the PDE's, or fine-tuning (which
   * builds the network from the PDE) could not load the result */
  PIRF_USER_CHECK(!pde || pde->channels == C,
                  "data.path '%s' holds %d-channel fields but pde.name = %s has %d channel%s; use "
                  "the deck the data were generated with", path, C, pirf_cfg_str(cfg, "pde.name"),
                  pde ? pde->channels : 0, pde && pde->channels == 1 ? "" : "s");
  return 0;
}

long pirf_training_data_index(uint32_t seed, long step, long slot, long N) {
  long i = (long)(pirf_rng_uniform(seed, PIRF_STREAM_SCHEDULE, (uint32_t)step, (uint32_t)slot, 0, 0) *
                  (double)N);
  return i < N ? i : N - 1;
}

int pirf_training_data_read(pirf_dataset *ds, const pirf_decomp *dc, uint32_t seed, long step,
                            long slot0, long nb, float *y) {
  const size_t tile = (size_t)dc->xm * dc->ym;
  for (long b = 0; b < nb; b++) {
    PIRF_TRY(pirf_stop_poll());
    pirf_tile_block blk = {pirf_training_data_index(seed, step, slot0 + b, ds->N), 1, dc->xs,
                           dc->xm, dc->ys, dc->ym};
    PIRF_TRY(pirf_dataset_read(ds, &blk, y + (size_t)b * ds->C * tile));
  }
  return 0;
}
