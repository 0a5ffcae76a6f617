/* Deck keys of the `model` section: the EDM DDPM++ SongUNet configuration (docs/algorithm.md §4.1). */
#include "pirf/config.h"

const pirf_cfg_spec pirf_model_schema[] = {
    {"model.channels", PIRF_CFG_INT, "128", 4, 4096, 0, 0, NULL,
     "base channel count (model_channels); each level has channels * channel_mult[l]"},
    {"model.channel_mult", PIRF_CFG_INT_LIST, "[2, 2, 2]", 1, 64, 1, 8, NULL,
     "channel multiplier per resolution level; its length is the number of levels"},
    {"model.num_blocks", PIRF_CFG_INT, "4", 1, 64, 0, 0, NULL,
     "residual blocks per level in the encoder (the decoder has one more)"},
    {"model.attn_resolutions", PIRF_CFG_INT_LIST, "[16]", 0, 65536, 1, 8, NULL,
     "resolutions with self-attention (the bottleneck in0 block always has it)"},
    {"model.dropout", PIRF_CFG_REAL, "0.13", 0, 0.99, 0, 0, NULL,
     "dropout probability before conv1 of every UNet block (training and taped steps)"},
    {"model.physics_gradient", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "PG-Diffusion's network: a residual-gradient input branch (emb_grad_layer1/2), 2C inputs"},
    {"model.augment_dim", PIRF_CFG_INT, "0", 0, 64, 0, 0, NULL,
     "EDM's augmentation labels (map_augment, bias-free, into the noise embedding): 9 to pretrain "
     "with pretrain.augment, 0 = none; sampling and fine-tuning feed no labels"},
    {"model.nograd_precision", PIRF_CFG_ENUM, "fp32", 0, 0, 0, 0, "fp32|bf16|winograd",
     "how network evaluations that carry no gradient (sampling, fine-tuning's N - K frozen steps) "
     "compute their convolutions: fp32 direct; bf16 rounds inputs and weights to bfloat16 and sums "
     "in float32 (needs AVX-512); winograd: float32 Winograd F(4x4,3x3) for the 3x3 ones "
     "(docs/model.md; docs/performance.md measures speed and sample quality)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
