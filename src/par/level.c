/* U-Net levels of the tile decomposition (see pirf/level.h). */
#include "pirf/level.h"

void pirf_level_init(pirf_level *L, const pirf_decomp *dc, int level) {
  L->dc = dc;
  L->comm = dc->space;
  L->level = level;
  L->H = dc->H >> level;
  L->W = dc->W >> level;
  pirf_decomp_tile(dc, level, &L->xs, &L->xm, &L->ys, &L->ym);
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int tx = dc->tx + dx, ty = dc->ty + dy;
      L->nbr[dy + 1][dx + 1] =
          (tx < 0 || ty < 0 || tx >= dc->px || ty >= dc->py) ? MPI_PROC_NULL : ty * dc->px + tx;
    }
}

void pirf_level_tile_of(const pirf_level *L, int r, int *xs, int *xm, int *ys, int *ym) {
  const pirf_decomp *dc = L->dc;
  int tx = r % dc->px, ty = r / dc->px;
  int x0 = 0, y0 = 0;
  for (int i = 0; i < tx; i++) x0 += dc->lx[i];
  for (int j = 0; j < ty; j++) y0 += dc->ly[j];
  *xs = x0 >> L->level;
  *xm = dc->lx[tx] >> L->level;
  *ys = y0 >> L->level;
  *ym = dc->ly[ty] >> L->level;
}
