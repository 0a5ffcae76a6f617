/* The rank layout: data-parallel groups x spatial tiles.
 *
 * The world communicator splits into `ndata` data groups of nspace = px*py ranks. Inside a group,
 * space rank r = ty*px + tx owns tile (tx, ty) of every sample: columns [xs, xs+xm) and rows
 * [ys, ys+ym) of the H x W grid (x = columns = the fastest index, as in PETSc's DMDA). Groups
 * work on disjoint blocks of samples. Ranks with the same tile position in different groups form
 * the `data` communicator (replicas of one tile, for gradient reduction).
 *
 * Tile sides are multiples of 2^(levels-1) so every U-Net level halves each tile exactly: at level
 * l the tile is columns [xs>>l, (xs+xm)>>l). The ownership ranges are balanced in units of that
 * block; a grid that cannot be split that way is a user error that says what would work. */
#ifndef PIRF_DECOMP_H
#define PIRF_DECOMP_H

#include <mpi.h>
#include <petscdmda.h>

typedef struct {
  MPI_Comm world, space, data;
  int world_rank, world_size;
  int px, py, nspace, ndata;
  int group, space_rank, tx, ty;
  int H, W, levels;
  int *lx, *ly;              /* ownership ranges: lx[tx] columns, ly[ty] rows */
  int xs, xm, ys, ym;        /* this rank's tile at full resolution */
} pirf_decomp;

/* Collective over world. levels >= 1 (1 = no nesting constraint). */
int pirf_decomp_create(MPI_Comm world, int H, int W, int px, int py, int levels, pirf_decomp *dc);
void pirf_decomp_destroy(pirf_decomp *dc);
/* This rank's tile at U-Net level l (0 = full resolution). */
void pirf_decomp_tile(const pirf_decomp *dc, int level, int *xs, int *xm, int *ys, int *ym);
/* This data group's share of N samples: a contiguous block [first, first+count). */
void pirf_decomp_samples(const pirf_decomp *dc, long N, long *first, long *count);
/* The largest share any group gets (the number of rounds of a collective loop over samples). */
long pirf_decomp_max_samples(const pirf_decomp *dc, long N);
/* A 2-D DMDA over this group's tiles (at level 0), dof values per point, stencil width sw. */
int pirf_decomp_dmda(const pirf_decomp *dc, int dof, int sw, DMBoundaryType bx, DMBoundaryType by,
                     DMDAStencilType stype, DM *da);

#endif
