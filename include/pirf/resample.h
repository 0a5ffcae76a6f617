/* EDM's resampling with resample_filter = [1, 1] (the 2x2 filter f (x) f / 4), tile-local.
 *
 *   down2: y[b][c][i][j] = (x[2i][2j] + x[2i][2j+1] + x[2i+1][2j] + x[2i+1][2j+1]) / 4
 *          (conv2d with the normalized 2x2 filter, stride 2: a 2x2 average pool)
 *   up2:   y[b][c][i][j] = x[i/2][j/2]
 *          (conv_transpose2d with the 2x2 ones filter (4 f (x) f / 4), stride 2: nearest 2x)
 *
 * `L` is always the level of the FINE tile (ym x xm): down2 maps [B*C][ym][xm] -> [B*C][ym/2][xm/2],
 * up2 maps [B*C][ym/2][xm/2] -> [B*C][ym][xm]. Tiles have even sides at every level that has a
 * coarser one (pirf_decomp), so no communication is needed. Pass n = B*C planes.
 * Forward overwrites y; backward ACCUMULATES into dx. No allocation. */
#ifndef PIRF_RESAMPLE_H
#define PIRF_RESAMPLE_H

#include "pirf/level.h"

void pirf_down2_forward(const pirf_level *Lfine, float *y, const float *x, int n);
void pirf_down2_backward(const pirf_level *Lfine, float *dx, const float *dy, int n);

void pirf_up2_forward(const pirf_level *Lfine, float *y, const float *x, int n);
void pirf_up2_backward(const pirf_level *Lfine, float *dx, const float *dy, int n);

#endif
