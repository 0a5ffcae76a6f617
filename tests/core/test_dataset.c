/* HDF5 data sets written collectively by every layout (1 rank; 2 tiles; 2x2 tiles; 2 data groups
 * of 2 tiles; 4 data groups) hold exactly the values each rank wrote, read back tile-wise by a
 * different layout; files appear under their real name only after commit; attributes round-trip;
 * opening a missing file is a user error. */
#include "pirf/check.h"
#include "pirf/dataset.h"
#include "pirf/decomp.h"
#include "testing.h"

#include <petscsys.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float value(long n, int c, int y, int x) { return (float)(n * 1000 + c * 100 + y + 0.01 * x); }

static void fill(const pirf_decomp *dc, long first, long count, int C, float *buf) {
  for (long n = 0; n < count; n++)
    for (int c = 0; c < C; c++)
      for (int j = 0; j < dc->ym; j++)
        for (int i = 0; i < dc->xm; i++)
          buf[((n * C + c) * dc->ym + j) * dc->xm + i] = value(first + n, c, dc->ys + j, dc->xs + i);
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const long N = 7;
  const int C = 2, H = 16, W = 12;
  int wl[2] = {size >= 2 ? 2 : 1, size >= 4 ? 2 : 1}; /* write layout */
  int rl[2] = {1, size >= 2 ? 2 : 1};                 /* read layout: different */
  char path[64];
  snprintf(path, sizeof path, "test_dataset_np%d.h5", size);
  pirf_decomp dw, dr;
  TEST_CHECK(!pirf_decomp_create(MPI_COMM_WORLD, H, W, wl[0], wl[1], 1, &dw), "write layout");
  TEST_CHECK(!pirf_decomp_create(MPI_COMM_WORLD, H, W, rl[0], rl[1], 1, &dr), "read layout");

  pirf_dataset ds;
  TEST_CHECK(!pirf_dataset_create(&ds, MPI_COMM_WORLD, path, N, C, H, W), "create");
  long first, count;
  pirf_decomp_samples(&dw, N, &first, &count);
  float *buf = calloc((size_t)N * C * H * W, sizeof *buf);
  /* two rounds of at most 2 samples, then empty rounds for groups that finished */
  long rounds = (pirf_decomp_max_samples(&dw, N) + 1) / 2;
  for (long r = 0; r < rounds; r++) {
    pirf_tile_block b = {first + 2 * r, count - 2 * r > 2 ? 2 : count - 2 * r, dw.xs, dw.xm, dw.ys, dw.ym};
    if (b.count < 0) b.count = 0;
    fill(&dw, b.first, b.count, C, buf);
    TEST_CHECK(!pirf_dataset_write(&ds, &b, buf), "write round %ld", r);
  }
  double spacing = 0.25, norm[2] = {0.2, 115};
  TEST_CHECK(!pirf_attr_write_str(ds.file, "pde", "darcy"), "attr str");
  TEST_CHECK(!pirf_attr_write_double(ds.file, "norm_scale", 2, norm), "attr vector");
  TEST_CHECK(!pirf_attr_write_double(ds.file, "grid_spacing", 1, &spacing), "attr scalar");
  MPI_Barrier(MPI_COMM_WORLD);
  TEST_CHECK(access(path, F_OK) != 0, "the file must not exist under its real name before commit");
  TEST_CHECK(!pirf_dataset_commit(&ds), "commit");
  TEST_CHECK(access(path, F_OK) == 0, "file exists after commit");
  char partial[80];
  snprintf(partial, sizeof partial, "%s.partial", path);
  TEST_CHECK(access(partial, F_OK) != 0, "partial file gone after commit");

  /* Read back everything with the other layout. */
  pirf_dataset in;
  TEST_CHECK(!pirf_dataset_open(&in, MPI_COMM_WORLD, path, "test"), "open");
  TEST_CHECK(in.N == N && in.C == C && in.H == H && in.W == W, "shape");
  pirf_decomp_samples(&dr, N, &first, &count);
  pirf_tile_block b = {first, count, dr.xs, dr.xm, dr.ys, dr.ym};
  TEST_CHECK(!pirf_dataset_read(&in, &b, buf), "read");
  int bad = 0;
  for (long n = 0; n < count; n++)
    for (int c = 0; c < C; c++)
      for (int j = 0; j < dr.ym; j++)
        for (int i = 0; i < dr.xm; i++)
          bad += buf[((n * C + c) * dr.ym + j) * dr.xm + i] != value(first + n, c, dr.ys + j, dr.xs + i);
  TEST_CHECK(bad == 0, "%d values differ after the round trip", bad);
  char *pde = NULL;
  double nb[2] = {0, 0}, sp = 0;
  TEST_CHECK(!pirf_attr_read_str(in.file, "pde", &pde) && pde && !strcmp(pde, "darcy"), "attr str back");
  TEST_CHECK(!pirf_attr_read_double(in.file, "norm_scale", 2, nb) && nb[1] == 115, "attr vector back");
  TEST_CHECK(!pirf_attr_read_double(in.file, "grid_spacing", 1, &sp) && sp == 0.25, "attr scalar back");
  long ver = 0;
  TEST_CHECK(!pirf_attr_read_long(in.file, "format_version", &ver) && ver == PIRF_FORMAT_VERSION, "version");
  pirf_error_set_trace(0);
  TEST_CHECK(pirf_attr_read_long(in.file, "no_such_attr", &ver) == PIRF_ERR_USER, "missing attribute");
  free(pde);
  pirf_dataset_close(&in);
  TEST_CHECK(pirf_dataset_open(&in, MPI_COMM_WORLD, "no_such_file.h5", "data.path") == PIRF_ERR_USER,
             "missing file is a user error");
  free(buf);
  pirf_decomp_destroy(&dw);
  pirf_decomp_destroy(&dr);
  if (rank == 0) unlink(path);
  int rc = test_finish("dataset_roundtrip_at_any_layout");
  PetscFinalize();
  return rc;
}
