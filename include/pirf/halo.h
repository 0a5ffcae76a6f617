/* The one-cell halo of a network activation tile, and its adjoint.
 *
 * Activations are stored unpadded, [n][ym][xm] (n = B*C planes of this rank's tile at level L). A
 * 3x3 convolution needs each plane with a one-cell frame, [n][ym+2][xm+2]: the frame holds the
 * neighbouring tiles' edge cells (8 neighbours: 4 edges, 4 corners) and zeros beyond the physical
 * boundary, which is exactly PyTorch's zero padding of the whole field.
 *
 *   pirf_halo_pad         xp = P x        (interior copied, frame filled from the neighbours)
 *   pirf_halo_unpad_add   xbar += P^T xpbar  (interior added; each frame cell sent back to the
 *                                             rank that owns it and added there; cells beyond the
 *                                             physical boundary are dropped)
 * so <P x, p> == <x, P^T p> summed over the space communicator.
 *
 * Both are collective over L->comm (every rank of the space group calls them with the same n) and
 * send one message per neighbour per call, whatever n is. They do not allocate: `buf` is caller
 * scratch of pirf_halo_scratch_floats(L, n) floats (send and receive edge buffers). x and xp must
 * not overlap. */
#ifndef PIRF_HALO_H
#define PIRF_HALO_H

#include "pirf/level.h"

#include <stddef.h>

size_t pirf_halo_scratch_floats(const pirf_level *L, int n);

/* xp[n][ym+2][xm+2] = x[n][ym][xm] with its halo frame. */
int pirf_halo_pad(const pirf_level *L, int n, const float *x, float *xp, float *buf);
/* xbar[n][ym][xm] += the adjoint of pirf_halo_pad applied to xpbar[n][ym+2][xm+2]. */
int pirf_halo_unpad_add(const pirf_level *L, int n, const float *xpbar, float *xbar, float *buf);

#endif
