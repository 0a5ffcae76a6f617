/* `pirf sample DECK [key=value ...]`: draw samples from a checkpoint with the deterministic EDM Heun
 * sampler, optionally with DiffusionPDE/DPS residual guidance or CoCoGen (docs/algorithm.md §2.3, §7.2,
 * §7.3), and write a samples file (pirf/samples.h) with the residual of every sample.
 *
 *   mpiexec -n 2 pirf sample input/quickstart.yaml sample.method=dps sample.zeta=1e-5
 *
 * Batches of sample.batch samples go round-robin to the data groups (pirf/sampling.h), so the
 * samples are the same at any rank layout. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/pg_sample.h"
#include "pirf/physics.h"
#include "pirf/sampling.h"
#include "pirf/prof.h"

#include <stdio.h>
#include <stdlib.h>

const pirf_cfg_spec pirf_sample_schema[] = {
    {"sample.checkpoint", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL,
     "checkpoint to sample from; empty means output.dir/base.h5"},
    {"sample.weights", PIRF_CFG_ENUM, "ema", 0, 0, 0, 0, "ema|net",
     "which weights of the checkpoint: the EMA or the raw network"},
    {"sample.steps", PIRF_CFG_INT, "20", 1, PIRF_MAX_STEPS, 0, 0, NULL,
     "Heun sampler steps N (2N-1 network evaluations)"},
    {"sample.samples", PIRF_CFG_INT, "16", 1, 100000000, 0, 0, NULL, "number of samples"},
    {"sample.batch", PIRF_CFG_INT, "8", 1, PIRF_SAMPLE_MAX_BATCH, 0, 0, NULL,
     "samples per batch, the unit of work of a data group (guidance's norm is over one batch)"},
    {"sample.seed", PIRF_CFG_INT, "0", 0, 2147483647, 0, 0, NULL,
     "seed of the initial latents x_0 (Philox key)"},
    {"sample.output", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL,
     "samples file; empty means output.dir/samples_<method>.h5"},
    {"sample.method", PIRF_CFG_ENUM, "heun", 0, 0, 0, 0, "heun|dps|cocogen|pg-diffusion",
     "heun: plain sampler; dps: DiffusionPDE residual guidance; cocogen: dps plus post-correction; "
     "pg-diffusion: Euler steps feeding the residual norm's gradient to a model.physics_gradient "
     "network"},
    {"sample.zeta", PIRF_CFG_REAL, "1e-5", 0, 1e6, 0, 0, NULL,
     "guidance step: x_next -= zeta * d||R(x_hat)||/dx_cur on guided steps"},
    {"sample.guided_fraction", PIRF_CFG_REAL, "0.8", 0, 1, 0, 0, NULL,
     "guide steps i > guided_fraction * N"},
    {"sample.corrections", PIRF_CFG_INT, "3", 0, 10000, 0, 0, NULL,
     "cocogen: post-correction steps M on the final sample"},
    {"sample.correction_zeta", PIRF_CFG_REAL, "1e-5", 0, 1e6, 0, 0, NULL,
     "cocogen: step of each post-correction x -= zeta_c * d||R(x)||/dx"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static int sample(pirf_config *cfg) {
  const char *dir = pirf_cfg_str(cfg, "output.dir");
  const char *method = pirf_cfg_str(cfg, "sample.method");
  char ckpt[4096], out[4096];
  if (*pirf_cfg_str(cfg, "sample.checkpoint"))
    snprintf(ckpt, sizeof ckpt, "%s", pirf_cfg_str(cfg, "sample.checkpoint"));
  else
    if (!pirf_pretrain_output(cfg, ckpt, sizeof ckpt)) return PIRF_ERR_USER;
  if (*pirf_cfg_str(cfg, "sample.output"))
    snprintf(out, sizeof out, "%s", pirf_cfg_str(cfg, "sample.output"));
  else
    snprintf(out, sizeof out, "%s/samples_%s.h5", dir, method);

  pirf_sample_opts o = {
      .g = {(pirf_method)pirf_method_parse(method), pirf_cfg_real(cfg, "sample.zeta"),
            pirf_cfg_real(cfg, "sample.guided_fraction"), (int)pirf_cfg_int(cfg, "sample.corrections"),
            pirf_cfg_real(cfg, "sample.correction_zeta")},
      .steps = (int)pirf_cfg_int(cfg, "sample.steps"),
      .samples = pirf_cfg_int(cfg, "sample.samples"),
      .batch = (int)pirf_cfg_int(cfg, "sample.batch"),
      .seed = (uint32_t)pirf_cfg_int(cfg, "sample.seed"),
      .path = out,
      .checkpoint = ckpt,
      .weights = pirf_cfg_str(cfg, "sample.weights"),
      .label = "sample"};

  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc));
  pirf_physics *ph = NULL;
  pirf_unet net;
  float *params = NULL;
  int err = pirf_physics_create(cfg, &dc, &ph);
  if (!err)
    err = pirf_sample_load_network(cfg, &dc, ph->pde->channels, ckpt, o.weights, &net, &params);
  if (!err) {
    pirf_log("[sample] %s weights of %s; %s, N = %d (%d network evaluations per sample), %ld "
             "samples in batches of %d; %d data group%s x %d tile%s\n",
             o.weights, ckpt, method, o.steps,
             o.g.method == PIRF_METHOD_PG_DIFFUSION ? o.steps : pirf_heun_nfe(o.steps), o.samples,
             o.batch,
             dc.ndata, dc.ndata == 1 ? "" : "s", dc.nspace, dc.nspace == 1 ? "" : "s");
    if (o.g.method == PIRF_METHOD_PG_DIFFUSION)
      pirf_log("[sample] PG-Diffusion: Euler steps (%d evaluations), d||R||/dx fed to the network "
               "on %d of them (i >= %g N)\n", o.steps, pirf_pg_guided_steps(o.steps),
               PIRF_PG_FRACTION);
    else if (o.g.method != PIRF_METHOD_HEUN)
      pirf_log("[sample] guidance: zeta = %g on steps i > %g N%s\n", o.g.zeta, o.g.guided_fraction,
               o.g.method == PIRF_METHOD_COCOGEN ? "; then corrections" : "");
    pirf_sample_stats st;
    err = pirf_sample_set(cfg, &dc, ph, &net, params, &o, NULL, &st);
    if (!err) {
      pirf_log("[sample] cost per sample: %.4g s; %ld network evaluations + %ld guidance vjps "
               "(about %ld evaluations) per trajectory\n",
               st.seconds_per_sample, st.nfe, st.vjps, st.nfe + 2 * st.vjps);
      pirf_log("[sample] residual MSE %.6e, MAE %.6e (physical units); wrote %s\n", st.mse, st.mae,
               out);
    }
    free(params);
    pirf_unet_destroy(&net);
  }
  pirf_physics_destroy(&ph);
  pirf_decomp_destroy(&dc);
  return err;
}

int pirf_stage_sample(pirf_config *cfg) {
  pirf_prof_stage_push(PIRF_STAGE_SAMPLE);
  const int err = sample(cfg);
  pirf_prof_stage_pop(PIRF_STAGE_SAMPLE);
  return err;
}
