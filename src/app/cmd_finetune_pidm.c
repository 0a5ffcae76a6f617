/* `pirf finetune DECK finetune.method=pidm`: the PIDM baseline (docs/algorithm.md §7.4), fine-tuning
 * the pretrained EDM model on the training data set with EDM loss + residual loss (the loss:
 * pirf/pidm_loss.h), then sampled with the plain Heun sampler by `pirf sample` / `pirf evaluate`.
 *
 * Starts like PIRF fine-tuning (pirf_finetune_start: finetune.base, its finetune.base_group, or the
 * resumed state). One iteration takes finetune.batch data samples over the whole job (the order of
 * pretraining: pirf/training_data.h; split evenly over the data groups, rounds of
 * finetune.micro_batch), one Adam step (finetune.lr, finetune.lr_rampup_kimg) on
 * finetune.pidm_trainable, one EMA update (finetune.ema_*). sigma, noise and dropout are keyed by
 * the iteration and the global slot, so the result does not depend on the rank layout.
 *
 * Outputs in output.dir: pidm-state.h5 (checkpoint every finetune.checkpoint_iterations and at the
 * end; a run resumes from it), pidm.h5 (the same, once the run is complete: /net the fine-tuned
 * model, /ema its EMA), pidm.jsonl (iter, loss, loss_diff, loss_res, lr, nonfinite, steps,
 * sec_per_iter per log interval).
 *
 *   mpiexec -n 2 pirf finetune input/quickstart.yaml finetune.method=pidm finetune.iterations=100 */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/pidm_loss.h"
#include "pirf/stop.h"
#include "pirf/training_data.h"
#include "pirf/training_run.h"
#include "pirf/prof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pirf_training_run r;
  pirf_physics *ph;
  pirf_dataset ds;
  pirf_unet_work *work;
  pirf_unet_tape *tape, *tape2;
  pirf_pidm_buf pb;
  pirf_pidm_config pc;
  float *grad, *y;
  int have_ds, have_pb;
} pidm_run;

static void pidm_destroy(pidm_run *t) {
  if (t->have_pb) pirf_pidm_buf_destroy(&t->pb);
  pirf_unet_tape_destroy(&t->tape);
  pirf_unet_tape_destroy(&t->tape2);
  pirf_unet_work_destroy(&t->work);
  if (t->have_ds) pirf_dataset_close(&t->ds);
  pirf_physics_destroy(&t->ph);
  free(t->grad);
  free(t->y);
  pirf_training_destroy(&t->r);
}

/* The gradient of one iteration (this rank's partial sums, as pirf_pidm_loss) and its losses
 * (global). May return PIRF_STOPPED from inside, with nothing but t->grad changed. */
static int iteration(pidm_run *t, long share, long micro, long batch, int pf, int pe, double l[2]) {
  pirf_training_run *r = &t->r;
  const pirf_decomp *dc = &r->dc;
  memset(t->grad, 0, r->net.table.total * sizeof *t->grad);
  l[0] = l[1] = 0;
  for (long b0 = 0; b0 < share; b0 += micro) {
    const long nb = share - b0 < micro ? share - b0 : micro;
    const long slot0 = (long)dc->group * share + b0;
    PIRF_TRY(pirf_training_data_read(&t->ds, dc, r->seed, r->step, slot0, nb, t->y));
    /* even steps for the first network call, odd for the second (pirf/pidm_loss.h) */
    pirf_unet_dropout drop = {r->seed, 2u * (uint32_t)r->step, (uint32_t)slot0};
    double ld, lr;
    PIRF_TRY(pirf_pidm_loss(&t->pc, &r->net, t->work, t->tape, t->tape2, &t->pb, t->ph, r->params,
                            t->y, (int)nb, slot0, batch, r->seed, (uint32_t)r->step,
                            r->uc.dropout > 0 ? &drop : NULL, t->grad, pf, pe, &ld, &lr));
    l[0] += ld;
    l[1] += lr;
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, l, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  return 0;
}

typedef struct {
  double diff, res, t_last, lr;
  long n, bad;
} interval;

static int log_interval(pirf_training_run *r, interval *iv, char *extra, size_t len) {
  if (iv->n == 0) return 0;
  const double now = pirf_wtime(), sec = (now - iv->t_last) / iv->n;
  char f[320];
  snprintf(f, sizeof f, "\"loss\": %.8g, \"loss_diff\": %.8g, \"loss_res\": %.8g, \"lr\": %.6g, "
           "\"nonfinite\": %ld, \"steps\": %ld, \"sec_per_iter\": %.4g",
           (iv->diff + iv->res) / iv->n, iv->diff / iv->n, iv->res / iv->n, iv->lr, iv->bad, iv->n,
           sec);
  PIRF_TRY(pirf_training_jsonl(r, 1, f));
  if (extra)
    snprintf(extra, len, "EDM loss %.5g, residual loss %.5g, %.3g s/it", iv->diff / iv->n,
             iv->res / iv->n, sec);
  iv->t_last = now;
  iv->diff = iv->res = 0;
  iv->n = iv->bad = 0;
  return 0;
}

static int run(pirf_config *cfg, pidm_run *t) {
  pirf_training_run *r = &t->r;
  PIRF_TRY(pirf_training_init(r, cfg, "finetune", "iter", "pidm-state.h5", "pidm.jsonl"));
  t->pc.mode = (pirf_pidm_mode)pirf_pidm_mode_from_name(pirf_cfg_str(cfg, "finetune.pidm_mode"));
  t->pc.weighting = (pirf_pidm_weighting)pirf_pidm_weighting_from_name(
      pirf_cfg_str(cfg, "finetune.pidm_weighting"));
  t->pc.loss_scaling = pirf_cfg_real(cfg, "finetune.loss_scaling");
  t->pc.reward_loss_scaling = pirf_cfg_real(cfg, "finetune.pidm_reward_loss_scaling");
  t->pc.sigma_min = pirf_cfg_real(cfg, "finetune.sigma_min");
  PIRF_TRY(pirf_training_decomp(r, cfg));
  const pirf_decomp *dc = &r->dc;
  const long batch = pirf_cfg_int(cfg, "finetune.batch");
  PIRF_USER_CHECK(batch % dc->ndata == 0,
                  "finetune.batch = %ld is not a multiple of the %d data groups of this job; use a "
                  "multiple of %d", batch, dc->ndata, dc->ndata);
  const long share = batch / dc->ndata;
  long micro = pirf_cfg_int(cfg, "finetune.micro_batch");
  if (micro <= 0 || micro > share) micro = share;

  char data_path[4096];
  PIRF_TRY(pirf_training_data_open(cfg, dc, &t->ds, data_path, sizeof data_path));
  t->have_ds = 1;
  PIRF_TRY(pirf_physics_create(cfg, dc, &t->ph));
  const int C = t->ph->pde->channels;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, C, &r->uc));
  const double drop = pirf_cfg_real(cfg, "finetune.dropout");
  if (drop >= 0) r->uc.dropout = drop;
  PIRF_TRY(pirf_training_network(r, 0));
  int pf, pe;
  PIRF_TRY(pirf_ft_trainable_range(&r->net, pirf_cfg_str(cfg, "finetune.pidm_trainable"), &pf, &pe));
  PIRF_USER_CHECK(pf >= 0 && pe > pf, "the trainable set is empty (finetune.pidm_trainable = %s on this "
                  "network); choose another", pirf_cfg_str(cfg, "finetune.pidm_trainable"));
  const size_t P = r->net.table.total, first = r->net.table.p[pf].offset;
  const size_t count = r->net.table.p[pe - 1].offset + r->net.table.p[pe - 1].count - first;
  PIRF_ALLOC(t->grad, P, "the gradient");
  PIRF_ALLOC(t->y, (size_t)micro * C * dc->xm * dc->ym, "the training data tiles");
  PIRF_TRY(pirf_unet_work_create(&r->net, dc, (int)micro, 1, &t->work));
  PIRF_TRY(pirf_unet_tape_create(&r->net, dc, (int)micro, &t->tape));
  if (t->pc.mode == PIRF_PIDM_SAMPLE)
    PIRF_TRY(pirf_unet_tape_create(&r->net, dc, (int)micro, &t->tape2));
  PIRF_TRY(pirf_pidm_buf_create(&t->pb, dc, (int)micro, C));
  t->have_pb = 1;
  PIRF_TRY(pirf_training_optimizer(r, first, count));

  char base[4200], final[4200];
  if (!pirf_finetune_output(cfg, final, sizeof final)) return PIRF_ERR_USER;
  PIRF_TRY(pirf_finetune_start(cfg, r, 0, base, sizeof base));
  PIRF_TRY(pirf_training_open_log(r));

  const long total = pirf_cfg_int(cfg, "finetune.iterations");
  const long log_every = pirf_cfg_int(cfg, "finetune.log_iterations");
  const long ckpt_every = pirf_cfg_int(cfg, "finetune.checkpoint_iterations");
  pirf_log("[finetune] pidm, mode %s, weighting %s, reward_loss_scaling %g: %zu of %zu parameters "
           "trainable (%s); data %s (%ld samples)\n", pirf_cfg_str(cfg, "finetune.pidm_mode"),
           pirf_cfg_str(cfg, "finetune.pidm_weighting"), t->pc.reward_loss_scaling, count, P,
           pirf_cfg_str(cfg, "finetune.pidm_trainable"), data_path, t->ds.N);
  pirf_log("[finetune] %ld samples per iteration = %d data group%s x %ld (rounds of %ld); %d x %d "
           "tiles; base %s\n", batch, dc->ndata, dc->ndata == 1 ? "" : "s", share, micro, dc->px,
           dc->py, r->resumed ? "(from the state)" : base);

  const long start = r->step < total ? r->step : total;
  PIRF_TRY(pirf_training_loop_begin(r, "iterations", total, start));
  interval iv;
  memset(&iv, 0, sizeof iv);
  iv.t_last = pirf_wtime();
  char extra[160] = "";
  int err = 0;
  while (r->step < total && !err) {
    const double lr = pirf_lr_at(r->os.lr, r->os.lr_rampup_kimg, (double)r->n_img);
    double l[2];
    long bad = 0;
    pirf_prof_begin(PIRF_EV_TRAIN_STEP);
    err = iteration(t, share, micro, batch, pf, pe, l);
    pirf_training_fault(r, t->grad + first);
    /* the partial gradients already sum to the gradient of the loss: scale 1 */
    if (!err) err = pirf_adam_step(&r->opt, r->params, t->grad, 1.0, lr, &bad);
    if (err) break;
    const double beta = pirf_ema_beta((double)r->n_img, (double)batch, r->os.ema_halflife_kimg,
                                      r->os.ema_rampup_ratio);
    pirf_ema_update(r->ema + first, r->params + first, count, beta);
    pirf_prof_end(PIRF_EV_TRAIN_STEP, 0);
    r->n_img += batch;
    r->step++;
    iv.diff += l[0];
    iv.res += l[1];
    iv.lr = lr;
    iv.n++;
    iv.bad += bad;
    err = pirf_training_step_end(r, bad, l[0] + l[1]);
    if (!err && (r->step % log_every == 0 || r->step == total))
      err = log_interval(r, &iv, extra, sizeof extra);
    if (!err)
      err = pirf_training_after_step(r, r->step - start, *extra ? extra : NULL,
                                     r->step % ckpt_every == 0 || r->step == total, r->step < total);
  }
  if (err == PIRF_STOPPED) PIRF_TRY(log_interval(r, &iv, NULL, 0));
  return pirf_training_finish(r, err, final);
}

int pirf_finetune_pidm(pirf_config *cfg) {
  pidm_run t;
  memset(&t, 0, sizeof t);
  pirf_prof_stage_push(PIRF_STAGE_FINETUNE);
  int err = run(cfg, &t);
  pidm_destroy(&t);
  pirf_prof_stage_pop(PIRF_STAGE_FINETUNE);
  return err;
}
