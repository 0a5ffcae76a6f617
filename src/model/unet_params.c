/* The SongUNet module list and parameter table, in EDM's constructor order (see pirf/unet.h), and
 * EDM's weight initialization. */
#include "pirf/check.h"
#include "pirf/groupnorm.h"
#include "pirf/rng.h"
#include "pirf/unet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pirf_param_table_free(pirf_param_table *t) {
  free(t->p);
  *t = (pirf_param_table){0};
}

int pirf_param_find(const pirf_param_table *t, const char *name) {
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->p[i].name, name)) return i;
  return -1;
}

/* Append one tensor; returns its index (or -1 when out of memory). */
static int add_param(pirf_param_table *t, const char *module, const char *part, const char *what,
                     int ndim, int s0, int s1, int s2, int s3) {
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 256;
    pirf_param *p = realloc(t->p, (size_t)cap * sizeof *p);
    if (!p) return -1;
    t->p = p;
    t->cap = cap;
  }
  pirf_param *q = &t->p[t->n];
  memset(q, 0, sizeof *q);
  snprintf(q->name, sizeof q->name, "%s%s%s.%s", module, *part ? "." : "", part, what);
  q->ndim = ndim;
  int s[4] = {s0, s1, s2, s3};
  q->count = 1;
  for (int d = 0; d < ndim; d++) {
    q->shape[d] = s[d];
    q->count *= (size_t)s[d];
  }
  q->offset = t->total;
  t->total += q->count;
  return t->n++;
}

/* weight + bias of a conv (k x k), a linear (k = 0) or a GroupNorm (k = -1); returns the weight's
 * index. */
static int add_layer(pirf_param_table *t, const char *module, const char *part, int cin, int cout,
                     int k) {
  int w;
  if (k > 0)
    w = add_param(t, module, part, "weight", 4, cout, cin, k, k);
  else if (k == 0)
    w = add_param(t, module, part, "weight", 2, cout, cin, 0, 0);
  else
    w = add_param(t, module, part, "weight", 1, cout, 0, 0, 0);
  int b = add_param(t, module, part, "bias", 1, cout, 0, 0, 0);
  return (w < 0 || b < 0) ? -1 : w;
}

/* EDM GroupNorm: min(32, C/4) groups (the layer's own helper, so model and layer agree). */
static int gn_groups(int c) { return pirf_groupnorm_edm_groups(c); }

static int in_attn(const pirf_unet_config *uc, int res) {
  for (int i = 0; i < uc->nattn; i++)
    if (uc->attn_resolutions[i] == res) return 1;
  return 0;
}

static pirf_unet_module *new_module(pirf_unet *net, int cap, pirf_unet_kind kind, int decoder,
                                    int level, const char *suffix) {
  if (net->nmod >= cap) return NULL;
  pirf_unet_module *m = &net->mod[net->nmod++];
  memset(m, 0, sizeof *m);
  int res = net->cfg.resolution >> level;
  snprintf(m->name, sizeof m->name, "%s.%dx%d_%s", decoder ? "dec" : "enc", res, res, suffix);
  m->kind = kind;
  m->decoder = decoder;
  m->level = m->in_level = level;
  m->norm0 = m->conv0 = m->affine = m->norm1 = m->conv1 = m->skip = -1;
  m->norm2 = m->qkv = m->proj = m->norm = m->conv = -1;
  m->p_first = net->table.n;
  return m;
}

/* A UNetBlock's parameters in EDM's registration order. */
static int add_block(pirf_unet *net, pirf_unet_module *m) {
  pirf_param_table *t = &net->table;
  const char *n = m->name;
  int emb = net->cfg.emb_channels;
  m->norm0 = add_layer(t, n, "norm0", 0, m->cin, -1);
  m->conv0 = add_layer(t, n, "conv0", m->cin, m->cout, 3);
  m->affine = add_layer(t, n, "affine", emb, m->cout, 0);
  m->norm1 = add_layer(t, n, "norm1", 0, m->cout, -1);
  m->conv1 = add_layer(t, n, "conv1", m->cout, m->cout, 3);
  /* resample_proj = True: a 1x1 skip projection whenever channels change or the block resamples. */
  if (m->cin != m->cout || m->up || m->down) m->skip = add_layer(t, n, "skip", m->cin, m->cout, 1);
  if (m->attention) {
    m->norm2 = add_layer(t, n, "norm2", 0, m->cout, -1);
    m->qkv = add_layer(t, n, "qkv", m->cout, 3 * m->cout, 1);
    m->proj = add_layer(t, n, "proj", m->cout, m->cout, 1);
  }
  m->groups0 = gn_groups(m->cin);
  m->groups1 = gn_groups(m->cout);
  PIRF_CHECK(m->norm0 >= 0 && m->conv0 >= 0 && m->affine >= 0 && m->norm1 >= 0 && m->conv1 >= 0,
             "out of memory building the parameter table");
  PIRF_USER_CHECK(m->cin % m->groups0 == 0 && m->cout % m->groups1 == 0 && m->groups0 > 0,
                  "%s has %d -> %d channels, which GroupNorm's min(32, C/4) groups do not divide; "
                  "choose model.channels and channel_mult so every count is a multiple of 4 "
                  "(below 128) or 32", m->name, m->cin, m->cout);
  m->p_end = t->n;
  return 0;
}

int pirf_unet_create(const pirf_unet_config *uc, pirf_unet *net) {
  PIRF_TRY(pirf_unet_config_check(uc));
  memset(net, 0, sizeof *net);
  net->cfg = *uc;
  const int L = uc->levels, nb = uc->num_blocks, mc = uc->model_channels;
  /* enc: 1 conv + (L-1) downs + L*nb blocks; dec: 2 (in0, in1) + (L-1) ups + L*(nb+1) + 2 aux */
  int cap = 1 + (L - 1) + L * nb + 2 + (L - 1) + L * (nb + 1) + 2;
  PIRF_ALLOC(net->mod, cap, "the U-Net module list");
  pirf_param_table *t = &net->table;

  /* EDM registers map_label (unconditional: none), map_augment, then the MLP */
  net->map_augment = -1;
  if (uc->augment_dim > 0) {
    net->map_augment = add_param(t, "map_augment", "", "weight", 2, uc->noise_channels,
                                 uc->augment_dim, 0, 0);
    PIRF_CHECK(net->map_augment >= 0, "out of memory building the parameter table");
  }
  net->map_layer0 = add_layer(t, "map_layer0", "", uc->noise_channels, uc->emb_channels, 0);
  net->map_layer1 = add_layer(t, "map_layer1", "", uc->emb_channels, uc->emb_channels, 0);
  PIRF_CHECK(net->map_layer1 >= 0, "out of memory building the parameter table");

  /* Encoder. skips[] records each pushed output's channels (EDM's `skips` list). */
  int skips[1 + PIRF_UNET_MAX_LEVELS * 65], nskip = 0;
  net->pg_layer1 = net->pg_layer2 = -1;
  /* SongUNetPG builds its SongUNet with in_channels * 2: x and the embedded gradient */
  int cout = uc->in_channels * (uc->physics_gradient ? 2 : 1);
  for (int l = 0; l < L; l++) {
    int res = uc->resolution >> l;
    pirf_unet_module *m;
    if (l == 0) {
      m = new_module(net, cap, PIRF_UNET_CONV, 0, 0, "conv");
      m->cin = cout;
      m->cout = cout = mc;
      m->conv = add_layer(t, m->name, "", m->cin, m->cout, 3);
      PIRF_CHECK(m->conv >= 0, "out of memory building the parameter table");
      m->p_end = t->n;
    } else {
      m = new_module(net, cap, PIRF_UNET_BLOCK, 0, l, "down");
      m->in_level = l - 1;
      m->cin = m->cout = cout;
      m->down = 1;
      PIRF_TRY(add_block(net, m));
    }
    m->push = 1;
    skips[nskip++] = m->cout;
    for (int i = 0; i < nb; i++) {
      char suffix[16];
      snprintf(suffix, sizeof suffix, "block%d", i);
      m = new_module(net, cap, PIRF_UNET_BLOCK, 0, l, suffix);
      m->cin = cout;
      m->cout = cout = mc * uc->channel_mult[l];
      m->attention = in_attn(uc, res);
      PIRF_TRY(add_block(net, m));
      m->push = 1;
      skips[nskip++] = m->cout;
    }
  }

  /* Decoder, from the coarsest level up. */
  for (int l = L - 1; l >= 0; l--) {
    int res = uc->resolution >> l;
    pirf_unet_module *m;
    if (l == L - 1) {
      m = new_module(net, cap, PIRF_UNET_BLOCK, 1, l, "in0");
      m->cin = m->cout = cout;
      m->attention = 1;
      PIRF_TRY(add_block(net, m));
      m = new_module(net, cap, PIRF_UNET_BLOCK, 1, l, "in1");
      m->cin = m->cout = cout;
      PIRF_TRY(add_block(net, m));
    } else {
      m = new_module(net, cap, PIRF_UNET_BLOCK, 1, l, "up");
      m->in_level = l + 1;
      m->cin = m->cout = cout;
      m->up = 1;
      PIRF_TRY(add_block(net, m));
    }
    for (int i = 0; i <= nb; i++) {
      char suffix[16];
      snprintf(suffix, sizeof suffix, "block%d", i);
      m = new_module(net, cap, PIRF_UNET_BLOCK, 1, l, suffix);
      m->skip_channels = skips[--nskip];
      m->cin = cout + m->skip_channels;
      m->cout = cout = mc * uc->channel_mult[l];
      m->attention = i == nb && in_attn(uc, res);
      PIRF_TRY(add_block(net, m));
    }
    if (l == 0) {
      m = new_module(net, cap, PIRF_UNET_AUX_NORM, 1, 0, "aux_norm");
      m->cin = m->cout = cout;
      m->norm = add_layer(t, m->name, "", 0, cout, -1);
      m->groups1 = gn_groups(cout);
      m->p_end = t->n;
      m = new_module(net, cap, PIRF_UNET_AUX_CONV, 1, 0, "aux_conv");
      m->cin = cout;
      m->cout = uc->out_channels;
      m->conv = add_layer(t, m->name, "", m->cin, m->cout, 3);
      PIRF_CHECK(m->conv >= 0, "out of memory building the parameter table");
      m->p_end = t->n;
    }
  }
  PIRF_CHECK(nskip == 0 && net->nmod == cap, "internal error: U-Net skip stack or module count");
  if (uc->physics_gradient) {
    net->pg_layer1 = add_layer(t, "emb_grad_layer1", "", uc->in_channels, mc, 1);
    net->pg_layer2 = add_layer(t, "emb_grad_layer2", "", mc, uc->in_channels, 3);
    PIRF_CHECK(net->pg_layer1 >= 0 && net->pg_layer2 >= 0,
               "out of memory building the parameter table");
  }
  return 0;
}

void pirf_unet_destroy(pirf_unet *net) {
  free(net->mod);
  pirf_param_table_free(&net->table);
  memset(net, 0, sizeof *net);
}

/* ---- initialization --------------------------------------------------------------------- */

/* xavier_uniform * gain into tensor i (EDM weight_init: fan_in = in*k*k, fan_out = out*k*k). */
static void xavier(const pirf_param *p, int i, uint32_t seed, double gain, float *params) {
  double ksq = p->ndim == 4 ? (double)p->shape[2] * p->shape[3] : 1.0;
  double fan_in = p->shape[1] * ksq, fan_out = p->shape[0] * ksq;
  double a = sqrt(6.0 / (fan_in + fan_out)) * gain;
  float *w = params + p->offset;
  for (size_t e = 0; e < p->count; e++)
    w[e] = (float)(a * (2.0 * pirf_rng_uniform(seed, PIRF_STREAM_INIT, (uint32_t)i, 0, 0,
                                               (uint32_t)e) - 1.0));
}

static void fill(const pirf_param *p, float v, float *params) {
  for (size_t e = 0; e < p->count; e++) params[p->offset + e] = v;
}

/* The init_weight of a conv/linear weight from its module part (EDM SongUNet: init, init_zero,
 * init_attn). */
static double init_gain(const char *name) {
  if (!strncmp(name, "emb_grad_layer", 14)) return 0.0; /* SongUNetPG: init_weight = 0 */
  if (strstr(name, ".conv1.") || strstr(name, ".proj.") || strstr(name, "_aux_conv."))
    return 1e-5;
  if (strstr(name, ".qkv.")) return sqrt(0.2);
  return 1.0;
}

void pirf_unet_init_params(const pirf_unet *net, uint32_t seed, float *params) {
  const pirf_param_table *t = &net->table;
  for (int i = 0; i < t->n; i++) {
    const pirf_param *p = &t->p[i];
    int is_bias = strstr(p->name, ".bias") != NULL;
    if (p->ndim == 1)  /* GroupNorm weight 1; every bias 0 */
      fill(p, is_bias ? 0.0f : 1.0f, params);
    else
      xavier(p, i, seed, init_gain(p->name), params);
  }
}

/* ---- counts ------------------------------------------------------------------------------ */

void pirf_unet_count(const pirf_unet *net, pirf_unet_counts *c) {
  memset(c, 0, sizeof *c);
  const pirf_param_table *t = &net->table;
  c->total = t->total;
  for (int i = net->map_augment >= 0 ? net->map_augment : net->map_layer0; i <= net->map_layer1 + 1;
       i++)
    c->map += t->p[i].count;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    size_t n = 0;
    for (int i = m->p_first; i < m->p_end; i++) n += t->p[i].count;
    if (m->decoder)
      c->dec[m->level] += n;
    else
      c->enc[m->level] += n;
  }
  for (int l = 0; l < net->cfg.levels; l++) c->encoder += c->enc[l];
  if (net->pg_layer1 >= 0)
    for (int i = net->pg_layer1; i < net->pg_layer2 + 2; i++) c->pg += t->p[i].count;
}

void pirf_unet_decoder_level_range(const pirf_unet *net, int level, int *first, int *end) {
  *first = *end = -1;
  for (int k = 0; k < net->nmod; k++) {
    const pirf_unet_module *m = &net->mod[k];
    if (!m->decoder || m->level != level) continue;
    if (*first < 0) *first = m->p_first;
    *end = m->p_end;
  }
}
