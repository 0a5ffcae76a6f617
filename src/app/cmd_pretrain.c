/* `pirf pretrain DECK [key=value ...]`: train the EDM base model on the deck's data set
 * (PIRF-SPEC §3): EDM loss, sharded Adam with the LR ramp, EMA, checkpoints and resume. The
 * optimizer settings are pretrain.lr, pretrain.lr_rampup_kimg, pretrain.ema_* (fine-tuning has
 * its own finetune.*).
 *
 * One step takes pretrain.batch images (the global batch, split evenly over the data groups; each
 * group runs its share in rounds of pretrain.micro_batch, accumulating the gradient as EDM's
 * --batch-gpu does), then one Adam step on every tensor and one EMA update. Which data sample fills
 * global slot s of step t is floor(N * Philox(seed, SCHEDULE, t, s)), and sigma, the noise and
 * dropout are keyed by (t, s) too, so a run gives the same result at any rank layout (up to the
 * order of float sums) and a resumed run continues exactly where it stopped.
 *
 * Outputs in output.dir: pretrain-state.h5 (the checkpoint, written every
 * pretrain.checkpoint_kimg and at the end; a run resumes from it), base.h5 (the same, written once
 * training is complete: the input of fine-tuning), pretrain.jsonl (one JSON object per log
 * interval: step, kimg, loss, lr, EMA beta, non-finite gradient values, seconds per step).
 *
 *   mpiexec -n 4 pirf pretrain input/quickstart.yaml pretrain.kimg=100 */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/edm_loss.h"
#include "pirf/log.h"
#include "pirf/stop.h"
#include "pirf/optim.h"
#include "pirf/physics.h"
#include "pirf/provenance.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const pirf_cfg_spec pirf_pretrain_schema[] = {
    {"pretrain.batch", PIRF_CFG_INT, "60", 1, 1e7, 0, 0, NULL,
     "images per optimizer step over all ranks (EDM --batch); a multiple of the data groups"},
    {"pretrain.micro_batch", PIRF_CFG_INT, "0", 0, 1e7, 0, 0, NULL,
     "images per data group per forward/backward round (EDM --batch-gpu); 0 = the whole share"},
    {"pretrain.kimg", PIRF_CFG_REAL, "200", 1e-6, 1e9, 0, 0, NULL,
     "training length in thousands of images (EDM --duration is in millions)"},
    {"pretrain.seed", PIRF_CFG_INT, "0", 0, 2147483647, 0, 0, NULL,
     "seed of the initial weights, the data order, sigma, the noise and dropout"},
    {"pretrain.log_kimg", PIRF_CFG_REAL, "1", 1e-6, 1e9, 0, 0, NULL,
     "thousands of images between log lines (pretrain.jsonl; EDM --tick)"},
    {"pretrain.checkpoint_kimg", PIRF_CFG_REAL, "50", 1e-6, 1e9, 0, 0, NULL,
     "thousands of images between checkpoints (pretrain-state.h5)"},
    {"pretrain.resume", PIRF_CFG_BOOL, "true", 0, 0, 0, 0, NULL,
     "continue from output.dir/pretrain-state.h5 when it exists"},
    /* Pretraining's own optimizer settings: a deck that also fine-tunes (pirf run) has finetune.*
     * with other values (PIRF-SPEC §2.8 against §3). */
    {"pretrain.lr", PIRF_CFG_REAL, "1e-3", 0, 1, 0, 0, NULL,
     "pretraining's nominal Adam learning rate (EDM --lr; DiffusionPDE's models: 1e-3)"},
    {"pretrain.lr_rampup_kimg", PIRF_CFG_REAL, "10000", 0, 1e9, 0, 0, NULL,
     "pretraining's linear learning-rate warm-up in thousands of images (EDM: 10000); 0 = none"},
    {"pretrain.ema_halflife_kimg", PIRF_CFG_REAL, "50", 0, 1e9, 0, 0, NULL,
     "half-life of pretraining's weight EMA in thousands of images (DiffusionPDE --ema 0.05 Mimg)"},
    {"pretrain.ema_rampup_ratio", PIRF_CFG_REAL, "0.05", 0, 1e3, 0, 0, NULL,
     "pretraining's EMA ramp-up: half-life at most this fraction of the images seen; 0 = none"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const char *pirf_pretrain_output(const pirf_config *cfg, char *buf, size_t len) {
  snprintf(buf, len, "%s/base.h5", pirf_cfg_str(cfg, "output.dir"));
  return buf;
}

/* Everything one training run holds. */
typedef struct {
  pirf_decomp dc;
  pirf_unet net;
  pirf_unet_work *work;
  pirf_unet_tape *tape;
  pirf_edm_loss_buf lb;
  pirf_adam opt;
  pirf_dataset ds;
  float *params, *ema, *grad, *y;
  int have_net, have_ds;
} trainer;

static void trainer_destroy(trainer *t) {
  pirf_edm_loss_buf_destroy(&t->lb);
  pirf_unet_tape_destroy(&t->tape);
  pirf_unet_work_destroy(&t->work);
  pirf_adam_destroy(&t->opt);
  if (t->have_ds) pirf_dataset_close(&t->ds);
  if (t->have_net) pirf_unet_destroy(&t->net);
  free(t->params);
  free(t->ema);
  free(t->grad);
  free(t->y);
  pirf_decomp_destroy(&t->dc);
}

/* The data sample that fills global slot `slot` of step `step`. */
static long data_index(uint32_t seed, long step, long slot, long N) {
  long i = (long)(pirf_rng_uniform(seed, PIRF_STREAM_SCHEDULE, (uint32_t)step, (uint32_t)slot, 0, 0) *
                  (double)N);
  return i < N ? i : N - 1;
}

static int write_state(const char *path, trainer *t, long step, long n_img, uint32_t seed,
                       const char *deck) {
  pirf_adam *o = &t->opt;
  pirf_checkpoint ck = {t->params, t->ema, NULL, {o->first, o->count, o->lo, o->n, o->m, o->v, &o->t},
                        step, n_img, {seed, (uint64_t)step, 0, 0}};
  return pirf_checkpoint_write(path, MPI_COMM_WORLD, &t->net.table, &ck, deck);
}

static int train(pirf_config *cfg, trainer *t) {
  const long batch = pirf_cfg_int(cfg, "pretrain.batch");
  const uint32_t seed = (uint32_t)pirf_cfg_int(cfg, "pretrain.seed");
  const char *dir = pirf_cfg_str(cfg, "output.dir");
  pirf_optim_settings os;
  pirf_optim_settings_from_deck(cfg, "pretrain", &os);

  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &t->dc));
  const pirf_decomp *dc = &t->dc;
  PIRF_USER_CHECK(batch % dc->ndata == 0,
                  "pretrain.batch = %ld is not a multiple of the %d data groups of this job; use a "
                  "multiple of %d", batch, dc->ndata, dc->ndata);
  const long share = batch / dc->ndata;
  long micro = pirf_cfg_int(cfg, "pretrain.micro_batch");
  if (micro <= 0 || micro > share) micro = share;
  const long rounds = (share + micro - 1) / micro;

  char data_path[4096];
  pirf_deck_data_path(cfg, data_path, sizeof data_path);
  PIRF_TRY(pirf_dataset_open(&t->ds, MPI_COMM_WORLD, data_path, "data.path"));
  t->have_ds = 1;
  PIRF_USER_CHECK(t->ds.H == dc->H && t->ds.W == dc->W,
                  "data.path '%s' holds %dx%d fields but grid.resolution is %d; use the deck the "
                  "data were generated with", data_path, t->ds.H, t->ds.W, dc->H);
  const int C = t->ds.C;
  const long N = t->ds.N;
  /* the network's channels come from the data; they must be the PDE's, or fine-tuning (which
   * builds the network from the PDE) could not load the result */
  const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(cfg, "pde.name"));
  PIRF_USER_CHECK(!pde || pde->channels == C,
                  "data.path '%s' holds %d-channel fields but pde.name = %s has %d channel%s; use "
                  "the deck the data were generated with", data_path, C,
                  pirf_cfg_str(cfg, "pde.name"), pde ? pde->channels : 0,
                  pde && pde->channels == 1 ? "" : "s");

  pirf_unet_config uc;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, C, &uc));
  PIRF_TRY(pirf_unet_create(&uc, &t->net));
  t->have_net = 1;
  const size_t P = t->net.table.total;
  PIRF_ALLOC(t->params, P, "the network weights");
  PIRF_ALLOC(t->ema, P, "the EMA weights");
  PIRF_ALLOC(t->grad, P, "the gradient");
  PIRF_ALLOC(t->y, (size_t)micro * C * dc->xm * dc->ym, "the training data tiles");
  PIRF_TRY(pirf_unet_work_create(&t->net, dc, (int)micro, 1, &t->work));
  PIRF_TRY(pirf_unet_tape_create(&t->net, dc, (int)micro, &t->tape));
  PIRF_TRY(pirf_edm_loss_buf_create(&t->lb, dc, (int)micro, C));
  PIRF_TRY(pirf_adam_create(&t->opt, MPI_COMM_WORLD, 0, P, NULL));

  char state[4200], final[4200], logpath[4200];
  snprintf(state, sizeof state, "%s/pretrain-state.h5", dir);
  snprintf(logpath, sizeof logpath, "%s/pretrain.jsonl", dir);
  pirf_pretrain_output(cfg, final, sizeof final);
  PIRF_TRY(pirf_mkdir_p(MPI_COMM_WORLD, dir));

  long step = 0, n_img = 0;
  int resume = pirf_cfg_bool(cfg, "pretrain.resume") && access(state, R_OK) == 0;
  PIRF_MPI(MPI_Bcast(&resume, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (resume) {
    pirf_adam *o = &t->opt;
    pirf_checkpoint ck = {t->params, t->ema, NULL,
                          {o->first, o->count, o->lo, o->n, o->m, o->v, &o->t}, 0, 0, {0}};
    PIRF_TRY(pirf_checkpoint_read(state, MPI_COMM_WORLD, &t->net.table, &ck, NULL));
    PIRF_USER_CHECK(ck.rng[0] == seed,
                    "'%s' was written with pretrain.seed = %llu, but this run has %u; resume with "
                    "the same seed, or remove the file (or set pretrain.resume=false) to start over",
                    state, (unsigned long long)ck.rng[0], seed);
    PIRF_TRY(pirf_provenance_check_resume(cfg, "pretrain", state)); /* same settings? */
    step = ck.step;
    n_img = ck.n_img;
    pirf_log("[pretrain] resuming from %s at step %ld (%.3f kimg)\n", state, step, n_img / 1e3);
  } else {
    pirf_unet_init_params(&t->net, seed, t->params);
    memcpy(t->ema, t->params, P * sizeof *t->ema);
  }

  const double kimg = pirf_cfg_real(cfg, "pretrain.kimg");
  const long total_img = (long)ceil(kimg * 1000.0);
  const long log_img = (long)fmax(1.0, pirf_cfg_real(cfg, "pretrain.log_kimg") * 1000.0);
  const long ckpt_img = (long)fmax(1.0, pirf_cfg_real(cfg, "pretrain.checkpoint_kimg") * 1000.0);
  char *deck_yaml = pirf_config_to_yaml(cfg);
  FILE *log = NULL;
  if (dc->world_rank == 0) log = fopen(logpath, resume ? "a" : "w");
  int log_ok = dc->world_rank != 0 || log != NULL;
  PIRF_MPI(MPI_Bcast(&log_ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (!log_ok) free(deck_yaml);
  PIRF_USER_CHECK(log_ok, "cannot open the training log '%s' for writing", logpath);

  pirf_log("[pretrain] %s: %ld samples of %dx%d, %d channel%s; %zu parameters\n", data_path, N,
           dc->H, dc->W, C, C == 1 ? "" : "s", P);
  pirf_log("[pretrain] %ld images per step = %d data group%s x %ld (%ld round%s of %ld); %d x %d "
           "tiles; %.3f kimg\n", batch, dc->ndata, dc->ndata == 1 ? "" : "s", share, rounds,
           rounds == 1 ? "" : "s", micro, dc->px, dc->py, kimg);
  /* The progress line counts this run's images, so that a resumed run's rate and ETA are right;
   * its extra text gives the total in kimg. */
  const long start_img = n_img < total_img ? n_img : total_img;
  pirf_progress prog;
  pirf_progress_begin(&prog, "pretrain", "images", total_img - start_img);
  const size_t tile = (size_t)dc->xm * dc->ym;
  double t_last = pirf_wtime(), loss_acc = 0;
  long steps_acc = 0, bad_acc = 0;
  int err = 0;
  while (n_img < total_img && !err) {
    const double lr = pirf_lr_at(os.lr, os.lr_rampup_kimg, (double)n_img);
    memset(t->grad, 0, P * sizeof *t->grad);
    double loss = 0;
    for (long r = 0; r < rounds && !err; r++) {
      const long b0 = r * micro, nb = share - b0 < micro ? share - b0 : micro;
      const long slot0 = (long)dc->group * share + b0;
      /* Every rank reads as many blocks as every other (the groups' shares are equal), so the
       * collective reads line up. */
      for (long b = 0; b < nb && !err; b++) {
        pirf_tile_block blk = {data_index(seed, step, slot0 + b, N), 1, dc->xs, dc->xm, dc->ys,
                               dc->ym};
        err = pirf_dataset_read(&t->ds, &blk, t->y + (size_t)b * C * tile);
      }
      pirf_unet_dropout drop = {seed, (uint32_t)step, (uint32_t)slot0};
      double l = 0;
      if (!err)
        err = pirf_edm_loss(&t->net, t->work, t->tape, &t->lb, dc, t->params, t->y, (int)nb, slot0,
                            batch, seed, (uint32_t)step, uc.dropout > 0 ? &drop : NULL, t->grad, 0,
                            t->net.table.n, &l);
      loss += l;
    }
    long bad = 0;
    /* The loss is already divided by the global batch: the world sum of the partial gradients
     * is the gradient, so scale 1. */
    if (!err) err = pirf_adam_step(&t->opt, t->params, t->grad, 1.0, lr, &bad);
    if (err) break;
    const double beta = pirf_ema_beta((double)n_img, (double)batch, os.ema_halflife_kimg,
                                      os.ema_rampup_ratio);
    pirf_ema_update(t->ema, t->params, P, beta);
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    const long before = n_img;
    n_img += batch;
    step++;
    /* EDM's reported loss: the weighted squared error per pixel and channel */
    loss_acc += loss / ((double)C * dc->H * dc->W);
    steps_acc++;
    bad_acc += bad;
    const int log_now = n_img / log_img != before / log_img || n_img >= total_img;
    if (log_now) {
      double now = pirf_wtime(), sec = (now - t_last) / (double)steps_acc;
      if (log) {
        fprintf(log, "{\"step\": %ld, \"kimg\": %.4f, \"loss\": %.8g, \"lr\": %.6g, "
                     "\"ema_beta\": %.8g, \"nonfinite\": %ld, \"sec_per_step\": %.4g}\n",
                step, n_img / 1e3, loss_acc / steps_acc, lr, beta, bad_acc, sec);
        fflush(log);
      }
      char extra[128];
      snprintf(extra, sizeof extra, "kimg %.3f, loss %.5g, lr %.3g", n_img / 1e3,
               loss_acc / steps_acc, lr);
      pirf_progress_update(&prog, (n_img < total_img ? n_img : total_img) - start_img, extra);
      t_last = now;
      loss_acc = 0;
      steps_acc = bad_acc = 0;
    }
    if (n_img / ckpt_img != before / ckpt_img || n_img >= total_img)
      err = write_state(state, t, step, n_img, seed, deck_yaml);
    if (!err && n_img < total_img && pirf_stop_requested(MPI_COMM_WORLD)) {
      /* a batch system's warning signal: save where we are and let the job script resubmit */
      err = write_state(state, t, step, n_img, seed, deck_yaml);
      if (!err) {
        pirf_log("[pretrain] stop requested (signal): wrote %s at step %ld, %.3f kimg; rerun the "
                 "same command to resume\n", state, step, n_img / 1e3);
        err = PIRF_STOPPED;
      }
    }
  }
  if (log) fclose(log);
  if (!err) {
    pirf_progress_end(&prog, NULL);
    err = write_state(final, t, step, n_img, seed, deck_yaml);
    if (!err) pirf_log("[pretrain] wrote %s (step %ld, %.3f kimg)\n", final, step, n_img / 1e3);
  }
  free(deck_yaml);
  if (err == PIRF_STOPPED) return err; /* not a failure: no traceback */
  PIRF_TRY(err);
  return 0;
}

int pirf_stage_pretrain(pirf_config *cfg) {
  trainer t;
  memset(&t, 0, sizeof t);
  int err = train(cfg, &t);
  trainer_destroy(&t);
  return err;
}
