/* The SongUNet configuration from the deck's `model` section (see pirf/unet.h). */
#include "pirf/check.h"
#include "pirf/conv2d.h"
#include "pirf/groupnorm.h"
#include "pirf/unet.h"

#include <string.h>

int pirf_unet_config_check(const pirf_unet_config *uc) {
  PIRF_USER_CHECK(uc->levels >= 1 && uc->levels <= PIRF_UNET_MAX_LEVELS,
                  "model.channel_mult has %d entries; give 1 to %d levels", uc->levels,
                  PIRF_UNET_MAX_LEVELS);
  PIRF_USER_CHECK(uc->resolution % (1 << (uc->levels - 1)) == 0,
                  "grid.resolution %d cannot be halved %d times for a %d-level U-Net; use a "
                  "multiple of %d or fewer model.channel_mult entries",
                  uc->resolution, uc->levels - 1, uc->levels, 1 << (uc->levels - 1));
  PIRF_USER_CHECK(uc->in_channels >= 1 && uc->out_channels >= 1,
                  "the network needs at least one data channel (got %d in, %d out)",
                  uc->in_channels, uc->out_channels);
  PIRF_USER_CHECK(uc->noise_channels % 2 == 0 && uc->noise_channels >= 4,
                  "model.channels = %d: the noise embedding needs an even count of at least 4",
                  uc->model_channels);
  /* GroupNorm uses min(32, C/4) groups (EDM), which must divide C. Every normalized channel count
   * is model_channels * mult, or such a count plus a skip's, or model_channels itself. */
  for (int l = 0; l < uc->levels; l++) {
    int c = uc->model_channels * uc->channel_mult[l];
    int g = pirf_groupnorm_edm_groups(c);
    PIRF_USER_CHECK(c >= 4 && c % g == 0,
                    "model.channels * channel_mult[%d] = %d channels do not split into GroupNorm's "
                    "min(32, C/4) = %d groups; use a multiple of 4 below 128 or of 32 above",
                    l, c, g);
  }
  return 0;
}

int pirf_unet_config_from_deck(const pirf_config *cfg, int resolution, int data_channels,
                               pirf_unet_config *uc) {
  long mult[PIRF_UNET_MAX_LEVELS], attn[PIRF_UNET_MAX_LEVELS];
  *uc = (pirf_unet_config){0};
  uc->resolution = resolution;
  uc->in_channels = uc->out_channels = data_channels;
  uc->model_channels = (int)pirf_cfg_int(cfg, "model.channels");
  uc->levels = pirf_cfg_int_list(cfg, "model.channel_mult", mult, PIRF_UNET_MAX_LEVELS);
  for (int l = 0; l < uc->levels && l < PIRF_UNET_MAX_LEVELS; l++) uc->channel_mult[l] = (int)mult[l];
  uc->num_blocks = (int)pirf_cfg_int(cfg, "model.num_blocks");
  uc->nattn = pirf_cfg_int_list(cfg, "model.attn_resolutions", attn, PIRF_UNET_MAX_LEVELS);
  for (int i = 0; i < uc->nattn && i < PIRF_UNET_MAX_LEVELS; i++) uc->attn_resolutions[i] = (int)attn[i];
  uc->dropout = pirf_cfg_real(cfg, "model.dropout");
  uc->physics_gradient = pirf_cfg_bool(cfg, "model.physics_gradient");
  uc->augment_dim = (int)pirf_cfg_int(cfg, "model.augment_dim");
  const char *np = pirf_cfg_str(cfg, "model.nograd_precision");
  uc->nograd_precision = !strcmp(np, "bf16")       ? PIRF_CONV_FWD_BF16
                         : !strcmp(np, "winograd") ? PIRF_CONV_FWD_WINOGRAD
                                                   : PIRF_CONV_FWD_FP32;
  PIRF_USER_CHECK(uc->nograd_precision != PIRF_CONV_FWD_BF16 || pirf_conv2d_bf16_supported(),
                  "model.nograd_precision is bf16 but oneDNN has no bfloat16 convolution for "
                  "this CPU (it needs AVX-512); set model.nograd_precision: fp32");
  uc->emb_channels = 4 * uc->model_channels;   /* channel_mult_emb = 4 */
  uc->noise_channels = uc->model_channels;     /* channel_mult_noise = 1 */
  return pirf_unet_config_check(uc);
}
