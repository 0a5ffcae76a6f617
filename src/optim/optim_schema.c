/* Reading a stage's optimizer settings from the deck. Pretraining and fine-tuning run from one deck
 * with different values (EDM's lr 1e-3 and 10 Mimg ramp against PIRF's 1e-4 and no ramp), so each
 * stage has its own keys <section>.lr, .lr_rampup_kimg, .ema_halflife_kimg, .ema_rampup_ratio,
 * declared in that stage's schema table. */
#include "pirf/optim.h"

#include <stdio.h>

void pirf_optim_settings_from_deck(const pirf_config *cfg, const char *section,
                                   pirf_optim_settings *s) {
  char key[128];
  snprintf(key, sizeof key, "%s.lr", section);
  s->lr = pirf_cfg_real(cfg, key);
  snprintf(key, sizeof key, "%s.lr_rampup_kimg", section);
  s->lr_rampup_kimg = pirf_cfg_real(cfg, key);
  snprintf(key, sizeof key, "%s.ema_halflife_kimg", section);
  s->ema_halflife_kimg = pirf_cfg_real(cfg, key);
  snprintf(key, sizeof key, "%s.ema_rampup_ratio", section);
  s->ema_rampup_ratio = pirf_cfg_real(cfg, key);
}
