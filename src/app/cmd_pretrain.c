/* `pirf pretrain DECK [key=value ...]`: train the EDM base model on the deck's data set
 * (docs/algorithm.md §3): EDM loss, sharded Adam with the LR ramp, EMA, checkpoints and resume. The
 * optimizer settings are pretrain.lr, pretrain.lr_rampup_kimg, pretrain.ema_* (fine-tuning has
 * its own finetune.*).
 *
 * One step takes pretrain.batch images (the global batch, split evenly over the data groups; each
 * group runs its share in rounds of pretrain.micro_batch, accumulating the gradient as EDM's
 * --batch-gpu does), then one Adam step on every tensor and one EMA update. Which data sample fills
 * global slot s of step t is floor(N * Philox(seed, SCHEDULE, t, s)), and sigma, the noise and
 * dropout are keyed by (t, s) too (the data order: pirf/training_data.h), so a run gives the same result at any rank layout (up to the
 * order of float sums) and a resumed run continues exactly where it stopped.
 *
 * Outputs in output.dir: pretrain-state.h5 (the checkpoint, written every
 * pretrain.checkpoint_kimg and at the end; a run resumes from it), base.h5 (the same, written once
 * training is complete: the input of fine-tuning), pretrain.jsonl (one JSON object per log
 * interval: step, kimg, loss, lr, EMA beta, non-finite gradient values, steps averaged, seconds per
 * step, wall-clock time, peak RSS). With pretrain.augment, every sample goes through EDM's
 * augmentation first (pirf/augment.h) and the network gets its labels. The shared machinery is the
 * training run (training_run.c).
 *
 *   mpiexec -n 4 pirf pretrain input/quickstart.yaml pretrain.kimg=100 */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/edm_loss.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/stop.h"
#include "pirf/training_data.h"
#include "pirf/training_run.h"
#include "pirf/physics.h"
#include "pirf/prof.h"

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
    {"pretrain.max_nonfinite", PIRF_CFG_INT, "20", 0, 1e9, 0, 0, NULL,
     "stop with an error (status 2) after this many consecutive steps with a non-finite loss or "
     "gradient; 0 = never"},
    /* Pretraining's own optimizer settings: a deck that also fine-tunes (pirf run) has finetune.*
     * with other values (docs/algorithm.md §2.8 against §3). */
    {"pretrain.lr", PIRF_CFG_REAL, "1e-3", 0, 1, 0, 0, NULL,
     "pretraining's nominal Adam learning rate (EDM --lr; DiffusionPDE's models: 1e-3)"},
    {"pretrain.lr_rampup_kimg", PIRF_CFG_REAL, "10000", 0, 1e9, 0, 0, NULL,
     "pretraining's linear learning-rate warm-up in thousands of images (EDM: 10000); 0 = none"},
    {"pretrain.ema_halflife_kimg", PIRF_CFG_REAL, "50", 0, 1e9, 0, 0, NULL,
     "half-life of pretraining's weight EMA in thousands of images (DiffusionPDE --ema 0.05 Mimg)"},
    {"pretrain.ema_rampup_ratio", PIRF_CFG_REAL, "0.05", 0, 1e3, 0, 0, NULL,
     "pretraining's EMA ramp-up: half-life at most this fraction of the images seen; 0 = none"},
    {"pretrain.pg_cond_dropout", PIRF_CFG_REAL, "0.5", 0, 1, 0, 0, NULL,
     "with model.physics_gradient: probability of a step without the residual gradient dx "
     "(PG-Diffusion's cond_dropout); otherwise the network gets the residual norm's gradient at x_t"},
    {"pretrain.augment", PIRF_CFG_REAL, "0", 0, 1, 0, 0, NULL,
     "EDM's augmentation probability (--augment; DiffusionPDE's models: 0.12); needs "
     "model.augment_dim: 9; 0 = off"},
    {"pretrain.augment_ops", PIRF_CFG_REAL_LIST, "[1e8, 1, 1, 1, 1, 1]", 0, 1e9, 6, 6, NULL,
     "probability multipliers of xflip, yflip, scale, rotate_frac, aniso, translate_frac (EDM "
     "train.py's); 0 turns one off"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const char *pirf_pretrain_output(const pirf_config *cfg, char *buf, size_t len) {
  return pirf_path_printf(buf, len, "output.dir", "%s/base.h5", pirf_cfg_str(cfg, "output.dir"));
}

/* What pretraining holds besides the shared training run: the data set and the loss buffers. */
typedef struct {
  pirf_training_run r;
  pirf_unet_work *work;
  pirf_unet_tape *tape;
  pirf_edm_loss_buf lb;
  pirf_dataset ds;
  pirf_physics *ph; /* PG-Diffusion's residual (model.physics_gradient), else NULL */
  float *grad, *y;
  int have_ds;
} trainer;

static void trainer_destroy(trainer *t) {
  pirf_edm_loss_buf_destroy(&t->lb);
  pirf_unet_tape_destroy(&t->tape);
  pirf_unet_work_destroy(&t->work);
  if (t->have_ds) pirf_dataset_close(&t->ds);
  pirf_physics_destroy(&t->ph);
  free(t->grad);
  free(t->y);
  pirf_training_destroy(&t->r);
}

/* The loss accumulated since the last log line, and the line itself (also written for the part of
 * an interval a stop cuts short, so that no line averages over steps it did not see). */
typedef struct {
  double loss, t_last;
  long steps, bad;
} interval;

static int log_interval(pirf_training_run *r, interval *iv, double lr, double beta) {
  if (iv->steps == 0) return 0;
  const double now = pirf_wtime();
  char f[320];
  snprintf(f, sizeof f, "\"kimg\": %.4f, \"loss\": %.8g, \"lr\": %.6g, \"ema_beta\": %.8g, "
           "\"nonfinite\": %ld, \"steps\": %ld, \"sec_per_step\": %.4g", r->n_img / 1e3,
           iv->loss / iv->steps, lr, beta, iv->bad, iv->steps, (now - iv->t_last) / iv->steps);
  PIRF_TRY(pirf_training_jsonl(r, 1, f));
  iv->t_last = now;
  iv->loss = 0;
  iv->steps = iv->bad = 0;
  return 0;
}

/* One optimizer step's gradient: every data group's share in rounds of `micro`. May return
 * PIRF_STOPPED from inside (nothing but t->grad changed). */
static int step_gradient(trainer *t, long share, long micro, long batch, double *loss) {
  pirf_training_run *r = &t->r;
  const pirf_decomp *dc = &r->dc;
  const size_t P = r->net.table.total;
  memset(t->grad, 0, P * sizeof *t->grad);
  *loss = 0;
  for (long b0 = 0; b0 < share; b0 += micro) {
    const long nb = share - b0 < micro ? share - b0 : micro;
    const long slot0 = (long)dc->group * share + b0;
    /* Every rank reads as many blocks as every other (the groups' shares are equal), so the
     * collective reads and the stop polls line up. */
    PIRF_TRY(pirf_training_data_read(&t->ds, dc, r->seed, r->step, slot0, nb, t->y));
    pirf_unet_dropout drop = {r->seed, (uint32_t)r->step, (uint32_t)slot0};
    double l = 0;
    PIRF_TRY(pirf_edm_loss(&r->net, t->work, t->tape, &t->lb, dc, r->params, t->y, (int)nb, slot0,
                           batch, r->seed, (uint32_t)r->step, r->uc.dropout > 0 ? &drop : NULL,
                           t->grad, 0, r->net.table.n, &l));
    *loss += l;
  }
  return 0;
}

static int train(pirf_config *cfg, trainer *t) {
  pirf_training_run *r = &t->r;
  const long batch = pirf_cfg_int(cfg, "pretrain.batch");
  PIRF_TRY(pirf_training_init(r, cfg, "pretrain", "step", "pretrain-state.h5", "pretrain.jsonl"));
  PIRF_TRY(pirf_training_decomp(r, cfg));
  const pirf_decomp *dc = &r->dc;
  PIRF_USER_CHECK(batch % dc->ndata == 0,
                  "pretrain.batch = %ld is not a multiple of the %d data groups of this job; use a "
                  "multiple of %d", batch, dc->ndata, dc->ndata);
  const long share = batch / dc->ndata;
  long micro = pirf_cfg_int(cfg, "pretrain.micro_batch");
  if (micro <= 0 || micro > share) micro = share;
  const long rounds = (share + micro - 1) / micro;

  char data_path[4096];
  PIRF_TRY(pirf_training_data_open(cfg, dc, &t->ds, data_path, sizeof data_path));
  t->have_ds = 1;
  const int C = t->ds.C;
  const long N = t->ds.N;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, C, &r->uc));
  PIRF_TRY(pirf_training_network(r, 0));
  const size_t P = r->net.table.total;
  PIRF_ALLOC(t->grad, P, "the gradient");
  PIRF_ALLOC(t->y, (size_t)micro * C * dc->xm * dc->ym, "the training data tiles");
  PIRF_TRY(pirf_unet_work_create(&r->net, dc, (int)micro, 1, &t->work));
  PIRF_TRY(pirf_unet_tape_create(&r->net, dc, (int)micro, &t->tape));
  PIRF_TRY(pirf_edm_loss_buf_create(&t->lb, dc, (int)micro, C));
  if (r->uc.physics_gradient) {
    const double p_drop = pirf_cfg_real(cfg, "pretrain.pg_cond_dropout");
    PIRF_TRY(pirf_physics_create(cfg, dc, &t->ph));
    PIRF_TRY(pirf_edm_loss_buf_pg(&t->lb, t->ph, p_drop));
    pirf_log("[pretrain] PG-Diffusion: the network gets d||R(x_t)||/dx_t on a step with "
             "probability %g (pretrain.pg_cond_dropout = %g)\n", 1.0 - p_drop, p_drop);
  }
  const double augment = pirf_cfg_real(cfg, "pretrain.augment");
  if (augment > 0) {
    PIRF_USER_CHECK(r->uc.augment_dim == PIRF_AUGMENT_DIM,
                    "pretrain.augment = %g needs the network's augmentation labels: set "
                    "model.augment_dim: %d (it is %d), or pretrain.augment: 0", augment,
                    PIRF_AUGMENT_DIM, r->uc.augment_dim);
    double ops[6];
    pirf_cfg_real_list(cfg, "pretrain.augment_ops", ops, 6);
    const pirf_augment_opts o = {augment, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5]};
    PIRF_TRY(pirf_edm_loss_buf_augment(&t->lb, dc, &o));
    pirf_log("[pretrain] augmentation: EDM's pipeline at p = %g (xflip %g, yflip %g, scale %g, "
             "rotate_frac %g, aniso %g, translate_frac %g)\n", augment, ops[0], ops[1], ops[2],
             ops[3], ops[4], ops[5]);
  }
  PIRF_TRY(pirf_training_optimizer(r, 0, P));

  char final[4200];
  if (!pirf_pretrain_output(cfg, final, sizeof final)) return PIRF_ERR_USER;
  PIRF_TRY(pirf_mkdir_p(MPI_COMM_WORLD, pirf_cfg_str(cfg, "output.dir")));
  PIRF_TRY(pirf_training_resume(r, pirf_cfg_bool(cfg, "pretrain.resume")));
  if (r->resumed) {
    pirf_log("[pretrain] resuming from %s at step %ld (%.3f kimg)\n", r->state, r->step,
             r->n_img / 1e3);
  } else {
    pirf_unet_init_params(&r->net, r->seed, r->params);
    memcpy(r->ema, r->params, P * sizeof *r->ema);
  }
  PIRF_TRY(pirf_training_open_log(r));

  const double kimg = pirf_cfg_real(cfg, "pretrain.kimg");
  const long total_img = (long)ceil(kimg * 1000.0);
  const long log_img = (long)fmax(1.0, pirf_cfg_real(cfg, "pretrain.log_kimg") * 1000.0);
  const long ckpt_img = (long)fmax(1.0, pirf_cfg_real(cfg, "pretrain.checkpoint_kimg") * 1000.0);
  pirf_log("[pretrain] %s: %ld samples of %dx%d, %d channel%s; %zu parameters\n", data_path, N,
           dc->H, dc->W, C, C == 1 ? "" : "s", P);
  pirf_log("[pretrain] %ld images per step = %d data group%s x %ld (%ld round%s of %ld); %d x %d "
           "tiles; %.3f kimg\n", batch, dc->ndata, dc->ndata == 1 ? "" : "s", share, rounds,
           rounds == 1 ? "" : "s", micro, dc->px, dc->py, kimg);
  /* The progress line counts this run's images, so that a resumed run's rate and ETA are right;
   * its extra text gives the total in kimg. */
  const long start_img = r->n_img < total_img ? r->n_img : total_img;
  PIRF_TRY(pirf_training_loop_begin(r, "images", total_img, start_img));
  interval iv = {0, pirf_wtime(), 0, 0};
  double lr = 0, beta = 0, t_run = pirf_wtime();
  int err = 0;
  while (r->n_img < total_img && !err) {
    lr = pirf_lr_at(r->os.lr, r->os.lr_rampup_kimg, (double)r->n_img);
    double loss = 0;
    long bad = 0;
    pirf_prof_begin(PIRF_EV_TRAIN_STEP);
    err = step_gradient(t, share, micro, batch, &loss);
    pirf_training_fault(r, t->grad);
    /* The loss is already divided by the global batch: the world sum of the partial gradients
     * is the gradient, so scale 1. */
    if (!err) err = pirf_adam_step(&r->opt, r->params, t->grad, 1.0, lr, &bad);
    if (err) break;
    beta = pirf_ema_beta((double)r->n_img, (double)batch, r->os.ema_halflife_kimg,
                         r->os.ema_rampup_ratio);
    pirf_ema_update(r->ema, r->params, P, beta);
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    pirf_prof_end(PIRF_EV_TRAIN_STEP, 0);
    const long before = r->n_img;
    r->n_img += batch;
    r->step++;
    /* EDM's reported loss: the weighted squared error per pixel and channel */
    loss /= (double)C * dc->H * dc->W;
    iv.loss += loss;
    iv.steps++;
    iv.bad += bad;
    err = pirf_training_step_end(r, bad, loss);
    if (!err && (r->n_img / log_img != before / log_img || r->n_img >= total_img))
      err = log_interval(r, &iv, lr, beta);
    if (err) break;
    const long done = (r->n_img < total_img ? r->n_img : total_img) - start_img;
    const double el = pirf_wtime() - t_run;
    char extra[160];
    snprintf(extra, sizeof extra, "kimg %.3f, loss %.5g, lr %.3g, %.3g s/kimg", r->n_img / 1e3,
             loss, lr, done > 0 ? el / (done / 1e3) : 0.0);
    err = pirf_training_after_step(r, done, extra,
                                   r->n_img / ckpt_img != before / ckpt_img || r->n_img >= total_img,
                                   r->n_img < total_img);
  }
  if (err == PIRF_STOPPED) /* the steps since the last line, as their own line */
    PIRF_TRY(log_interval(r, &iv, lr, beta));
  return pirf_training_finish(r, err, final);
}

int pirf_stage_pretrain(pirf_config *cfg) {
  trainer t;
  memset(&t, 0, sizeof t);
  pirf_prof_stage_push(PIRF_STAGE_PRETRAIN);
  int err = train(cfg, &t);
  trainer_destroy(&t);
  pirf_prof_stage_pop(PIRF_STAGE_PRETRAIN);
  return err;
}
