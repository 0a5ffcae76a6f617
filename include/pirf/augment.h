/* EDM's augmentation pipeline for pretraining (docs/pretrain.md, "Augmentation"; EDM's
 * AugmentPipe as DiffusionPDE's base models were trained with it: train.py --augment 0.12 turns on
 * xflip = 1e8, yflip, scale, rotate_frac, aniso and translate_frac, and the network gets
 * augment_dim = 9 labels through map_augment).
 *
 * Per training sample, in EDM's order:
 *   pixel blitting   xflip, yflip: each applied with probability min(1, mult * p), then to the
 *                    sample with probability 1/2 (label: 1 if flipped, else 0);
 *   geometric        one inverse matrix G_inv (output pixel -> input pixel, pixel units, origin at
 *                    the centre) made of, each with probability mult * p:
 *                      isotropic scaling 2^(0.2 w), w ~ N(0,1)              label w
 *                      rotation by w ~ U(-pi, pi)                           labels cos w - 1, sin w
 *                      anisotropic scaling 2^(0.2 w) along an axis at angle r ~ U(-pi, pi)
 *                      (r = 0 with probability 1/2)                         labels w cos r, w sin r
 *                      translation by (w0 W, w1 H) / 8, w ~ N(0,1)          labels w0, w1
 *                    and then executed as EDM does whenever any geometric multiplier is nonzero,
 *                    even for a sample whose draws all failed: reflect padding by the transformed
 *                    corners' margin, 2x upsampling with the sym6 wavelet filter, bilinear sampling
 *                    (zeros outside), sym6 downsampling and the crop back to H x W.
 * A label of a transformation that did not happen is 0, so no augmentation is the zero label
 * vector (what sampling feeds, by feeding none). The 9 labels are always in this order; an
 * operation whose multiplier is 0 keeps its slots at 0 (EDM drops them, which only works when all
 * six are on, as in train.py).
 *
 * Differences from EDM, both so that a sample's augmentation is a function of the sample and its
 * key alone (the same at any rank layout and batch split):
 *   - the padding margin is each sample's own, not the maximum over the GPU's batch (a larger
 *     margin only adds reflected pixels that the filters and the sampling never reach, up to the
 *     sym6 filter's tails);
 *   - the random draws are Philox numbers keyed by (seed, step, global slot, draw index), not
 *     torch's generator; the margin is computed in double.
 * Each draw k of the sample in global slot s of optimizer step t is
 * pirf_rng_uniform/normal(seed, PIRF_STREAM_AUGMENT, t, s, k, 0). */
#ifndef PIRF_AUGMENT_H
#define PIRF_AUGMENT_H

#include "pirf/decomp.h"

#include <stddef.h>
#include <stdint.h>

#define PIRF_AUGMENT_DIM 9

typedef struct {
  double p;                                   /* pretrain.augment (EDM --augment) */
  double xflip, yflip;                        /* probability multipliers (pretrain.augment_ops) */
  double scale, rotate_frac, aniso, translate_frac;
} pirf_augment_opts;

/* What one sample's draws decided. */
typedef struct {
  int xflip, yflip;            /* flip the columns / the rows */
  int geometric;               /* run the resampling (any geometric multiplier > 0) */
  double G[3][3];              /* G_inv: output pixel (x, y, 1) -> input pixel, centred */
  float labels[PIRF_AUGMENT_DIM];
} pirf_augment_draw;

void pirf_augment_draw_sample(const pirf_augment_opts *o, uint32_t seed, uint32_t step,
                              uint32_t slot, int H, int W, pirf_augment_draw *d);

/* Floats of scratch pirf_augment_apply needs for an H x W channel. */
size_t pirf_augment_scratch_floats(int H, int W);
/* out[C][H][W] = the augmented x[C][H][W] (a whole sample; out must not alias x). */
void pirf_augment_apply(const pirf_augment_draw *d, int C, int H, int W, const float *x,
                        float *out, float *scratch);

/* One rank's buffers for augmenting tiles of C-channel samples on decomposition dc. */
typedef struct {
  pirf_augment_opts o;
  int C;
  float *whole, *out, *scratch; /* [C][H][W], [C][H][W], pirf_augment_scratch_floats */
  int *counts, *displs;         /* Allgatherv over dc->space: floats per space rank */
  int *xs, *ys;                 /* each space rank's tile origin (prefix sums of lx, ly) */
  float *gather;                /* [sum of counts] */
} pirf_augment_buf;

int pirf_augment_buf_create(pirf_augment_buf *ab, const pirf_augment_opts *o, const pirf_decomp *dc,
                            int C);
void pirf_augment_buf_destroy(pirf_augment_buf *ab);

/* The augmented tiles y[B][C][ym][xm] and labels[B][PIRF_AUGMENT_DIM] of this rank's samples in
 * global slots [slot0, slot0 + B) of step `step`, from their tiles x: each sample is gathered
 * whole over dc->space, augmented on every rank of the group alike, and cut back to the tile.
 * Collective over dc->space (every rank with the same B). */
int pirf_augment_tiles(pirf_augment_buf *ab, const pirf_decomp *dc, uint32_t seed, uint32_t step,
                       long slot0, int B, const float *x, float *y, float *labels);

#endif
