/* Sample files (`pirf sample`, `pirf evaluate`): like a data set (/fields, normalized, with the same
 * attributes), plus the physical fields, the residual field and each sample's residual statistics:
 *
 *   /fields        float32 (N, C, H, W)   normalized samples
 *   /physical      float32 (N, C, H, W)   physical units (x - shift) / scale
 *   /residual      float32 (N, Cr, H, W)  the PDE residual R in physical units
 *   /residual_mse  float64 (N)            mean(R^2) of each sample
 *   /residual_mae  float64 (N)            mean(|R|) of each sample
 *   attributes: those of a data set (pde, channel_names, norm_scale, norm_shift, ...), plus
 *   method, steps, nfe, seconds_per_sample, checkpoint, zeta, guided_fraction, corrections.
 *
 * Written collectively; under <path>.partial until pirf_samples_commit. */
#ifndef PIRF_SAMPLES_H
#define PIRF_SAMPLES_H

#include "pirf/dataset.h"

typedef struct {
  pirf_dataset ds;    /* /fields and the file */
  hid_t physical, residual;
  int Cr;
  double *mse, *mae;  /* [N], filled by the writers of each block, reduced at commit */
} pirf_samples_file;

int pirf_samples_create(pirf_samples_file *sf, MPI_Comm comm, const char *path, long N, int C,
                        int Cr, int H, int W);
/* One collective block: normalized, physical and residual tiles of samples b->first.. (count may
 * be 0), and their per-sample statistics (count values each; one writer per data group passes
 * them, the others NULL). */
int pirf_samples_write(pirf_samples_file *sf, const pirf_tile_block *b, const float *x,
                       const float *phys, const float *R, const double *mse, const double *mae);
/* Reduce the statistics, write them, close and rename. */
int pirf_samples_commit(pirf_samples_file *sf);
void pirf_samples_discard(pirf_samples_file *sf);

#endif
