/* `pirf generate DECK [key=value ...]`: write the PDE data set of the deck.
 *
 * Every data group generates its contiguous block of samples, a round of `data.chunk` samples at a
 * time; each round ends with one collective HDF5 write of every rank's tiles. The residual of every
 * generated sample is accumulated on the way, so the data set's residual floor (mean R^2 and mean
 * |R| under the reward's residual) is printed and stored as attributes. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/physics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The attributes every data set carries (ARCHITECTURE.md, file formats). */
static int write_attributes(pirf_dataset *ds, const pirf_physics *ph, const pirf_config *cfg,
                            double mse, double mae, double sec_per_sample) {
  hid_t f = ds->file;
  PIRF_TRY(pirf_write_field_attributes(f, cfg, ph));
  PIRF_TRY(pirf_attr_write_long(f, "seed", (long)ph->seed));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mse", 1, &mse));
  PIRF_TRY(pirf_attr_write_double(f, "residual_mae", 1, &mae));
  PIRF_TRY(pirf_attr_write_double(f, "generator_seconds_per_sample", 1, &sec_per_sample));
  return 0;
}

int pirf_stage_generate(pirf_config *cfg) {
  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc));
  pirf_physics *ph = NULL;
  PIRF_TRY(pirf_physics_create(cfg, &dc, &ph));
  const int C = ph->pde->channels;
  const long N = pirf_cfg_int(cfg, "data.samples");
  const long chunk = pirf_cfg_int(cfg, "data.chunk");
  char path[4096];
  if (!pirf_deck_data_path(cfg, path, sizeof path)) return PIRF_ERR_USER;
  PIRF_TRY(pirf_mkdir_parent(MPI_COMM_WORLD, path));

  long first, count;
  pirf_decomp_samples(&dc, N, &first, &count);
  const long rounds = (pirf_decomp_max_samples(&dc, N) + chunk - 1) / chunk;
  pirf_log("[generate] %s: %ld samples of %dx%d, %d channel%s -> %s\n", ph->pde->name, N, dc.H,
           dc.W, C, C > 1 ? "s" : "", path);
  pirf_log("[generate] layout: %d rank%s = %d data group%s x %d tile%s (%dx%d)\n", dc.world_size,
           dc.world_size > 1 ? "s" : "", dc.ndata, dc.ndata > 1 ? "s" : "", dc.nspace,
           dc.nspace > 1 ? "s" : "", dc.px, dc.py);

  size_t tile = (size_t)C * dc.xm * dc.ym;
  float *buf;
  PIRF_ALLOC(buf, (size_t)chunk * tile, "generated sample tiles");
  pirf_dataset ds;
  int err = pirf_dataset_create(&ds, MPI_COMM_WORLD, path, N, C, dc.H, dc.W);
  double sums[3] = {0, 0, 0}, t0 = pirf_wtime();
  pirf_progress prog;
  pirf_progress_begin(&prog, "generate", "samples", N);
  for (long r = 0; r < rounds && !err; r++) {
    pirf_tile_block b = {first + r * chunk, 0, dc.xs, dc.xm, dc.ys, dc.ym};
    b.count = count - r * chunk < chunk ? count - r * chunk : chunk;
    if (b.count < 0) b.count = 0;
    if (b.count > 0) err = ph->pde->generate(ph, b.first, b.count, buf);
    double s[3] = {0, 0, 0};
    if (!err && b.count > 0) err = pirf_physics_residual_sums(ph, b.count, buf, &s[0], &s[1], &s[2]);
    if (!err && dc.space_rank == 0)
      for (int k = 0; k < 3; k++) sums[k] += s[k];
    if (!err) err = pirf_dataset_write(&ds, &b, buf);
    long done = (r + 1) * chunk * dc.ndata;
    pirf_progress_update(&prog, done < N ? done : N, NULL);
  }
  free(buf);
  if (err) {
    pirf_dataset_discard(&ds);
    pirf_physics_destroy(&ph);
    return err;
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  double seconds = pirf_wtime() - t0;
  double mse = sums[0] / sums[2], mae = sums[1] / sums[2];
  double sps = seconds * dc.ndata / (double)N;
  char extra[128];
  snprintf(extra, sizeof extra, "%.3g s/sample per data group", sps);
  pirf_progress_end(&prog, extra);
  PIRF_TRY(write_attributes(&ds, ph, cfg, mse, mae, sps));
  PIRF_TRY(pirf_dataset_commit(&ds));
  pirf_log("[generate] residual floor of the data: mean(R^2) = %.6e, mean(|R|) = %.6e\n", mse, mae);
  pirf_log("[generate] wrote %s\n", path);
  pirf_physics_destroy(&ph);
  pirf_decomp_destroy(&dc);
  return 0;
}
