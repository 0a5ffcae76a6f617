/* The rank layout: at 1, 2 and 4 ranks and every tile layout that fits, the tiles cover the grid
 * exactly once, every tile side is a multiple of 2^(levels-1) (so each U-Net level halves it
 * exactly), data groups split the samples into disjoint contiguous blocks covering all of them,
 * and neighbour ranks agree with each other's tiles. */
#include "pirf/check.h"
#include "pirf/decomp.h"
#include "pirf/level.h"
#include "testing.h"

#include <petscsys.h>
#include <stdlib.h>

static void check_layout(int px, int py, int H, int W, int levels) {
  pirf_decomp dc;
  int err = pirf_decomp_create(MPI_COMM_WORLD, H, W, px, py, levels, &dc);
  TEST_CHECK(!err, "layout %dx%d on %dx%d failed", px, py, H, W);
  if (err) return;
  int block = 1 << (levels - 1);
  TEST_CHECK(dc.xm % block == 0 && dc.ym % block == 0, "tile %dx%d not a multiple of %d", dc.xm,
             dc.ym, block);
  /* Coverage: count each global pixel over the space group. */
  int *cover = calloc((size_t)H * W, sizeof *cover);
  for (int j = 0; j < dc.ym; j++)
    for (int i = 0; i < dc.xm; i++) cover[(dc.ys + j) * W + dc.xs + i]++;
  MPI_Allreduce(MPI_IN_PLACE, cover, H * W, MPI_INT, MPI_SUM, dc.space);
  int bad = 0;
  for (int k = 0; k < H * W; k++) bad += cover[k] != 1;
  TEST_CHECK(bad == 0, "%d pixels not covered exactly once (tiles %dx%d)", bad, px, py);
  free(cover);
  /* Samples: disjoint contiguous blocks over groups, covering [0, N). */
  for (long N = 1; N <= 9; N += 4) {
    long first, count, total = 0;
    pirf_decomp_samples(&dc, N, &first, &count);
    long mine = dc.space_rank == 0 ? count : 0;
    MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    TEST_CHECK(total == N, "samples over groups sum to %ld, not %ld", total, N);
    TEST_CHECK(count <= pirf_decomp_max_samples(&dc, N), "max samples bound");
    long end = first + count, prev_end = 0;
    /* group g's first equals group g-1's end */
    MPI_Status st;
    if (dc.group > 0) MPI_Recv(&prev_end, 1, MPI_LONG, dc.world_rank - dc.nspace, 0, MPI_COMM_WORLD, &st);
    if (dc.group + 1 < dc.ndata) MPI_Send(&end, 1, MPI_LONG, dc.world_rank + dc.nspace, 0, MPI_COMM_WORLD);
    TEST_CHECK(dc.group == 0 ? first == 0 : first == prev_end, "blocks contiguous");
  }
  /* Levels: neighbour to the right starts where this tile ends. */
  for (int l = 0; l < levels; l++) {
    pirf_level L;
    pirf_level_init(&L, &dc, l);
    int r = L.nbr[1][2];
    if (r != MPI_PROC_NULL) {
      int xs, xm, ys, ym;
      pirf_level_tile_of(&L, r, &xs, &xm, &ys, &ym);
      TEST_CHECK(xs == L.xs + L.xm && ys == L.ys, "right neighbour at level %d", l);
    } else {
      TEST_CHECK(L.xs + L.xm == L.W, "no right neighbour only at the boundary (level %d)", l);
    }
    TEST_CHECK(L.nbr[1][1] == dc.space_rank, "self in nbr[1][1]");
  }
  pirf_decomp_destroy(&dc);
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pirf_error_set_trace(0);
  int layouts[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}, {4, 1}};
  for (int k = 0; k < 5; k++) {
    if (size % (layouts[k][0] * layouts[k][1])) continue;
    check_layout(layouts[k][0], layouts[k][1], 32, 32, 3);
    check_layout(layouts[k][0], layouts[k][1], 48, 24, 2); /* uneven blocks: 12 and 6 per side */
  }
  /* A grid that does not divide is a user error, reported collectively. */
  pirf_decomp dc;
  TEST_CHECK(pirf_decomp_create(MPI_COMM_WORLD, 30, 30, 1, 1, 3, &dc) == PIRF_ERR_USER,
             "30 is not a multiple of 4");
  TEST_CHECK(pirf_decomp_create(MPI_COMM_WORLD, 8, 8, 3, 1, 1, &dc) == PIRF_ERR_USER || size % 3 == 0,
             "3 tiles cannot divide %d ranks", size);
  int rc = test_finish("decomp_tiles_nest_and_cover_the_grid");
  PetscFinalize();
  return rc;
}
