/* One U-Net resolution level of the tile decomposition.
 *
 * Level l halves the level-0 tiles l times (pirf_decomp guarantees they divide). Layers get a
 * pirf_level to know this rank's tile, the global size, and who the neighbours are:
 *   nbr[dy+1][dx+1] is the space rank of the tile dy rows / dx columns away (dy = -1 is the tile
 *   above, i.e. smaller row indices), MPI_PROC_NULL beyond the physical boundary; nbr[1][1] is
 *   this rank. The physical boundary is not periodic (U-Net convolutions zero-pad). */
#ifndef PIRF_LEVEL_H
#define PIRF_LEVEL_H

#include "pirf/decomp.h"

typedef struct {
  const pirf_decomp *dc;
  MPI_Comm comm;        /* the space communicator (ranks sharing one sample) */
  int level;
  int H, W;             /* global rows and columns at this level */
  int xs, xm, ys, ym;   /* this rank's tile at this level */
  int nbr[3][3];
} pirf_level;

void pirf_level_init(pirf_level *L, const pirf_decomp *dc, int level);
/* The tile of space rank r at this level. */
void pirf_level_tile_of(const pirf_level *L, int r, int *xs, int *xm, int *ys, int *ym);

#endif
