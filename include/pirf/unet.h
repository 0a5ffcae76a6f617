/* The EDM "DDPM++" SongUNet (docs/algorithm.md §4): its configuration, its module list and its parameter
 * table, the thing every other part of the model works from.
 *
 * pirf_unet_create walks EDM's constructor: map_augment (with model.augment_dim), map_layer0/1, then the encoder levels (R, R/2, ...),
 * then the decoder levels from the coarsest up, one pirf_unet_module per EDM module that forward
 * visits (map_noise has no parameters and is not listed). Parameters are laid out in EDM's
 * state_dict order (module order, inside a module norm0, conv0, affine, norm1, conv1, skip, norm2,
 * qkv, proj; weight before bias), with EDM's names without the EDMPrecond "model." prefix, so a
 * decoder level is a contiguous range of the arena (layer-wise truncation trains one range).
 * Resampling filters are constant buffers in EDM, not parameters, and are not in the table.
 * With model.physics_gradient the table ends with PG-Diffusion's branch, emb_grad_layer1.{weight,
 * bias} (1x1, C -> model_channels) and emb_grad_layer2.{weight,bias} (3x3, model_channels -> C):
 * SongUNetPG registers them after the SongUNet's modules, so its state_dict lists them last.
 *
 * Nothing here depends on the rank layout: the table and the initial weights are the same at any
 * number of ranks. Evaluating the network is in pirf/unet_eval.h. */
#ifndef PIRF_UNET_H
#define PIRF_UNET_H

#include "pirf/config.h"
#include "pirf/params.h"

#include <stdint.h>

#define PIRF_UNET_MAX_LEVELS 8

typedef struct {
  int resolution;                          /* img_resolution: fields are resolution^2 */
  int in_channels, out_channels;           /* data channels (EDM: img_channels for both) */
  int model_channels;                      /* model.channels */
  int levels;                              /* length of channel_mult */
  int channel_mult[PIRF_UNET_MAX_LEVELS];
  int num_blocks;
  int nattn;
  int attn_resolutions[PIRF_UNET_MAX_LEVELS];
  double dropout;
  int emb_channels;                        /* model_channels * channel_mult_emb (4) */
  int noise_channels;                      /* model_channels * channel_mult_noise (1) */
  int physics_gradient;                    /* model.physics_gradient: PG-Diffusion's dx branch
                                              (pirf/pg_branch.h); the first conv then has 2C inputs */
  int augment_dim;                         /* model.augment_dim: EDM's augmentation labels, added to
                                              the noise embedding through map_augment (0 = none) */
  int nograd_precision;                    /* model.nograd_precision as a pirf_conv_fwd: how
                                              evaluations without tape run their convolutions
                                              (not a property of the weights: checkpoints do not
                                              record it) */
} pirf_unet_config;

typedef enum {
  PIRF_UNET_CONV,     /* enc.RxR_conv: 3x3 conv from the data channels */
  PIRF_UNET_BLOCK,    /* a UNetBlock */
  PIRF_UNET_AUX_NORM, /* dec.RxR_aux_norm: GroupNorm */
  PIRF_UNET_AUX_CONV  /* dec.RxR_aux_conv: SiLU then 3x3 conv to the data channels */
} pirf_unet_kind;

/* One EDM module, in forward order. Parameter fields are indices into the table of the weight
 * (the bias is the next entry), -1 where the module has no such part. */
typedef struct {
  char name[40];           /* "enc.64x64_block0" */
  pirf_unet_kind kind;
  int decoder;             /* 0 = enc.*, 1 = dec.* */
  int level;               /* output level: 0 = full resolution, level l has resolution R >> l */
  int in_level;            /* input level: level - 1 for a down block, level + 1 for up */
  int cin, cout;           /* cin includes a concatenated skip */
  int up, down, attention;
  int skip_channels;       /* decoder blocks: channels popped from the skip stack and appended */
  int push;                /* encoder modules push their output onto the skip stack */
  int p_first, p_end;      /* this module's parameters are table entries [p_first, p_end) */
  int norm0, conv0, affine, norm1, conv1, skip, norm2, qkv, proj; /* UNetBlock parts */
  int norm, conv;          /* PIRF_UNET_CONV / AUX_NORM / AUX_CONV: their one part */
  int groups0, groups1;    /* GroupNorm groups of norm0 (cin) and norm1/norm2/aux_norm (cout) */
} pirf_unet_module;

typedef struct {
  pirf_unet_config cfg;
  pirf_unet_module *mod;
  int nmod;
  int map_augment;            /* table index of map_augment.weight [noise][augment_dim] (no bias),
                                 the table's first tensor when augment_dim > 0, else -1 */
  int map_layer0, map_layer1; /* table indices of the embedding MLP weights */
  int pg_layer1, pg_layer2;   /* table indices of the physics-gradient branch's weights
                                 (emb_grad_layer1/2, the last four tensors), -1 without it */
  pirf_param_table table;
} pirf_unet;

/* The configuration of the deck's `model` section for fields of `resolution`^2 with
 * `data_channels` channels. Collective user checks (every level must halve evenly, channel counts
 * must allow GroupNorm's groups). */
int pirf_unet_config_from_deck(const pirf_config *cfg, int resolution, int data_channels,
                               pirf_unet_config *uc);
/* The same checks on a filled-in configuration. */
int pirf_unet_config_check(const pirf_unet_config *uc);

/* Build the module list and the parameter table (no parameter memory is allocated). */
int pirf_unet_create(const pirf_unet_config *uc, pirf_unet *net);
void pirf_unet_destroy(pirf_unet *net);

/* EDM's initialization into params[table.total] (docs/algorithm.md §4.4; EDM SongUNet): every conv and
 * linear weight xavier_uniform, w = sqrt(6 / (fan_in + fan_out)) * U(-1, 1) * init_weight with
 * fan_in = Cin*k*k and fan_out = Cout*k*k (linear: k = 1), init_weight 1, except conv1, proj and
 * aux_conv (1e-5) and qkv (sqrt(0.2)); every bias 0; GroupNorm weight 1, bias 0. U(-1, 1) of
 * element e of tensor i is Philox(seed, PIRF_STREAM_INIT, step = i, pixel = e), so the weights
 * depend on nothing but the seed and the configuration. The physics-gradient branch's weights and
 * biases are 0 (SongUNetPG: init_weight = 0). */
void pirf_unet_init_params(const pirf_unet *net, uint32_t seed, float *params);

/* Parameter-table helpers. */
int pirf_param_find(const pirf_param_table *t, const char *name); /* index or -1 */
void pirf_param_table_free(pirf_param_table *t);

/* Parameter counts of the parts of the network, for `pirf info` and tests. */
typedef struct {
  size_t total, map;
  size_t enc[PIRF_UNET_MAX_LEVELS], dec[PIRF_UNET_MAX_LEVELS];
  size_t encoder;                       /* sum of enc[] */
  size_t pg;                            /* the physics-gradient branch (0 without it) */
} pirf_unet_counts;
void pirf_unet_count(const pirf_unet *net, pirf_unet_counts *c);
/* Table range [first, end) of decoder level `level` (contiguous in module order). */
void pirf_unet_decoder_level_range(const pirf_unet *net, int level, int *first, int *end);

#endif
