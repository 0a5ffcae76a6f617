/* EDM's UNetBlock (adaptive_scale = False, num_heads = 1, resample_proj = True), forward and
 * backward side by side (docs/algorithm.md §4.4):
 *
 *   h   = conv0( resample( SiLU( norm0(x) ) ) ) + affine(emb)           3x3; resample = up2/down2/none
 *   h   = conv1( dropout( SiLU( norm1(h) ) ) )                          3x3
 *   out = ( h + skip(x) ) * sqrt(1/2)          skip = 1x1 conv of resample(x), or x itself
 *   attention blocks:  out = ( proj( attn( qkv( norm2(out) ) ) ) + out ) * sqrt(1/2)
 *
 * EDM resamples inside conv0 and skip before their convolution (Conv2d with up/down,
 * fused_resample = False); the SiLU commutes with the nearest-neighbour up2 but not with down2's
 * average, so the order (SiLU, then resample) is kept as EDM has it.
 *
 * The forward normalises and applies SiLU in place in work scratch (y0, y1, y2 are never on the
 * tape); the backward rebuilds each norm output from its input (xin, h1, hA, all on the tape) and
 * the stored statistics with pirf_groupnorm_apply, the forward's own code, so the gradients are
 * bit-for-bit those of keeping the outputs (docs/architecture.md, memory plan). */
#include "unet_internal.h"

#include "pirf/attention.h"
#include "pirf/check.h"
#include "pirf/conv2d.h"
#include "pirf/groupnorm.h"
#include "pirf/linear.h"
#include "pirf/resample.h"
#include "pirf/silu.h"

#include <string.h>

static const float *weight(const pirf_unet *net, const float *params, int i) {
  return params + net->table.p[i].offset;
}
static const float *bias(const pirf_unet *net, const float *params, int i) {
  return params + net->table.p[i + 1].offset;
}
static float *dweight(const pirf_unet *net, float *dparams, int i) {
  return dparams ? dparams + net->table.p[i].offset : NULL;
}
static float *dbias(const pirf_unet *net, float *dparams, int i) {
  return dparams ? dparams + net->table.p[i + 1].offset : NULL;
}

static size_t tile(const pirf_level *L) { return (size_t)L->xm * L->ym; }

/* The block's resampling from the input level to the output level, on `planes` planes. */
static void resample_forward(const pirf_unet_module *m, const unet_scratch *s, float *y,
                             const float *x, int planes) {
  if (m->down) pirf_down2_forward(&s->levels[m->in_level], y, x, planes);
  if (m->up) pirf_up2_forward(&s->levels[m->level], y, x, planes);
}
static void resample_backward(const pirf_unet_module *m, const unet_scratch *s, float *dx,
                              const float *dy, int planes) {
  if (m->down) pirf_down2_backward(&s->levels[m->in_level], dx, dy, planes);
  if (m->up) pirf_up2_backward(&s->levels[m->level], dx, dy, planes);
}

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

/* GroupNorm `part` of block m rebuilt from its input and the forward's statistics: the tape keeps
 * no norm outputs, and pirf_groupnorm_apply gives exactly the forward's floats. */
static int norm(const pirf_unet *net, int part, const float *params,
                float *y, const float *x, const float *mean, const float *rstd, int B, int C,
                int G, const pirf_level *L) {
  return pirf_groupnorm_apply(y, x, mean, rstd, weight(net, params, part), bias(net, params, part),
                              B, C, G, L);
}

int unet_block_forward(const pirf_unet *net, const pirf_unet_module *m, const float *params,
                       const float *emb, int B, const pirf_dropout_key *drop,
                       unet_block_acts *t, unet_scratch *s) {
  const pirf_level *Li = &s->levels[m->in_level], *L = &s->levels[m->level];
  const size_t ni = tile(Li), n = tile(L);
  const int cin = m->cin, cout = m->cout, E = net->cfg.emb_channels;
  const int resampled = m->up || m->down;
  float *T1 = s->tmp[2], *T2 = s->tmp[3];
  const float p = (float)net->cfg.dropout;

  /* norm0, SiLU in place (the backward rebuilds y0 from xin and the statistics), resample, conv0 */
  PIRF_TRY(pirf_groupnorm_forward(t->y0, t->mean0, t->rstd0, t->xin, weight(net, params, m->norm0),
                                  bias(net, params, m->norm0), B, cin, m->groups0, UNET_GN_EPS, Li,
                                  s->gn));
  pirf_silu_forward(t->y0, t->y0, (size_t)B * cin * ni);
  const float *r0 = t->y0;
  if (resampled) {
    resample_forward(m, s, T2, t->y0, B * cin);
    r0 = T2;
  }
  PIRF_TRY(pirf_conv2d_forward(L, t->h1, r0, weight(net, params, m->conv0),
                               bias(net, params, m->conv0), B, cin, cout, 3, s->conv));

  /* + affine(emb), broadcast over the pixels (adaptive_scale = False: a shift only) */
  pirf_linear_forward(s->aff, emb, weight(net, params, m->affine), bias(net, params, m->affine), B,
                      E, cout);
  for (int b = 0; b < B; b++)
    for (int c = 0; c < cout; c++) {
      float v = s->aff[(size_t)b * cout + c], *h = t->h1 + ((size_t)b * cout + c) * n;
      for (size_t k = 0; k < n; k++) h[k] += v;
    }

  /* norm1, SiLU in place (rebuilt in the backward from h1, which the tape keeps), dropout, conv1 */
  PIRF_TRY(pirf_groupnorm_forward(t->y1, t->mean1, t->rstd1, t->h1, weight(net, params, m->norm1),
                                  bias(net, params, m->norm1), B, cout, m->groups1, UNET_GN_EPS, L,
                                  s->gn));
  pirf_silu_forward(t->y1, t->y1, (size_t)B * cout * n);
  const float *d1 = t->y1;
  if (drop && p > 0) {
    PIRF_TRY(pirf_dropout_forward(T2, t->y1, p, drop, B, cout, L));
    d1 = T2;
  }
  float *res = m->attention ? t->hA : t->out;
  PIRF_TRY(pirf_conv2d_forward(L, res, d1, weight(net, params, m->conv1),
                               bias(net, params, m->conv1), B, cout, cout, 3, s->conv));

  /* the residual sum, scaled so the variance stays that of one branch */
  const size_t nout = (size_t)B * cout * n;
  if (m->skip >= 0) {
    const float *r = t->xin;
    if (resampled) {
      resample_forward(m, s, T1, t->xin, B * cin);
      r = T1;
    }
    PIRF_TRY(pirf_conv2d_forward(L, T2, r, weight(net, params, m->skip),
                                 bias(net, params, m->skip), B, cin, cout, 1, NULL));
    for (size_t k = 0; k < nout; k++) res[k] = (res[k] + T2[k]) * UNET_SKIP_SCALE;
  } else {
    for (size_t k = 0; k < nout; k++) res[k] = (res[k] + t->xin[k]) * UNET_SKIP_SCALE;
  }
  if (!m->attention) return 0;

  /* self-attention over all tokens of the level */
  PIRF_TRY(pirf_groupnorm_forward(t->y2, t->mean2, t->rstd2, t->hA, weight(net, params, m->norm2),
                                  bias(net, params, m->norm2), B, cout, m->groups1, UNET_GN_EPS, L,
                                  s->gn));
  PIRF_TRY(pirf_conv2d_forward(L, t->qkv, t->y2, weight(net, params, m->qkv),
                               bias(net, params, m->qkv), B, cout, 3 * cout, 1, NULL));
  PIRF_TRY(pirf_attention_forward(t->a, t->att, t->qkv, B, cout, L, s->attn));
  PIRF_TRY(pirf_conv2d_forward(L, T1, t->a, weight(net, params, m->proj),
                               bias(net, params, m->proj), B, cout, cout, 1, NULL));
  for (size_t k = 0; k < nout; k++) t->out[k] = (T1[k] + t->hA[k]) * UNET_SKIP_SCALE;
  return 0;
}

int unet_block_backward(const pirf_unet *net, const pirf_unet_module *m, const float *params,
                        const float *emb, int B, const pirf_dropout_key *drop,
                        const unet_block_acts *t, const float *dout, float *dxin, float *demb,
                        float *dparams, unet_scratch *s) {
  const pirf_level *Li = &s->levels[m->in_level], *L = &s->levels[m->level];
  const size_t ni = tile(Li), n = tile(L);
  const int cin = m->cin, cout = m->cout, E = net->cfg.emb_channels;
  const int resampled = m->up || m->down;
  const float p = (float)net->cfg.dropout;
  const int dropping = drop && p > 0;
  float *W0 = s->tmp[0], *W1 = s->tmp[1], *W2 = s->tmp[2], *W3 = s->tmp[3];
  const size_t nout = (size_t)B * cout * n, nin = (size_t)B * cin * ni;

  /* G = dL/d(residual sum before scaling) */
  float *G = W0;
  if (m->attention) {
    /* out = (proj(a) + hA) s: both branches get s dout; G collects dL/dhA */
    for (size_t k = 0; k < nout; k++) G[k] = UNET_SKIP_SCALE * dout[k];
    zero(W1, nout);
    PIRF_TRY(pirf_conv2d_backward(L, W1, dweight(net, dparams, m->proj), dbias(net, dparams, m->proj),
                                  G, t->a, weight(net, params, m->proj), B, cout, cout, 1, NULL));
    zero(W2, 3 * nout);
    PIRF_TRY(pirf_attention_backward(W2, W1, t->qkv, t->att, B, cout, L, s->attn));
    zero(W1, nout);
    PIRF_TRY(norm(net, m->norm2, params, W3, t->hA, t->mean2, t->rstd2, B, cout, m->groups1, L));
    PIRF_TRY(pirf_conv2d_backward(L, W1, dweight(net, dparams, m->qkv), dbias(net, dparams, m->qkv),
                                  W2, W3, weight(net, params, m->qkv), B, cout, 3 * cout, 1,
                                  NULL));
    PIRF_TRY(pirf_groupnorm_backward(G, dweight(net, dparams, m->norm2),
                                     dbias(net, dparams, m->norm2), W1, t->hA,
                                     weight(net, params, m->norm2), t->mean2, t->rstd2, B, cout,
                                     m->groups1, L, s->gn));
    for (size_t k = 0; k < nout; k++) G[k] *= UNET_SKIP_SCALE;
  } else {
    for (size_t k = 0; k < nout; k++) G[k] = UNET_SKIP_SCALE * dout[k];
  }

  /* skip branch */
  if (m->skip >= 0) {
    if (resampled) {
      resample_forward(m, s, W1, t->xin, B * cin);
      zero(W2, (size_t)B * cin * n);
      PIRF_TRY(pirf_conv2d_backward(L, W2, dweight(net, dparams, m->skip),
                                    dbias(net, dparams, m->skip), G, W1,
                                    weight(net, params, m->skip), B, cin, cout, 1, NULL));
      resample_backward(m, s, dxin, W2, B * cin);
    } else {
      PIRF_TRY(pirf_conv2d_backward(L, dxin, dweight(net, dparams, m->skip),
                                    dbias(net, dparams, m->skip), G, t->xin,
                                    weight(net, params, m->skip), B, cin, cout, 1, NULL));
    }
  } else {
    for (size_t k = 0; k < nin; k++) dxin[k] += G[k];
  }

  /* conv1 on dropout(SiLU(y1)), recomputed: y1 = norm1(h1) from the stored statistics, the mask
   * from the key */
  PIRF_TRY(norm(net, m->norm1, params, W2, t->h1, t->mean1, t->rstd1, B, cout, m->groups1, L));
  pirf_silu_forward(W2, W2, nout);
  const float *d1 = W2;
  if (dropping) {
    PIRF_TRY(pirf_dropout_forward(W1, W2, p, drop, B, cout, L));
    d1 = W1;
  }
  zero(W3, nout);
  PIRF_TRY(pirf_conv2d_backward(L, W3, dweight(net, dparams, m->conv1),
                                dbias(net, dparams, m->conv1), G, d1,
                                weight(net, params, m->conv1), B, cout, cout, 3, s->conv));
  const float *ds1 = W3;
  if (dropping) {
    zero(W1, nout);
    PIRF_TRY(pirf_dropout_backward(W1, W3, p, drop, B, cout, L));
    ds1 = W1;
  }
  /* SiLU's backward needs its input y1 again: rebuilt into W2, free once conv1's backward is done
   * (rebuilding it twice costs two elementwise passes, keeping it a fifth block-sized buffer) */
  PIRF_TRY(norm(net, m->norm1, params, W2, t->h1, t->mean1, t->rstd1, B, cout, m->groups1, L));
  zero(W0, nout); /* G is spent */
  pirf_silu_backward(W0, ds1, W2, nout);
  zero(W2, nout);
  PIRF_TRY(pirf_groupnorm_backward(W2, dweight(net, dparams, m->norm1),
                                   dbias(net, dparams, m->norm1), W0, t->h1,
                                   weight(net, params, m->norm1), t->mean1, t->rstd1, B, cout,
                                   m->groups1, L, s->gn));
  /* W2 = dL/dh1. The affine term was broadcast over pixels: its cotangent is the pixel sum. */
  for (int b = 0; b < B; b++)
    for (int c = 0; c < cout; c++) {
      const float *g = W2 + ((size_t)b * cout + c) * n;
      double sum = 0;
      for (size_t k = 0; k < n; k++) sum += g[k];
      s->aff[(size_t)b * cout + c] = (float)sum;
    }
  pirf_linear_backward(demb, dweight(net, dparams, m->affine), dbias(net, dparams, m->affine),
                       s->aff, emb, weight(net, params, m->affine), B, E, cout);

  /* conv0 on resample(SiLU(y0)), recomputed (y0 = norm0(xin) from the stored statistics) */
  PIRF_TRY(norm(net, m->norm0, params, W0, t->xin, t->mean0, t->rstd0, B, cin, m->groups0, Li));
  pirf_silu_forward(W0, W0, nin);
  const float *c0 = W0;
  if (resampled) {
    resample_forward(m, s, W1, W0, B * cin);
    c0 = W1;
  }
  zero(W3, (size_t)B * cin * n);
  PIRF_TRY(pirf_conv2d_backward(L, W3, dweight(net, dparams, m->conv0),
                                dbias(net, dparams, m->conv0), W2, c0,
                                weight(net, params, m->conv0), B, cin, cout, 3, s->conv));
  const float *ds0 = W3;
  if (resampled) {
    zero(W0, nin);
    resample_backward(m, s, W0, W3, B * cin);
    ds0 = W0;
  }
  /* y0 again for SiLU's backward, into W2 (dL/dh1, spent by conv0's backward) */
  PIRF_TRY(norm(net, m->norm0, params, W2, t->xin, t->mean0, t->rstd0, B, cin, m->groups0, Li));
  zero(W1, nin);
  pirf_silu_backward(W1, ds0, W2, nin);
  PIRF_TRY(pirf_groupnorm_backward(dxin, dweight(net, dparams, m->norm0),
                                   dbias(net, dparams, m->norm0), W1, t->xin,
                                   weight(net, params, m->norm0), t->mean0, t->rstd0, B, cin,
                                   m->groups0, Li, s->gn));
  return 0;
}
