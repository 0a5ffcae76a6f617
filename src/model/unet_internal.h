/* Private to src/model: the tensors of one UNetBlock evaluation and the scratch it works in, shared
 * by the block (unet_block.c) and the network driver (unet_eval.c). */
#ifndef PIRF_UNET_INTERNAL_H
#define PIRF_UNET_INTERNAL_H

#include "pirf/dropout.h"
#include "pirf/level.h"
#include "pirf/unet.h"
#include "pirf/unet_eval.h"

/* One block's activations. With a tape the recorded ones (xin, statistics, h1, hA, qkv, att, a,
 * out) are the tape's own tensors; the norm outputs y0, y1, y2 and, without tape, everything else
 * point into the work's scratch, where several alias (unet_eval.c says which). The backward reads
 * only the recorded ones and rebuilds the norm outputs. Sizes with B samples, n_in / n the tile
 * pixels at the input / output level. */
typedef struct {
  const float *xin;             /* [B][cin][n_in] block input (decoder: [x, skip] concatenated) */
  float *y0, *mean0, *rstd0;    /* norm0(xin) [B][cin][n_in] (scratch); stats [B][groups0] */
  float *h1, *mean1, *rstd1;    /* conv0(...) + affine(emb) [B][cout][n] (norm1's input) */
  float *y1;                    /* norm1(h1) [B][cout][n] (SiLU's input; scratch) */
  float *hA;                    /* attention blocks: the residual output [B][cout][n] */
  float *y2, *mean2, *rstd2;    /* norm2(hA) [B][cout][n] (scratch) */
  float *qkv;                   /* [B][3 cout][n], EDM's interleaved order */
  float *att;                   /* softmax weights [B][n][N] (NULL: not saved) */
  float *a;                     /* attention output [B][cout][n] (proj's input) */
  float *out;                   /* [B][cout][n] */
} unet_block_acts;

/* Scratch shared by every module: tmp[0..4] are buffers of tmp_floats each (the largest block
 * tensor of the batch, qkv included); tmp[5] holds the largest qkv only (a forward without tape
 * keeps qkv there); aff holds one block's affine term or its gradient [B][cout]. */
typedef struct {
  float *tmp[6];
  size_t tmp_floats;
  float *xin;                   /* backward only, tmp_floats: a decoder block's [x, skip] input,
                                   concatenated again from the two tape outputs it was made of */
  float *aff;
  float *conv;                  /* pirf_conv2d scratch (the largest conv) */
  double *gn;                   /* pirf_groupnorm work */
  void *attn;                   /* pirf_attention scratch */
  const pirf_level *levels;     /* [cfg.levels] */
} unet_scratch;

/* sqrt(0.5): EDM's skip_scale for the residual sum and the attention sum. */
#define UNET_SKIP_SCALE 0.70710678118654752440f
#define UNET_GN_EPS 1e-6f

/* Forward of UNetBlock m on activations t (t->xin set; t->out the destination). emb [B][E].
 * drop = NULL: no dropout. y0 and y1 may alias each other (tmp[0]) and, without tape, h1 and y1
 * (tmp[1]); y0 must not be xin. Uses tmp[2], tmp[3]. */
int unet_block_forward(const pirf_unet *net, const pirf_unet_module *m, const float *params,
                       const float *emb, int B, const pirf_dropout_key *drop,
                       unet_block_acts *t, unet_scratch *s);

/* Backward of block m from its tape entries t (t->xin: the block input, rebuilt by the caller for a
 * decoder block) and the output cotangent dout: dxin += d/dxin (dxin [B][cin][n_in]), demb +=
 * d/demb (a partial sum, like every parameter gradient), and dparams (may be NULL) gets the
 * block's parameter gradients. Uses tmp[0..3]; ignores t->y0, y1, y2. */
int unet_block_backward(const pirf_unet *net, const pirf_unet_module *m, const float *params,
                        const float *emb, int B, const pirf_dropout_key *drop,
                        const unet_block_acts *t, const float *dout, float *dxin, float *demb,
                        float *dparams, unet_scratch *s);

/* Work buffers of the full-resolution network input/output size ([B][max(Cin, Cout)][n0]) for
 * the preconditioning wrapper: i = 0..3 (i = 4: [B] floats for c_noise); and the tape's record of sigma [B]. */
float *unet_work_io(pirf_unet_work *w, int i);
size_t unet_work_pixels(const pirf_unet_work *w);
double *unet_tape_sigma(const pirf_unet_tape *t);
int unet_tape_batch(const pirf_unet_tape *t);
/* The physics-gradient branch's buffers (networks with model.physics_gradient; NULL otherwise).
 * Work: i = 0 GELU output g, 1 its cotangent, 2 the 1x1 output h without tape ([B][Hc][n0] each),
 * 3 a [B][C][n0] buffer for dx = 0. Tape: i = 0 dx, 1 h (full tapes only). */
float *unet_work_pg(pirf_unet_work *w, int i);
float *unet_tape_pg(const pirf_unet_tape *t, int i);
int unet_tape_full(const pirf_unet_tape *t);
float *unet_work_conv_scratch(pirf_unet_work *w);
const pirf_level *unet_work_level0(const pirf_unet_work *w);

#endif
