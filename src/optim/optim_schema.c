/* Deck keys of the `optim` section: Adam's learning rate and its ramp, the EMA (PIRF-SPEC §2.8). */
#include "pirf/optim.h"

const pirf_cfg_spec pirf_optim_schema[] = {
    {"optim.lr", PIRF_CFG_REAL, "1e-4", 0, 1, 0, 0, NULL,
     "nominal Adam learning rate (betas 0.9/0.999, eps 1e-8, no weight decay)"},
    {"optim.lr_rampup_kimg", PIRF_CFG_REAL, "10000", 0, 1e9, 0, 0, NULL,
     "linear learning-rate warm-up over this many thousand images (EDM: 10000); 0 = constant lr"},
    {"optim.ema_halflife_kimg", PIRF_CFG_REAL, "50", 0, 1e9, 0, 0, NULL,
     "half-life of the weights' EMA in thousands of images (reference --ema 0.05 Mimg)"},
    {"optim.ema_rampup_ratio", PIRF_CFG_REAL, "0.05", 0, 1e3, 0, 0, NULL,
     "EMA ramp-up: half-life at most this fraction of the images seen; 0 = no ramp-up"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

void pirf_optim_settings_from_deck(const pirf_config *cfg, pirf_optim_settings *s) {
  s->lr = pirf_cfg_real(cfg, "optim.lr");
  s->lr_rampup_kimg = pirf_cfg_real(cfg, "optim.lr_rampup_kimg");
  s->ema_halflife_kimg = pirf_cfg_real(cfg, "optim.ema_halflife_kimg");
  s->ema_rampup_ratio = pirf_cfg_real(cfg, "optim.ema_rampup_ratio");
}
