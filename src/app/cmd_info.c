/* `pirf info DECK [key=value ...]`: what the deck's network is, before anything runs.
 *
 * Prints the SongUNet configuration (for the deck's grid and PDE channels), the parameter count
 * and its split over the embedding MLP, the encoder levels and the decoder levels, and the number
 * of parameters layer-wise truncation trains (the full-resolution decoder level, docs/algorithm.md §2.6).
 * For the paper's 128x128 two-channel models the total is 54,410,882. Needs no data and no ranks
 * beyond one; every rank computes the same thing and rank 0 prints. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/physics.h"
#include "pirf/unet.h"
#include "pirf/unet_eval.h"

#include <stdio.h>

/* 54410882 -> "54,410,882" */
static const char *grouped(size_t n, char *buf) {
  char tmp[32];
  int len = snprintf(tmp, sizeof tmp, "%zu", n), o = 0;
  for (int i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = tmp[i];
  }
  buf[o] = 0;
  return buf;
}

static void print_info(const pirf_unet *net, const char *pde) {
  const pirf_unet_config *uc = &net->cfg;
  pirf_unet_counts c;
  pirf_unet_count(net, &c);
  char b[32];
  pirf_log("SongUNet (EDM DDPM++) for %s: %dx%d, %d channel%s\n", pde, uc->resolution,
           uc->resolution, uc->in_channels, uc->in_channels > 1 ? "s" : "");
  pirf_log("  channels %d, channel_mult [", uc->model_channels);
  for (int l = 0; l < uc->levels; l++) pirf_log("%s%d", l ? ", " : "", uc->channel_mult[l]);
  pirf_log("], num_blocks %d, attn_resolutions [", uc->num_blocks);
  for (int i = 0; i < uc->nattn; i++) pirf_log("%s%d", i ? ", " : "", uc->attn_resolutions[i]);
  pirf_log("], dropout %g, embedding %d\n", uc->dropout, uc->emb_channels);
  pirf_log("  %d modules, %d parameter tensors\n\n", net->nmod, net->table.n);
  pirf_log("  %-22s %14s\n", "part", "parameters");
  pirf_log("  %-22s %14s\n", "embedding (map_*)", grouped(c.map, b));
  for (int l = 0; l < uc->levels; l++) {
    char part[40];
    int r = uc->resolution >> l;
    snprintf(part, sizeof part, "encoder %dx%d", r, r);
    pirf_log("  %-22s %14s\n", part, grouped(c.enc[l], b));
  }
  pirf_log("  %-22s %14s\n", "encoder total", grouped(c.encoder, b));
  for (int l = uc->levels - 1; l >= 0; l--) {
    char part[40];
    int r = uc->resolution >> l;
    snprintf(part, sizeof part, "decoder %dx%d", r, r);
    pirf_log("  %-22s %14s\n", part, grouped(c.dec[l], b));
  }
  if (c.pg) pirf_log("  %-22s %14s\n", "physics-gradient branch", grouped(c.pg, b));
  pirf_log("  %-22s %14s\n\n", "total", grouped(c.total, b));
  pirf_log("  trainable with layer-wise truncation (decoder %dx%d): %s (%.1f%%)\n",
           uc->resolution, uc->resolution, grouped(c.dec[0], b),
           100.0 * (double)c.dec[0] / (double)c.total);
  pirf_log("  parameter arena: %.1f MiB per copy (weights, gradients, EMA, reference)\n",
           (double)c.total * sizeof(float) / (1024.0 * 1024.0));
}

/* Activation memory of one evaluation per rank on the deck's layout (parallel.tiles), per sample:
 * the arenas are planned, not allocated. */
static int print_memory(const pirf_unet *net, const pirf_config *cfg) {
  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc));
  size_t fwd, bwd, tape, tape0;
  int err = pirf_unet_memory(net, &dc, 1, &fwd, &bwd, &tape, &tape0);
  if (!err) {
    const double MiB = 1024.0 * 1024.0;
    pirf_log("\n  activation memory per sample and rank (tiles [%d, %d], tile %dx%d):\n", dc.px,
             dc.py, dc.xm, dc.ym);
    pirf_log("    forward without gradient (work, live tensors only)   %9.1f MiB\n", fwd / MiB);
    pirf_log("    forward + backward work (scratch and cotangents)     %9.1f MiB\n", bwd / MiB);
    pirf_log("    one tape (what backward needs, per taped evaluation) %9.1f MiB\n", tape / MiB);
    pirf_log("    one tape truncated to the %dx%d decoder level          %9.1f MiB\n",
             net->cfg.resolution, net->cfg.resolution, tape0 / MiB);
  }
  pirf_decomp_destroy(&dc);
  return err;
}

int pirf_cmd_info(const char *deck, int nargs, char **args) {
  pirf_config *cfg = NULL;
  PIRF_TRY(pirf_deck_load(deck, nargs, args, &cfg));
  const char *name = pirf_cfg_str(cfg, "pde.name");
  const pirf_pde *pde = pirf_pde_find(name);
  int err = PIRF_ERR_USER;
  if (pde) {
    pirf_unet_config uc;
    pirf_unet net;
    err = pirf_unet_config_from_deck(cfg, (int)pirf_cfg_int(cfg, "grid.resolution"),
                                     pde->channels, &uc);
    if (!err) err = pirf_unet_create(&uc, &net);
    if (!err) {
      print_info(&net, name);
      err = print_memory(&net, cfg);
      pirf_unet_destroy(&net);
    }
  }
  pirf_config_destroy(&cfg);
  return err;
}
