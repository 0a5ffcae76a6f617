/* Sample files (see pirf/samples.h). */
#include "pirf/samples.h"

#include "pirf/check.h"

#include <stdlib.h>
#include <string.h>

int pirf_samples_create(pirf_samples_file *sf, MPI_Comm comm, const char *path, long N, int C,
                        int Cr, int H, int W) {
  memset(sf, 0, sizeof *sf);
  sf->Cr = Cr;
  PIRF_ALLOC(sf->mse, N, "per-sample residual statistics");
  PIRF_ALLOC(sf->mae, N, "per-sample residual statistics");
  int err = pirf_dataset_create(&sf->ds, comm, path, N, C, H, W);
  if (err) {
    free(sf->mse);
    free(sf->mae);
    sf->mse = sf->mae = NULL;
    PIRF_TRY(err);
  }
  /* room for the physical and residual fields and the statistics as well */
  err = pirf_dataset_reserve(&sf->ds, (double)N * (2 * C + Cr) * H * W * sizeof(float) + 16.0 * N);
  if (err) {
    free(sf->mse);
    free(sf->mae);
    sf->mse = sf->mae = NULL;
    return err;
  }
  err = pirf_h5_create_fields(sf->ds.file, "physical", N, C, H, W, &sf->physical);
  if (!err) err = pirf_h5_create_fields(sf->ds.file, "residual", N, Cr, H, W, &sf->residual);
  if (err) pirf_samples_discard(sf);
  PIRF_TRY(err);
  return 0;
}

int pirf_samples_write(pirf_samples_file *sf, const pirf_tile_block *b, const float *x,
                       const float *phys, const float *R, const double *mse, const double *mae) {
  PIRF_TRY(pirf_dataset_write(&sf->ds, b, x));
  PIRF_TRY(pirf_h5_write_block(sf->physical, sf->ds.C, b, phys));
  PIRF_TRY(pirf_h5_write_block(sf->residual, sf->Cr, b, R));
  if (mse && mae)
    for (long n = 0; n < b->count; n++) {
      sf->mse[b->first + n] = mse[n];
      sf->mae[b->first + n] = mae[n];
    }
  return 0;
}

int pirf_samples_commit(pirf_samples_file *sf) {
  long N = sf->ds.N;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, sf->mse, (int)N, MPI_DOUBLE, MPI_SUM, sf->ds.comm));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, sf->mae, (int)N, MPI_DOUBLE, MPI_SUM, sf->ds.comm));
  /* the writers agree on failure (pirf/dataset.h), so every rank discards the file together */
  int err = pirf_h5_write_vector(sf->ds.file, "residual_mse", N, sf->mse);
  if (!err) err = pirf_h5_write_vector(sf->ds.file, "residual_mae", N, sf->mae);
  if (err) {
    pirf_samples_discard(sf);
    return err;
  }
  H5Dclose(sf->physical);
  H5Dclose(sf->residual);
  sf->physical = sf->residual = 0;
  free(sf->mse);
  free(sf->mae);
  sf->mse = sf->mae = NULL;
  return pirf_dataset_commit(&sf->ds); /* removes the .partial itself on failure */
}

void pirf_samples_discard(pirf_samples_file *sf) {
  if (sf->physical > 0) H5Dclose(sf->physical);
  if (sf->residual > 0) H5Dclose(sf->residual);
  sf->physical = sf->residual = 0;
  free(sf->mse);
  free(sf->mae);
  sf->mse = sf->mae = NULL;
  pirf_dataset_discard(&sf->ds);
}
