/* The rank layout: data groups x spatial tiles (see pirf/decomp.h). */
#include "pirf/decomp.h"

#include "pirf/check.h"

#include <stdlib.h>
#include <string.h>

/* Split n points into p ranges, each a multiple of `block`, as even as possible. */
static int split(int n, int p, int block, const char *axis, int *out) {
  PIRF_USER_CHECK(n % block == 0,
                  "the grid's %s size %d is not a multiple of %d = 2^(levels-1), which every "
                  "U-Net level needs; choose grid.resolution as a multiple of %d",
                  axis, n, block, block);
  int nb = n / block;
  PIRF_USER_CHECK(nb >= p,
                  "the grid's %s size %d cannot be split into %d tiles whose sides are multiples "
                  "of %d (at most %d tiles fit); lower parallel.tiles or raise grid.resolution",
                  axis, n, p, block, nb);
  for (int i = 0; i < p; i++) out[i] = block * (nb / p + (i < nb % p ? 1 : 0));
  return 0;
}

int pirf_decomp_create(MPI_Comm world, int H, int W, int px, int py, int levels, pirf_decomp *dc) {
  memset(dc, 0, sizeof *dc);
  dc->world = world;
  PIRF_MPI(MPI_Comm_rank(world, &dc->world_rank));
  PIRF_MPI(MPI_Comm_size(world, &dc->world_size));
  PIRF_USER_CHECK(px >= 1 && py >= 1, "parallel.tiles must be two positive integers, got [%d, %d]",
                  px, py);
  dc->px = px;
  dc->py = py;
  dc->nspace = px * py;
  PIRF_USER_CHECK(dc->world_size % dc->nspace == 0,
                  "parallel.tiles [%d, %d] needs %d ranks per sample, which does not divide the %d "
                  "ranks of this job; run with a multiple of %d ranks or change parallel.tiles",
                  px, py, dc->nspace, dc->world_size, dc->nspace);
  dc->ndata = dc->world_size / dc->nspace;
  dc->group = dc->world_rank / dc->nspace;
  dc->space_rank = dc->world_rank % dc->nspace;
  dc->tx = dc->space_rank % px;
  dc->ty = dc->space_rank / px;
  dc->H = H;
  dc->W = W;
  dc->levels = levels < 1 ? 1 : levels;
  int block = 1 << (dc->levels - 1);
  PIRF_ALLOC(dc->lx, px, "tile ranges");
  PIRF_ALLOC(dc->ly, py, "tile ranges");
  PIRF_TRY(split(W, px, block, "x (column)", dc->lx));
  PIRF_TRY(split(H, py, block, "y (row)", dc->ly));
  for (int i = 0; i < dc->tx; i++) dc->xs += dc->lx[i];
  for (int j = 0; j < dc->ty; j++) dc->ys += dc->ly[j];
  dc->xm = dc->lx[dc->tx];
  dc->ym = dc->ly[dc->ty];
  PIRF_MPI(MPI_Comm_split(world, dc->group, dc->space_rank, &dc->space));
  PIRF_MPI(MPI_Comm_split(world, dc->space_rank, dc->group, &dc->data));
  return 0;
}

void pirf_decomp_destroy(pirf_decomp *dc) {
  if (dc->space != MPI_COMM_NULL && dc->space) MPI_Comm_free(&dc->space);
  if (dc->data != MPI_COMM_NULL && dc->data) MPI_Comm_free(&dc->data);
  free(dc->lx);
  free(dc->ly);
  memset(dc, 0, sizeof *dc);
}

void pirf_decomp_tile(const pirf_decomp *dc, int level, int *xs, int *xm, int *ys, int *ym) {
  *xs = dc->xs >> level;
  *xm = dc->xm >> level;
  *ys = dc->ys >> level;
  *ym = dc->ym >> level;
}

void pirf_decomp_samples(const pirf_decomp *dc, long N, long *first, long *count) {
  long g = dc->group, G = dc->ndata;
  *first = N * g / G;
  *count = N * (g + 1) / G - *first;
}

long pirf_decomp_max_samples(const pirf_decomp *dc, long N) {
  return (N + dc->ndata - 1) / dc->ndata;
}

int pirf_decomp_dmda(const pirf_decomp *dc, int dof, int sw, DMBoundaryType bx, DMBoundaryType by,
                     DMDAStencilType stype, DM *da) {
  PetscInt *lx, *ly;
  PIRF_ALLOC(lx, dc->px, "DMDA ranges");
  PIRF_ALLOC(ly, dc->py, "DMDA ranges");
  for (int i = 0; i < dc->px; i++) lx[i] = dc->lx[i];
  for (int j = 0; j < dc->py; j++) ly[j] = dc->ly[j];
  PIRF_PETSC(DMDACreate2d(dc->space, bx, by, stype, dc->W, dc->H, dc->px, dc->py, dof, sw, lx, ly, da));
  PIRF_PETSC(DMSetUp(*da));
  free(lx);
  free(ly);
  PetscInt xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetCorners(*da, &xs, &ys, NULL, &xm, &ym, NULL));
  PIRF_CHECK(xs == dc->xs && ys == dc->ys && xm == dc->xm && ym == dc->ym,
             "DMDA tile (%d,%d)+(%d,%d) differs from the decomposition's (%d,%d)+(%d,%d)",
             (int)xs, (int)ys, (int)xm, (int)ym, dc->xs, dc->ys, dc->xm, dc->ym);
  return 0;
}
