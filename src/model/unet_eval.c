/* The whole SongUNet on the tile decomposition: the memory plan (work and tape arenas carved by a
 * size table), forward with or without tape, backward, and the gradient reduction (see
 * pirf/unet_eval.h).
 *
 * Memory plan. Each arena is one allocation; a carving function walks the modules and hands out
 * 64-byte aligned pieces. It runs twice: once with no base pointer to add up the size table, once
 * to assign the pointers, so the sizes and the pointers can never disagree.
 *
 * Data flow. Module k reads module k-1's output; a decoder block also pops the output of an
 * encoder module (EDM's skip stack) and concatenates it after its input. In backward the modules
 * run in reverse: the cotangent of an encoder output accumulates in its own buffer dskip[k] (from
 * the decoder block that popped it and from module k+1), so no stack is needed there; decoder
 * cotangents ping-pong between two buffers. */
#include "unet_internal.h"

#include "pirf/check.h"
#include "pirf/conv2d.h"
#include "pirf/embedding.h"
#include "pirf/groupnorm.h"
#include "pirf/attention.h"
#include "pirf/linear.h"
#include "pirf/log.h"
#include "pirf/pg_branch.h"
#include "pirf/prof.h"
#include "pirf/silu.h"
#include "pirf/stop.h"
#include "pirf/unet_eval.h"

#include <stdlib.h>
#include <string.h>

/* The skip stack's depth bound: 1 + (levels - 1) + levels * num_blocks pushes (schema limits). */
#define PIRF_UNET_MAX_PUSH (1 + PIRF_UNET_MAX_LEVELS * 65)

/* ---- the carver: a size table with named regions ------------------------------------------- */

#define MAX_REGIONS 24

typedef struct {
  float *base;   /* NULL while planning */
  size_t used;   /* floats */
  int n;
  const char *name[MAX_REGIONS];
  size_t floats[MAX_REGIONS];
} carver;

static float *carve(carver *c, const char *name, size_t floats) {
  float *p = c->base ? c->base + c->used : NULL;
  c->used += (floats + 15) / 16 * 16; /* 64-byte alignment of every piece */
  int i = 0;
  while (i < c->n && strcmp(c->name[i], name)) i++;
  if (i == c->n && c->n < MAX_REGIONS) {
    c->name[c->n] = name;
    c->floats[c->n++] = 0;
  }
  if (i < MAX_REGIONS) c->floats[i] += floats;
  return p;
}

static int carver_alloc(carver *c, const char *what) {
  void *p = NULL;
  size_t bytes = (c->used ? c->used : 16) * sizeof(float);
  PIRF_CHECK(posix_memalign(&p, 64, bytes) == 0,
             "out of memory: cannot allocate %.1f MiB for %s; use fewer samples per rank or more "
             "tiles (parallel.tiles)", (double)bytes / 1048576.0, what);
  c->base = p;
  c->used = 0;
  c->n = 0;
  return 0;
}

static void carver_print(const carver *c, const char *what) {
  pirf_log("  %s: %.2f MiB per rank\n", what, (double)c->used * sizeof(float) / 1048576.0);
  for (int i = 0; i < c->n; i++)
    pirf_log("    %-28s %10.2f MiB\n", c->name[i], (double)c->floats[i] * sizeof(float) / 1048576.0);
}

/* ---- shapes ----------------------------------------------------------------------------------- */

static size_t npix(const pirf_level *L) { return (size_t)L->xm * L->ym; }

/* Floats of module m's output for B samples. */
static size_t out_floats(const pirf_unet *net, const pirf_level *lv, const pirf_unet_module *m,
                         int B) {
  (void)net; /* kept for symmetry with the table-based sizes */
  return (size_t)B * m->cout * npix(&lv[m->level]);
}
static size_t in_floats(const pirf_unet_module *m, const pirf_level *lv, int B) {
  return (size_t)B * m->cin * npix(&lv[m->in_level]);
}

struct pirf_unet_work {
  const pirf_unet *net;
  const pirf_decomp *dc;
  int B, backward;
  pirf_level levels[PIRF_UNET_MAX_LEVELS];
  carver c;
  unet_scratch s;
  float *mean, *rstd;                 /* GroupNorm statistics without tape [B][32] */
  float *e0, *z0, *a0, *z1, *emb;     /* embedding MLP without tape */
  float **live;                       /* [nmod] encoder outputs (the skip stack) without tape */
  float *dec[2];                      /* decoder outputs without tape (ping-pong) */
  float **dskip;                      /* [nmod] cotangents of encoder outputs (backward) */
  int *pop_src;                       /* [nmod] the module whose output block k pops, or -1 */
  float *dg[2];                       /* decoder cotangents (ping-pong) */
  float *demb, *dz, *da;              /* embedding cotangents [B][E] */
  float *io[5];                       /* preconditioning: c_in x, F, dF, d(c_in x), c_noise */
  float *pg[4];                       /* physics-gradient branch: GELU output, its cotangent,
                                         the 1x1 output without tape, dx = 0 (pirf/pg_branch.h) */
};

struct pirf_unet_tape {
  const pirf_unet *net;
  int B, Bused;
  int k0;                              /* first recorded module (0: the whole network) */
  int dropping;
  pirf_unet_dropout drop;
  carver c;
  float *x;                            /* the network input [B][Cin][n0] (Cin = 2C with the
                                          physics-gradient branch: [c_in x, branch(dx)]) */
  float *pg_dx, *pg_h;                 /* the branch's input dx [B][C][n0] and 1x1 output
                                          [B][Hc][n0] (full tapes of a network with the branch) */
  double *sigma;                       /* preconditioning: sigma per sample [B] */
  float *e0, *z0, *a0, *z1, *emb;      /* embedding MLP (e0: map_layer0's input, the noise
                                          embedding plus the augmentation term) */
  float *aug;                          /* the augmentation labels [B][augment_dim], or unused */
  int with_aug;                        /* whether the recorded evaluation had labels */
  unet_block_acts *acts;               /* [nmod] */
};

/* The largest block tensor of the batch: what one tmp[] buffer must hold. */
static size_t tmp_floats(const pirf_unet *net, const pirf_level *lv, int B) {
  size_t mx = 0;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    size_t n = npix(&lv[m->level]), cand[4] = {in_floats(m, lv, B), (size_t)B * m->cin * n,
                                               (size_t)B * m->cout * n,
                                               m->attention ? 3 * (size_t)B * m->cout * n : 0};
    for (int i = 0; i < 4; i++)
      if (cand[i] > mx) mx = cand[i];
  }
  return mx;
}

static void carve_tape(pirf_unet_tape *t, const pirf_level *lv);
static int first_module(const pirf_unet *net, int pfirst, int *k0);
static void pop_sources(const pirf_unet *net, int *src);

static void carve_work(pirf_unet_work *w) {
  const pirf_unet *net = w->net;
  const pirf_level *lv = w->levels;
  const int B = w->B, E = net->cfg.emb_channels;
  carver *c = &w->c;
  unet_scratch *s = &w->s;
  s->levels = w->levels;
  s->tmp_floats = tmp_floats(net, lv, B);
  for (int i = 0; i < 5; i++) s->tmp[i] = carve(c, "block temporaries", s->tmp_floats);
  /* tmp[5] holds only qkv of a forward without tape: attention levels are the coarse ones */
  size_t qkv = 16;
  for (int k = 0; k < net->nmod; k++)
    if (net->mod[k].attention) {
      size_t q = 3 * out_floats(net, lv, &net->mod[k], B);
      if (q > qkv) qkv = q;
    }
  s->tmp[5] = carve(c, "attention qkv (no tape)", qkv);
  size_t conv = 0, gn = pirf_groupnorm_work_size(B, 32), attn = 0, cmax = 0;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    const pirf_level *L = &lv[m->level];
    size_t a = pirf_conv2d_scratch_floats(L, B, m->cin, m->cout, 3);
    size_t b = pirf_conv2d_scratch_floats(L, B, m->cout, m->cout, 3);
    if (a > conv) conv = a;
    if (b > conv && m->kind == PIRF_UNET_BLOCK) conv = b;
    if (m->kind == PIRF_UNET_CONV && net->pg_layer1 >= 0) {
      size_t p = pirf_pg_branch_scratch_floats(L, B, net->cfg.in_channels, net->cfg.model_channels);
      if (p > conv) conv = p;
    }
    if (m->attention) {
      size_t bytes = pirf_attention_scratch_bytes(B, m->cout, L);
      if (bytes > attn) attn = bytes;
    }
    if ((size_t)m->cout > cmax) cmax = (size_t)m->cout;
  }
  s->aff = carve(c, "affine terms", (size_t)B * cmax);
  s->conv = carve(c, "conv scratch", conv);
  s->gn = (double *)carve(c, "groupnorm scratch", 2 * gn);
  s->attn = attn ? carve(c, "attention scratch", attn / sizeof(float) + 1) : NULL;
  w->mean = carve(c, "groupnorm statistics", (size_t)B * 32);
  w->rstd = carve(c, "groupnorm statistics", (size_t)B * 32);
  w->e0 = carve(c, "embedding", (size_t)B * net->cfg.noise_channels);
  w->z0 = carve(c, "embedding", (size_t)B * E);
  w->a0 = carve(c, "embedding", (size_t)B * E);
  w->z1 = carve(c, "embedding", (size_t)B * E);
  w->emb = carve(c, "embedding", (size_t)B * E);
  size_t dmax = 0;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    size_t o = out_floats(net, lv, m, B);
    w->live[k] = NULL;
    if (!m->decoder) w->live[k] = carve(c, "skip stack", o);
    if (m->decoder && o > dmax) dmax = o;
  }
  w->dec[0] = carve(c, "decoder outputs", dmax);
  w->dec[1] = carve(c, "decoder outputs", dmax);
  const int cin0 = net->mod[0].cin; /* the first conv's inputs: 2C with the branch */
  size_t io = (size_t)B * npix(&lv[0]) *
              (cin0 > net->cfg.out_channels ? cin0 : net->cfg.out_channels);
  for (int i = 0; i < 4; i++) w->io[i] = carve(c, "preconditioning", io);
  w->io[4] = carve(c, "preconditioning", (size_t)B);
  for (int i = 0; i < 4; i++) w->pg[i] = NULL;
  if (net->pg_layer1 >= 0) {
    const size_t nh = (size_t)B * net->cfg.model_channels * npix(&lv[0]);
    w->pg[0] = carve(c, "physics-gradient branch", nh);
    w->pg[1] = carve(c, "physics-gradient branch", nh);
    w->pg[2] = carve(c, "physics-gradient branch", nh);
    w->pg[3] = carve(c, "physics-gradient branch", (size_t)B * net->cfg.in_channels * npix(&lv[0]));
  }
  s->xin = NULL;
  if (!w->backward) return;
  s->xin = carve(c, "rebuilt decoder inputs", s->tmp_floats);
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    w->dskip[k] = m->decoder ? NULL : carve(c, "skip stack cotangents", out_floats(net, lv, m, B));
  }
  w->dg[0] = carve(c, "decoder cotangents", dmax);
  w->dg[1] = carve(c, "decoder cotangents", dmax);
  w->demb = carve(c, "embedding cotangents", (size_t)B * E);
  w->dz = carve(c, "embedding cotangents", (size_t)B * E);
  w->da = carve(c, "embedding cotangents", (size_t)B * E);
}

int pirf_unet_work_create(const pirf_unet *net, const pirf_decomp *dc, int B, int backward,
                          pirf_unet_work **out) {
  PIRF_CHECK(B >= 1, "a network evaluation needs at least one sample (B = %d)", B);
  PIRF_USER_CHECK(dc->levels >= net->cfg.levels && dc->H == net->cfg.resolution &&
                      dc->W == net->cfg.resolution,
                  "the decomposition (%dx%d, %d levels) does not fit the U-Net (%dx%d, %d levels)",
                  dc->H, dc->W, dc->levels, net->cfg.resolution, net->cfg.resolution,
                  net->cfg.levels);
  pirf_unet_work *w;
  PIRF_ALLOC(w, 1, "the U-Net work descriptor");
  w->net = net;
  w->dc = dc;
  w->B = B;
  w->backward = backward;
  for (int l = 0; l < net->cfg.levels; l++) pirf_level_init(&w->levels[l], dc, l);
  PIRF_ALLOC(w->live, net->nmod, "the skip stack table");
  PIRF_ALLOC(w->dskip, net->nmod, "the skip cotangent table");
  PIRF_ALLOC(w->pop_src, net->nmod, "the skip source table");
  pop_sources(net, w->pop_src);
  carve_work(w); /* plan */
  PIRF_TRY(carver_alloc(&w->c, "the U-Net work arena"));
  carve_work(w); /* carve */
  *out = w;
  return 0;
}

void pirf_unet_work_destroy(pirf_unet_work **w) {
  if (!*w) return;
  free((*w)->c.base);
  free((*w)->live);
  free((*w)->dskip);
  free((*w)->pop_src);
  free(*w);
  *w = NULL;
}

size_t pirf_unet_work_bytes(const pirf_unet_work *w) { return w->c.used * sizeof(float); }

int pirf_unet_memory(const pirf_unet *net, const pirf_decomp *dc, int B, size_t *work_forward,
                     size_t *work_backward, size_t *tape, size_t *tape_level0) {
  pirf_unet_work w;
  memset(&w, 0, sizeof w);
  w.net = net;
  w.dc = dc;
  w.B = B;
  for (int l = 0; l < net->cfg.levels; l++) pirf_level_init(&w.levels[l], dc, l);
  PIRF_ALLOC(w.live, net->nmod, "the skip stack table");
  PIRF_ALLOC(w.dskip, net->nmod, "the skip cotangent table");
  carve_work(&w);
  *work_forward = w.c.used * sizeof(float);
  memset(&w.c, 0, sizeof w.c);
  w.backward = 1;
  carve_work(&w);
  *work_backward = w.c.used * sizeof(float);
  free(w.live);
  free(w.dskip);
  pirf_unet_tape t;
  memset(&t, 0, sizeof t);
  t.net = net;
  t.B = B;
  PIRF_ALLOC(t.acts, net->nmod, "the tape's module table");
  carve_tape(&t, w.levels);
  *tape = t.c.used * sizeof(float);
  int first, end;
  pirf_unet_decoder_level_range(net, 0, &first, &end);
  memset(&t.c, 0, sizeof t.c);
  PIRF_TRY(first_module(net, first, &t.k0));
  carve_tape(&t, w.levels);
  *tape_level0 = t.c.used * sizeof(float);
  free(t.acts);
  return 0;
}
void pirf_unet_work_print(const pirf_unet_work *w) {
  carver_print(&w->c, w->backward ? "work (forward and backward)" : "work (forward only)");
}

/* ---- the tape -------------------------------------------------------------------------------- */

static void carve_tape(pirf_unet_tape *t, const pirf_level *lv) {
  const pirf_unet *net = t->net;
  const int B = t->B, E = net->cfg.emb_channels;
  carver *c = &t->c;
  const int full = t->k0 == 0;
  t->x = full ? carve(c, "network input", (size_t)B * net->mod[0].cin * npix(&lv[0])) : NULL;
  const int pg = full && net->pg_layer1 >= 0;
  t->pg_dx = pg ? carve(c, "physics-gradient branch",
                        (size_t)B * net->cfg.in_channels * npix(&lv[0])) : NULL;
  t->pg_h = pg ? carve(c, "physics-gradient branch",
                       (size_t)B * net->cfg.model_channels * npix(&lv[0])) : NULL;
  t->sigma = (double *)carve(c, "embedding", 2 * (size_t)B);
  t->e0 = full ? carve(c, "embedding", (size_t)B * net->cfg.noise_channels) : NULL;
  t->aug = full && net->map_augment >= 0
               ? carve(c, "embedding", (size_t)B * net->cfg.augment_dim) : NULL;
  t->z0 = full ? carve(c, "embedding", (size_t)B * E) : NULL;
  t->a0 = full ? carve(c, "embedding", (size_t)B * E) : NULL;
  t->z1 = full ? carve(c, "embedding", (size_t)B * E) : NULL;
  t->emb = carve(c, "embedding", (size_t)B * E);
  memset(t->acts, 0, (size_t)net->nmod * sizeof *t->acts);
  /* A truncated tape also keeps the encoder outputs its decoder blocks pop (their [x, skip] inputs
   * are concatenated again in the backward); a full tape has every module output anyway. */
  int stack[PIRF_UNET_MAX_PUSH], top = 0;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    if (m->skip_channels) {
      const int j = stack[--top];
      if (k >= t->k0 && j < t->k0 - 1)
        t->acts[j].out = carve(c, "module outputs", out_floats(net, lv, &net->mod[j], B));
    }
    if (m->push) stack[top++] = k;
  }
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    unet_block_acts *a = &t->acts[k];
    const size_t n = npix(&lv[m->level]), no = (size_t)B * m->cout * n;
    const size_t G0 = (size_t)B * m->groups0, G1 = (size_t)B * m->groups1;
    if (k < t->k0 - 1) continue;
    if (k == t->k0 - 1) { /* only the input of the first recorded module */
      a->out = carve(c, "module outputs", no);
      continue;
    }
    switch (m->kind) {
      case PIRF_UNET_CONV:
        a->out = carve(c, "module outputs", no);
        break;
      case PIRF_UNET_AUX_NORM: /* its output is rebuilt from its input and these */
        a->mean0 = carve(c, "groupnorm statistics", G1);
        a->rstd0 = carve(c, "groupnorm statistics", G1);
        break;
      case PIRF_UNET_AUX_CONV:
        break; /* its output is F, the caller's */
      case PIRF_UNET_BLOCK: /* the norm outputs and a decoder block's [x, skip] are rebuilt */
        a->mean0 = carve(c, "groupnorm statistics", G0);
        a->rstd0 = carve(c, "groupnorm statistics", G0);
        a->h1 = carve(c, "conv0 + affine outputs", no);
        a->mean1 = carve(c, "groupnorm statistics", G1);
        a->rstd1 = carve(c, "groupnorm statistics", G1);
        if (m->attention) {
          a->hA = carve(c, "attention inputs", no);
          a->mean2 = carve(c, "groupnorm statistics", G1);
          a->rstd2 = carve(c, "groupnorm statistics", G1);
          a->qkv = carve(c, "attention qkv", 3 * no);
          a->att = carve(c, "attention weights", pirf_attention_att_size(B, &lv[m->level]));
          a->a = carve(c, "attention outputs", no);
        }
        a->out = carve(c, "module outputs", no);
        break;
    }
  }
}

/* The module whose parameters start at table entry pfirst (0 for pfirst inside the embedding,
 * map_augment included: it is the table's first tensor). */
static int first_module(const pirf_unet *net, int pfirst, int *k0) {
  *k0 = 0;
  if (pfirst <= net->map_layer1 + 1) return 0;
  for (int k = 0; k < net->nmod; k++)
    if (net->mod[k].p_first == pfirst) {
      /* aux_conv's backward rebuilds aux_norm's output: record from aux_norm (its gradients are
       * not wanted and the backward stops before it) */
      *k0 = net->mod[k].kind == PIRF_UNET_AUX_CONV ? k - 1 : k;
      return 0;
    }
  PIRF_CHECK(0, "a truncated tape must start at a module's first parameter (entry %d is not)", pfirst);
}

int pirf_unet_tape_create(const pirf_unet *net, const pirf_decomp *dc, int B, pirf_unet_tape **out) {
  return pirf_unet_tape_create_from(net, dc, B, 0, out);
}

int pirf_unet_tape_create_from(const pirf_unet *net, const pirf_decomp *dc, int B, int pfirst,
                               pirf_unet_tape **out) {
  PIRF_CHECK(B >= 1, "a tape needs at least one sample (B = %d)", B);
  pirf_unet_tape *t;
  PIRF_ALLOC(t, 1, "the U-Net tape descriptor");
  t->net = net;
  t->B = B;
  PIRF_TRY(first_module(net, pfirst, &t->k0));
  PIRF_ALLOC(t->acts, net->nmod, "the tape's module table");
  pirf_level lv[PIRF_UNET_MAX_LEVELS];
  for (int l = 0; l < net->cfg.levels; l++) pirf_level_init(&lv[l], dc, l);
  carve_tape(t, lv);
  PIRF_TRY(carver_alloc(&t->c, "a U-Net tape"));
  carve_tape(t, lv);
  *out = t;
  return 0;
}

void pirf_unet_tape_destroy(pirf_unet_tape **t) {
  if (!*t) return;
  free((*t)->c.base);
  free((*t)->acts);
  free(*t);
  *t = NULL;
}

size_t pirf_unet_tape_bytes(const pirf_unet_tape *t) { return t->c.used * sizeof(float); }
void pirf_unet_tape_print(const pirf_unet_tape *t) { carver_print(&t->c, "tape"); }

float *unet_work_io(pirf_unet_work *w, int i) { return w->io[i]; }
size_t unet_work_pixels(const pirf_unet_work *w) { return npix(&w->levels[0]); }
double *unet_tape_sigma(const pirf_unet_tape *t) { return t->sigma; }
int unet_tape_batch(const pirf_unet_tape *t) { return t->Bused; }
int unet_tape_full(const pirf_unet_tape *t) { return t->k0 == 0; }
float *unet_work_pg(pirf_unet_work *w, int i) { return w->pg[i]; }
float *unet_work_conv_scratch(pirf_unet_work *w) { return w->s.conv; }
const pirf_level *unet_work_level0(const pirf_unet_work *w) { return &w->levels[0]; }
float *unet_tape_pg(const pirf_unet_tape *t, int i) { return i == 0 ? t->pg_dx : t->pg_h; }

/* ---- forward --------------------------------------------------------------------------------- */

static const float *W(const pirf_unet *net, const float *params, int i) {
  return params + net->table.p[i].offset;
}
static float *dW(const pirf_unet *net, float *dparams, int i) {
  return dparams ? dparams + net->table.p[i].offset : NULL;
}

/* [B][ca][n] and [B][cb][n] -> [B][ca+cb][n] (torch.cat along channels). */
static void concat(float *y, const float *a, int ca, const float *b, int cb, int B, size_t n) {
  for (int s = 0; s < B; s++) {
    memcpy(y + (size_t)s * (ca + cb) * n, a + (size_t)s * ca * n, (size_t)ca * n * sizeof *y);
    memcpy(y + ((size_t)s * (ca + cb) + ca) * n, b + (size_t)s * cb * n, (size_t)cb * n * sizeof *y);
  }
}

/* The module whose output decoder block k pops (EDM's skips.pop()), for every module; -1 if none. */
static void pop_sources(const pirf_unet *net, int *src) {
  int stack[PIRF_UNET_MAX_PUSH], top = 0;
  for (int k = 0; k < net->nmod; k++) {
    src[k] = -1;
    if (net->mod[k].skip_channels) src[k] = stack[--top];
    if (net->mod[k].push) stack[top++] = k;
  }
}

static void dropout_key(const pirf_unet_dropout *d, int k, pirf_dropout_key *key) {
  key->seed = d->seed;
  key->step = d->step;
  key->layer = (uint32_t)k;
  key->sample0 = d->sample0;
}

static int unet_forward(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                        const float *params, const float *x, const float *c_noise,
                        const float *aug, int B, const pirf_unet_dropout *drop, float *F) {
  PIRF_CHECK(B <= w->B && (!tape || B <= tape->B),
             "a batch of %d exceeds the work (%d) or tape (%d) capacity", B, w->B,
             tape ? tape->B : 0);
  const pirf_unet_config *uc = &net->cfg;
  const int E = uc->emb_channels, Nn = uc->noise_channels;
  const pirf_level *lv = w->levels;
  unet_scratch *s = &w->s;
  const int taped = tape != NULL, k0 = taped ? tape->k0 : 0, full = taped && k0 == 0;

  /* embedding: computed redundantly on every rank (per-sample vectors) */
  float *e0 = full ? tape->e0 : w->e0, *z0 = full ? tape->z0 : w->z0;
  float *a0 = full ? tape->a0 : w->a0, *z1 = full ? tape->z1 : w->z1;
  float *emb = taped ? tape->emb : w->emb;
  pirf_noise_embedding_forward(e0, c_noise, B, Nn, 10000.0, 1);
  /* EDM: emb += map_augment(augment_labels) when labels are given (training with augmentation);
   * no labels is the same as zero labels, since map_augment has no bias */
  const int Na = uc->augment_dim, with_aug = aug && net->map_augment >= 0;
  if (with_aug) {
    const float *A = W(net, params, net->map_augment);
    for (int b = 0; b < B; b++)
      for (int o = 0; o < Nn; o++) {
        float v = 0;
        for (int j = 0; j < Na; j++) v += A[(size_t)o * Na + j] * aug[(size_t)b * Na + j];
        e0[(size_t)b * Nn + o] += v;
      }
  }
  if (full && tape->aug) {
    tape->with_aug = with_aug;
    if (with_aug) memcpy(tape->aug, aug, (size_t)B * Na * sizeof *aug);
  }
  pirf_linear_forward(z0, e0, W(net, params, net->map_layer0), W(net, params, net->map_layer0 + 1),
                      B, Nn, E);
  pirf_silu_forward(a0, z0, (size_t)B * E);
  pirf_linear_forward(z1, a0, W(net, params, net->map_layer1), W(net, params, net->map_layer1 + 1),
                      B, E, E);
  pirf_silu_forward(emb, z1, (size_t)B * E);

  const float *cur = x;
  if (taped) {
    if (full) {
      memcpy(tape->x, x, (size_t)B * net->mod[0].cin * npix(&lv[0]) * sizeof *x);
      cur = tape->x;
    }
    tape->Bused = B;
    tape->dropping = drop != NULL;
    if (drop) tape->drop = *drop;
  }
  const float *stack[PIRF_UNET_MAX_PUSH];
  int top = 0, pp = 0;
  const float *aux_y = NULL;
  for (int k = 0; k < net->nmod; k++) {
    PIRF_STOP_POINT(); /* a training run's stop, between blocks (pirf/stop.h); nothing is lost */
    const pirf_unet_module *m = &net->mod[k];
    const pirf_level *L = &lv[m->level];
    const size_t n = npix(L);
    const int tk = taped && k >= k0; /* this module records */
    float *out = NULL;
    if (m->kind != PIRF_UNET_AUX_CONV) {
      if (taped && tape->acts[k].out)
        out = tape->acts[k].out; /* recorded, or an input of a recorded module */
      else if (!m->decoder)
        out = w->live[k];
      else
        out = w->dec[pp ^= 1]; /* never the buffer `cur` lives in */
    }
    switch (m->kind) {
      case PIRF_UNET_CONV:
        PIRF_TRY(pirf_conv2d_forward(L, out, cur, W(net, params, m->conv),
                                     W(net, params, m->conv + 1), B, m->cin, m->cout, 3, s->conv));
        break;
      case PIRF_UNET_BLOCK: {
        unet_block_acts a;
        if (tk) { /* the tape's tensors, but the norm outputs and [x, skip] in scratch */
          a = tape->acts[k];
          a.y0 = a.y1 = a.y2 = s->tmp[0];
          if (m->skip_channels) a.xin = s->tmp[4];
        } else { /* live tensors only: see unet_block.c for the aliasing this allows */
          memset(&a, 0, sizeof a);
          a.y0 = s->tmp[0];
          a.h1 = a.y1 = s->tmp[1];
          a.y2 = s->tmp[0];
          a.qkv = s->tmp[5];
          a.a = s->tmp[1];
          a.mean0 = a.mean1 = a.mean2 = w->mean;
          a.rstd0 = a.rstd1 = a.rstd2 = w->rstd;
          a.hA = out;
          a.out = out;
          if (m->skip_channels) a.xin = s->tmp[4];
        }
        if (m->skip_channels) {
          const float *skip = stack[--top];
          concat((float *)a.xin, cur, m->cin - m->skip_channels, skip, m->skip_channels, B,
                 npix(&lv[m->in_level]));
        } else {
          a.xin = cur;
        }
        pirf_dropout_key key;
        if (drop) dropout_key(drop, k, &key);
        a.out = out;
        PIRF_TRY(unet_block_forward(net, m, params, emb, B, drop ? &key : NULL, &a, s));
        break;
      }
      case PIRF_UNET_AUX_NORM: {
        float *mean = tk ? tape->acts[k].mean0 : w->mean, *rstd = tk ? tape->acts[k].rstd0 : w->rstd;
        PIRF_TRY(pirf_groupnorm_forward(out, mean, rstd, cur, W(net, params, m->norm),
                                        W(net, params, m->norm + 1), B, m->cin, m->groups1,
                                        UNET_GN_EPS, L, s->gn));
        aux_y = out;
        break;
      }
      case PIRF_UNET_AUX_CONV:
        pirf_silu_forward(s->tmp[0], aux_y, (size_t)B * m->cin * n);
        PIRF_TRY(pirf_conv2d_forward(L, F, s->tmp[0], W(net, params, m->conv),
                                     W(net, params, m->conv + 1), B, m->cin, m->cout, 3, s->conv));
        break;
    }
    if (m->push) stack[top++] = out;
    cur = out;
  }
  return 0;
}

/* ---- backward -------------------------------------------------------------------------------- */

/* Whether module k's tensors are all in [pfirst, pend) (1), none of them (0); partial is an error. */
static int wanted(const pirf_unet_module *m, int pfirst, int pend, int *partial) {
  int lo = m->p_first > pfirst ? m->p_first : pfirst, hi = m->p_end < pend ? m->p_end : pend;
  if (hi <= lo) return 0;
  if (lo != m->p_first || hi != m->p_end) *partial = 1;
  return 1;
}

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

static int unet_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                         const float *params, const float *dF, float *dparams, int pfirst,
                         int pend, float *dx) {
  PIRF_CHECK(w->backward, "pirf_unet_backward needs a work made with backward = 1");
  if (!dparams) pfirst = pend = 0;
  const pirf_unet_config *uc = &net->cfg;
  const int B = tape->Bused, E = uc->emb_channels, Nn = uc->noise_channels;
  const pirf_level *lv = w->levels;
  unet_scratch *s = &w->s;
  const int *src = w->pop_src;
  int partial = 0;
  PIRF_CHECK(tape->k0 == 0 || (!dx && pfirst >= net->mod[tape->k0].p_first),
             "a truncated tape (recorded from %s) gives no input gradient and no gradients of "
             "the parameters before it", net->mod[tape->k0].name);

  for (int k = 0; k < net->nmod; k++)
    if (w->dskip[k]) zero(w->dskip[k], out_floats(net, lv, &net->mod[k], B));
  zero(w->demb, (size_t)B * E);

  /* the cotangent buffer of module j's output: its own for encoder outputs, else a ping-pong one */
  float *dcur = NULL;
  int pp = 0;
  const float *aux_ds = NULL;
  for (int k = net->nmod - 1; k >= 0; k--) {
    PIRF_STOP_POINT();
    const pirf_unet_module *m = &net->mod[k];
    if (!dx && pfirst >= m->p_end) break; /* nothing at or below this module is wanted */
    float *dp = wanted(m, pfirst, pend, &partial) ? dparams : NULL;
    PIRF_CHECK(!partial, "a parameter gradient range must start and end at module boundaries");
    const pirf_level *L = &lv[m->level];
    const size_t n = npix(L);
    const unet_block_acts *a = &tape->acts[k];
    const float *dout = m->decoder ? dcur : w->dskip[k];
    /* where this module's input cotangent goes */
    float *din = NULL;
    if (k > 0) {
      const pirf_unet_module *prev = &net->mod[k - 1];
      if (!prev->decoder) {
        din = w->dskip[k - 1]; /* accumulates on top of what popping decoder blocks left */
      } else {
        din = w->dg[pp ^= 1];
        zero(din, out_floats(net, lv, prev, B));
      }
    }
    switch (m->kind) {
      case PIRF_UNET_AUX_CONV: {
        /* aux_norm's output, rebuilt from its input and statistics into tmp[2], where aux_norm's
         * backward (next) reads it for SiLU's backward */
        const pirf_unet_module *an = &net->mod[k - 1];
        PIRF_TRY(pirf_groupnorm_apply(s->tmp[2], tape->acts[k - 2].out, tape->acts[k - 1].mean0,
                                      tape->acts[k - 1].rstd0, W(net, params, an->norm),
                                      W(net, params, an->norm + 1), B, an->cin, an->groups1, L));
        pirf_silu_forward(s->tmp[0], s->tmp[2], (size_t)B * m->cin * n);
        zero(s->tmp[1], (size_t)B * m->cin * n);
        PIRF_TRY(pirf_conv2d_backward(L, s->tmp[1], dW(net, dp, m->conv), dW(net, dp, m->conv + 1),
                                      dF, s->tmp[0], W(net, params, m->conv), B, m->cin, m->cout,
                                      3, s->conv));
        aux_ds = s->tmp[1]; /* dL/dSiLU(aux_norm output) */
        /* the aux_conv's input is SiLU(aux_norm); aux_norm's backward takes it from here */
        pp ^= 1; /* din was not used: the next module reuses the same buffer */
        break;
      }
      case PIRF_UNET_AUX_NORM: {
        zero(s->tmp[3], (size_t)B * m->cout * n);
        pirf_silu_backward(s->tmp[3], aux_ds, s->tmp[2], (size_t)B * m->cout * n);
        PIRF_TRY(pirf_groupnorm_backward(din, dW(net, dp, m->norm), dW(net, dp, m->norm + 1),
                                         s->tmp[3], tape->acts[k - 1].out, W(net, params, m->norm),
                                         a->mean0, a->rstd0, B, m->cin, m->groups1, L, s->gn));
        break;
      }
      case PIRF_UNET_BLOCK: {
        unet_block_acts b = *a;
        if (m->skip_channels) { /* [x, skip] again, from the two outputs it was made of */
          concat(s->xin, tape->acts[k - 1].out, m->cin - m->skip_channels,
                 tape->acts[src[k]].out, m->skip_channels, B, npix(&lv[m->in_level]));
          b.xin = s->xin;
        } else {
          b.xin = k > 0 ? tape->acts[k - 1].out : tape->x;
        }
        float *dxin = din;
        if (m->skip_channels) {
          dxin = s->tmp[4];
          zero(dxin, in_floats(m, lv, B));
        }
        pirf_dropout_key key;
        if (tape->dropping) dropout_key(&tape->drop, k, &key);
        PIRF_TRY(unet_block_backward(net, m, params, tape->emb, B, tape->dropping ? &key : NULL,
                                     &b, dout, dxin, w->demb, dp, s));
        if (m->skip_channels) { /* split d[x, skip] */
          const int cx = m->cin - m->skip_channels, cs = m->skip_channels;
          const size_t ni = npix(&lv[m->in_level]);
          float *dskip = w->dskip[src[k]];
          for (int b2 = 0; b2 < B; b2++) {
            const float *g = dxin + (size_t)b2 * m->cin * ni;
            float *gx = din + (size_t)b2 * cx * ni, *gs = dskip + (size_t)b2 * cs * ni;
            for (size_t i = 0; i < (size_t)cx * ni; i++) gx[i] += g[i];
            for (size_t i = 0; i < (size_t)cs * ni; i++) gs[i] += g[(size_t)cx * ni + i];
          }
        }
        break;
      }
      case PIRF_UNET_CONV:
        PIRF_TRY(pirf_conv2d_backward(L, dx, dW(net, dp, m->conv), dW(net, dp, m->conv + 1), dout,
                                      tape->x, W(net, params, m->conv), B, m->cin, m->cout, 3,
                                      s->conv));
        break;
    }
    dcur = din;
  }

  /* the embedding MLP, if its parameters are wanted (its input c_noise has no gradient) */
  if (dparams && pfirst <= net->map_layer0 && pend >= net->map_layer1 + 2) {
    /* map_augment is wanted with the MLP when the range starts at it (it is the first tensor) */
    const int want_aug = net->map_augment >= 0 && pfirst <= net->map_augment && tape->with_aug;
    zero(w->dz, (size_t)B * E);
    pirf_silu_backward(w->dz, w->demb, tape->z1, (size_t)B * E);
    zero(w->da, (size_t)B * E);
    pirf_linear_backward(w->da, dW(net, dparams, net->map_layer1),
                         dW(net, dparams, net->map_layer1 + 1), w->dz, tape->a0,
                         W(net, params, net->map_layer1), B, E, E);
    zero(w->dz, (size_t)B * E);
    pirf_silu_backward(w->dz, w->da, tape->z0, (size_t)B * E);
    float *de0 = want_aug ? w->da : NULL; /* [B][Nn] fits in da's [B][E] */
    if (de0) zero(de0, (size_t)B * Nn);
    pirf_linear_backward(de0, dW(net, dparams, net->map_layer0),
                         dW(net, dparams, net->map_layer0 + 1), w->dz, tape->e0,
                         W(net, params, net->map_layer0), B, Nn, E);
    if (want_aug) /* e0 = noise embedding + aug A^T: dA += de0^T aug */
      pirf_linear_backward(NULL, dW(net, dparams, net->map_augment), NULL, de0, tape->aug,
                           NULL, B, net->cfg.augment_dim, Nn);
  }
  return 0;
}

/* The public entry points: one profiling event around each whole evaluation. */
int pirf_unet_forward(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                      const float *params, const float *x, const float *c_noise,
                      const float *aug, int B, const pirf_unet_dropout *drop, float *F) {
  pirf_prof_begin(PIRF_EV_UNET_FWD);
  /* model.nograd_precision: reduced precision only where no gradient flows (taped evaluations,
   * truncated ones included, stay float32 throughout) */
  const pirf_conv_fwd mode = tape ? PIRF_CONV_FWD_FP32 : (pirf_conv_fwd)net->cfg.nograd_precision;
  const pirf_conv_fwd was = pirf_conv2d_set_forward(mode);
  const int err = unet_forward(net, w, tape, params, x, c_noise, aug, B, drop, F);
  pirf_conv2d_set_forward(was);
  pirf_prof_end(PIRF_EV_UNET_FWD, 0); /* the layers log their own flops */
  return err;
}

int pirf_unet_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                       const float *params, const float *dF, float *dparams, int pfirst, int pend,
                       float *dx) {
  pirf_prof_begin(PIRF_EV_UNET_BWD);
  const int err = unet_backward(net, w, tape, params, dF, dparams, pfirst, pend, dx);
  pirf_prof_end(PIRF_EV_UNET_BWD, 0);
  return err;
}

int pirf_unet_grad_allreduce(const pirf_decomp *dc, float *grad, size_t first, size_t count) {
  /* The world is the data groups times the space group: one reduction covers both. Chunks keep
   * the count inside an int. */
  const size_t chunk = (size_t)1 << 28;
  pirf_prof_begin(PIRF_EV_GRAD_REDUCE);
  for (size_t o = 0; o < count; o += chunk) {
    int c = (int)(count - o < chunk ? count - o : chunk);
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, grad + first + o, c, MPI_FLOAT, MPI_SUM, dc->world));
  }
  pirf_prof_end(PIRF_EV_GRAD_REDUCE, 0);
  return 0;
}
