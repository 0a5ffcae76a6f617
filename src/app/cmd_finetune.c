/* `pirf finetune DECK [key=value ...]`: PIRF fine-tuning of the pretrained EDM model with the
 * physics reward (docs/algorithm.md §2.3-2.9; the algorithm is src/diffusion/pirf.c).
 *
 * Starts from finetune.base (default output.dir/base.h5, its /ema); theta_ref of the weight
 * regularization is that loaded base (the paper's intent, not the reference code's random init).
 * One iteration takes finetune.batch fresh latents over the whole job (split evenly over the data
 * groups, run in rounds of finetune.micro_batch), one Adam step on the trainable range only (the
 * optimizer's moments exist for that range only), one EMA update. Data-free: no data set is read.
 *
 * Outputs in output.dir: pirf-state.h5 (checkpoint every finetune.checkpoint_iterations and at the
 * end; a run resumes from it, bit-identically at the same layout), pirf.h5 (the same, once the run
 * is complete: /net is the fine-tuned model, /ema its EMA, /ref the base), finetune.jsonl (one JSON
 * object per log interval: iter, loss, residual_mse, reg, lr, sec_per_iter, plus the evaluations
 * of finetune.eval_samples samples of the plain N-step sampler before and after training; every
 * line has its wall-clock time and the peak RSS). The shared machinery is training_run.c.
 *
 *   mpiexec -n 2 pirf finetune input/quickstart.yaml finetune.iterations=100 */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/deck.h"
#include "pirf/finetune.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/stop.h"
#include "pirf/training_run.h"
#include "pirf/prof.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const pirf_cfg_spec pirf_finetune_schema[] = {
    {"finetune.method", PIRF_CFG_ENUM, "draft-k", 0, 0, 0, 0, "draft-k|draft|reft|draft-lv|pidm",
     "which sampler steps carry gradients: the last k (draft-k), all (draft), a random number per "
     "iteration (reft), the last one plus re-noised terms (draft-lv); or the PIDM baseline (pidm: "
     "EDM loss + residual loss on the data set, output.dir/pidm.h5)"},
    {"finetune.k", PIRF_CFG_INT, "2", 1, 4096, 0, 0, NULL, "differentiable steps of draft-k"},
    {"finetune.steps", PIRF_CFG_INT, "20", 1, 4096, 0, 0, NULL, "sampler steps N"},
    {"finetune.random_schedule", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "draw N from {20, 40, 80} every iteration"},
    {"finetune.sigma_min", PIRF_CFG_REAL, "0.002", 1e-6, 1e3, 0, 0, NULL, "smallest noise level"},
    {"finetune.sigma_max", PIRF_CFG_REAL, "80", 1e-6, 1e4, 0, 0, NULL, "largest noise level"},
    {"finetune.rho", PIRF_CFG_REAL, "7", 0.1, 100, 0, 0, NULL, "Karras schedule exponent"},
    {"finetune.batch", PIRF_CFG_INT, "40", 1, 1e7, 0, 0, NULL,
     "samples per iteration over the whole job; a multiple of the data groups"},
    {"finetune.micro_batch", PIRF_CFG_INT, "0", 0, 64, 0, 0, NULL,
     "samples per data group per round (memory); 0 = the whole share"},
    {"finetune.iterations", PIRF_CFG_INT, "1000", 0, 1e9, 0, 0, NULL,
     "optimizer steps (reference: 4500 at batch 40 for Darcy)"},
    {"finetune.lr", PIRF_CFG_REAL, "1e-4", 0, 1, 0, 0, NULL, "nominal Adam learning rate"},
    {"finetune.lr_rampup_kimg", PIRF_CFG_REAL, "0", 0, 1e9, 0, 0, NULL,
     "linear warm-up over this many thousand images; 0 = off (the reference inherits 10000, which "
     "keeps its effective lr near 1e-6)"},
    {"finetune.ema_halflife_kimg", PIRF_CFG_REAL, "50", 0, 1e9, 0, 0, NULL,
     "EMA half-life in thousands of images"},
    {"finetune.ema_rampup_ratio", PIRF_CFG_REAL, "0.05", 0, 1e3, 0, 0, NULL,
     "EMA ramp-up (half-life at most this fraction of the images seen); 0 = none"},
    {"finetune.trainable", PIRF_CFG_ENUM, "decoder0", 0, 0, 0, 0, "decoder0|all|freeze_late",
     "trained parameters: the full-resolution decoder level (layer-wise truncation), all, or the "
     "decoder levels below full resolution"},
    {"finetune.truncate", PIRF_CFG_BOOL, "true", 0, 0, 0, 0, NULL,
     "with K = 1 record the tape from the trainable range on only (no input gradient)"},
    {"finetune.weight_reg", PIRF_CFG_REAL, "0", 0, 1e9, 0, 0, NULL,
     "lambda of lambda * sum_p ||theta_p - theta_p^base||_2 over trainable tensors (reference 0)"},
    {"finetune.dropout", PIRF_CFG_REAL, "-1", -1, 0.99, 0, 0, NULL,
     "dropout rate on the differentiable steps; -1 = model.dropout (the reference's train mode)"},
    {"finetune.lv_inner_steps", PIRF_CFG_INT, "2", 1, 32, 0, 0, NULL,
     "re-noise/denoise terms of draft-lv"},
    {"finetune.loss_scaling", PIRF_CFG_REAL, "1", 1e-30, 1e30, 0, 0, NULL,
     "multiplies the reward loss (reference --ls); for pidm the EDM loss term"},
    {"finetune.pidm_mode", PIRF_CFG_ENUM, "mean", 0, 0, 0, 0, "mean|sample",
     "pidm: the residual of the posterior mean D(x; sigma) (mean), or of D at sigma_min after one "
     "Euler step to finetune.sigma_min (sample: a second network evaluation)"},
    {"finetune.pidm_weighting", PIRF_CFG_ENUM, "sigma", 0, 0, 0, 0, "sigma|variance",
     "pidm: the residual weight 1/(2 sigma) (sigma: the reference code) or 1/(2 sigma^2) "
     "(variance: our reading of the original PIDM's 1/(2 Sigma_t))"},
    {"finetune.pidm_reward_loss_scaling", PIRF_CFG_REAL, "1e-4", 0, 1e30, 0, 0, NULL,
     "pidm: multiplies the residual loss (reference README --reward-loss-scaling 1e-4)"},
    {"finetune.pidm_trainable", PIRF_CFG_ENUM, "all", 0, 0, 0, 0, "all|decoder0|freeze_late",
     "pidm: trained parameters (the reference trains all)"},
    {"finetune.base", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL,
     "pretrained checkpoint; empty = output.dir/base.h5"},
    {"finetune.base_group", PIRF_CFG_ENUM, "ema", 0, 0, 0, 0, "ema|net",
     "which weights of the base checkpoint to start from"},
    {"finetune.checkpoint_iterations", PIRF_CFG_INT, "100", 1, 1e9, 0, 0, NULL,
     "iterations between checkpoints (pirf-state.h5)"},
    {"finetune.log_iterations", PIRF_CFG_INT, "10", 1, 1e9, 0, 0, NULL,
     "iterations between log lines (finetune.jsonl)"},
    {"finetune.eval_samples", PIRF_CFG_INT, "0", 0, 1e6, 0, 0, NULL,
     "samples of the plain sampler whose residual is logged before and after training, made in "
     "rounds of training's round size (no more memory than training); 0 = none"},
    {"finetune.seed", PIRF_CFG_INT, "0", 0, 2147483647, 0, 0, NULL,
     "seed of latents, schedule draws, DRaFT-LV noise and dropout"},
    {"finetune.resume", PIRF_CFG_BOOL, "true", 0, 0, 0, 0, NULL,
     "continue from output.dir/pirf-state.h5 when it exists"},
    {"finetune.max_nonfinite", PIRF_CFG_INT, "20", 0, 1e9, 0, 0, NULL,
     "stop with an error (status 2) after this many consecutive iterations with a non-finite loss "
     "or gradient; 0 = never"},
    {"finetune.bench", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "run one iteration, print the memory per rank (tapes, work, the evaluation's work, maxrss) "
     "and exit"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const char *pirf_finetune_output(const pirf_config *cfg, char *buf, size_t len) {
  const int pidm = !strcmp(pirf_cfg_str(cfg, "finetune.method"), "pidm");
  return pirf_path_printf(buf, len, "output.dir", pidm ? "%s/pidm.h5" : "%s/pirf.h5",
                          pirf_cfg_str(cfg, "output.dir"));
}

/* What fine-tuning holds besides the shared training run: the physics and the PIRF loops. */
typedef struct {
  pirf_training_run r;
  pirf_physics *ph;
  pirf_ft ft, ev;
  double level[2]; /* the evaluation's level-offset sum and pixel count */
} tuner;

static void tuner_destroy(tuner *t) {
  pirf_ft_destroy(&t->ft);
  pirf_ft_destroy(&t->ev);
  pirf_physics_destroy(&t->ph);
  pirf_training_destroy(&t->r);
}

/* The evaluation's rounds (pirf_ft.on_samples): for a two-valued coefficient (Darcy's a), the sum
 * over this rank's pixels of the distance to the nearest allowed value as a fraction of their gap,
 * and the pixel count. */
static int sum_level_offset(void *ctx, const float *x, int nb) {
  tuner *t = ctx;
  const pirf_pde *pde = t->ph->pde;
  const int c = pde->levels_channel, C = pde->channels;
  const size_t tile = (size_t)t->r.dc.xm * t->r.dc.ym;
  const double lo = pde->levels[0], hi = pde->levels[1], gap = fabs(hi - lo);
  for (int b = 0; b < nb; b++)
    for (size_t k = 0; k < tile; k++) {
      double a = (x[((size_t)b * C + c) * tile + k] - t->ph->norm_shift[c]) / t->ph->norm_scale[c];
      t->level[0] += fmin(fabs(a - lo), fabs(a - hi)) / gap;
      t->level[1] += 1;
    }
  return 0;
}

/* The plain N-step sampler's residual on fixed latents (iteration index far from training's) and,
 * for a two-valued coefficient, the mean distance to the nearest allowed value as a fraction of
 * their gap (-1 otherwise). The samples are made in rounds of the training's round size, so the
 * evaluation never needs more memory than training does. */
static int evaluate(tuner *t, const float *w, double *mse, double *level) {
  const pirf_pde *pde = t->ph->pde;
  const int two_valued = pde->levels_channel >= 0 && pde->levels[0] != pde->levels[1];
  t->level[0] = t->level[1] = 0;
  t->ev.on_samples = two_valued ? sum_level_offset : NULL;
  t->ev.on_samples_ctx = t;
  pirf_ft_stats st;
  PIRF_TRY(pirf_ft_loss(&t->ev, w, NULL, NULL, 0x7fffffffL, &st));
  *mse = st.residual_mse;
  *level = -1;
  if (!two_valued) return 0;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, t->level, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  *level = t->level[0] / t->level[1];
  return 0;
}

static int log_eval(tuner *t, const char *which, double mse, double level) {
  char f[200];
  snprintf(f, sizeof f, "\"eval\": \"%s\", \"iter\": %ld, \"residual_mse\": %.8g, "
           "\"level_offset\": %.6g", which, t->r.step, mse, level);
  return pirf_training_jsonl(&t->r, 0, f);
}

static void print_memory(tuner *t, const char *what) {
  size_t tapes = 0;
  for (int s = 0; s < t->ft.ntapes; s++) tapes += pirf_unet_tape_bytes(t->ft.tapes[s]);
  double v[4] = {(double)tapes, (double)pirf_unet_work_bytes(t->ft.work),
                 t->ev.work ? (double)pirf_unet_work_bytes(t->ev.work) : 0, pirf_rss_peak_mib()};
  MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  pirf_log("[finetune] memory per rank (max over ranks) %s: %d tape%s %.3f MiB, work %.3f MiB, "
           "evaluation work %.3f MiB, maxrss %.1f MiB\n", what, t->ft.ntapes,
           t->ft.ntapes == 1 ? "" : "s", v[0] / 1048576.0, v[1] / 1048576.0, v[2] / 1048576.0,
           v[3]);
}

/* The sums since the last log line, and the line itself (also written for the part of an interval
 * a stop cuts short, so that no line averages over iterations it did not see). */
typedef struct {
  double loss, residual, reg, t_last, lr;
  long n, bad;
  int N, K;
} interval;

static int log_interval(pirf_training_run *r, interval *iv, char *extra, size_t len) {
  if (iv->n == 0) return 0;
  const double now = pirf_wtime(), sec = (now - iv->t_last) / iv->n;
  char f[320];
  snprintf(f, sizeof f, "\"loss\": %.8g, \"residual_mse\": %.8g, \"reg\": %.6g, \"lr\": %.6g, "
           "\"N\": %d, \"K\": %d, \"nonfinite\": %ld, \"steps\": %ld, \"sec_per_iter\": %.4g",
           iv->loss / iv->n, iv->residual / iv->n, iv->reg / iv->n, iv->lr, iv->N, iv->K, iv->bad,
           iv->n, sec);
  PIRF_TRY(pirf_training_jsonl(r, 1, f));
  if (extra)
    snprintf(extra, len, "reward %.5g, residual MSE %.5g, %.3g s/it", -iv->loss / iv->n,
             iv->residual / iv->n, sec);
  iv->t_last = now;
  iv->loss = iv->residual = iv->reg = 0;
  iv->n = iv->bad = 0;
  return 0;
}

int pirf_ft_config_from_deck(const pirf_config *cfg, uint32_t seed, pirf_ft_config *fc) {
  *fc = pirf_ft_defaults();
  const char *method = pirf_cfg_str(cfg, "finetune.method");
  for (int m = PIRF_FT_DRAFT_K; m <= PIRF_FT_DRAFT_LV; m++)
    if (!strcmp(method, pirf_ft_method_name((pirf_ft_method)m))) fc->method = (pirf_ft_method)m;
  fc->k = (int)pirf_cfg_int(cfg, "finetune.k");
  fc->steps = (int)pirf_cfg_int(cfg, "finetune.steps");
  fc->random_schedule = pirf_cfg_bool(cfg, "finetune.random_schedule");
  fc->lv_inner = (int)pirf_cfg_int(cfg, "finetune.lv_inner_steps");
  fc->sigma_min = pirf_cfg_real(cfg, "finetune.sigma_min");
  fc->sigma_max = pirf_cfg_real(cfg, "finetune.sigma_max");
  fc->rho = pirf_cfg_real(cfg, "finetune.rho");
  fc->loss_scaling = pirf_cfg_real(cfg, "finetune.loss_scaling");
  fc->lambda = pirf_cfg_real(cfg, "finetune.weight_reg");
  fc->truncate = pirf_cfg_bool(cfg, "finetune.truncate");
  fc->seed = seed;
  fc->batch = pirf_cfg_int(cfg, "finetune.batch");
  fc->micro = pirf_cfg_int(cfg, "finetune.micro_batch");
  PIRF_USER_CHECK(fc->sigma_min < fc->sigma_max,
                  "finetune.sigma_min (%g) must be smaller than finetune.sigma_max (%g)",
                  fc->sigma_min, fc->sigma_max);
  return 0;
}

/* The start of every fine-tuning method: the output directory, then either the resumed state or
 * the base checkpoint (finetune.base, default output.dir/base.h5; its finetune.base_group) in the
 * weights, their EMA and (when allocated) the reference weights. */
int pirf_finetune_start(const pirf_config *cfg, pirf_training_run *r, int bench, char *base,
                        size_t len) {
  const char *dir = pirf_cfg_str(cfg, "output.dir");
  const char *bp = pirf_cfg_str(cfg, "finetune.base");
  if (*bp)
    snprintf(base, len, "%s", bp);
  else
    snprintf(base, len, "%s/base.h5", dir);
  if (!bench) PIRF_TRY(pirf_mkdir_p(MPI_COMM_WORLD, dir));
  PIRF_TRY(pirf_training_resume(r, !bench && pirf_cfg_bool(cfg, "finetune.resume")));
  if (r->resumed) {
    pirf_log("[finetune] resuming from %s at iteration %ld\n", r->state, r->step);
    return 0;
  }
  const size_t P = r->net.table.total;
  int have = access(base, R_OK) == 0;
  PIRF_MPI(MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD));
  PIRF_USER_CHECK(have || bench,
                  "the base checkpoint '%s' does not exist; run `pirf pretrain` first or set "
                  "finetune.base to a pretrained checkpoint", base);
  if (have) {
    PIRF_TRY(pirf_checkpoint_read_weights(base, MPI_COMM_WORLD, &r->net.table,
                                          pirf_cfg_str(cfg, "finetune.base_group"), r->params));
  } else {
    pirf_unet_init_params(&r->net, r->seed, r->params); /* bench: memory does not need weights */
  }
  memcpy(r->ema, r->params, P * sizeof *r->ema);
  if (r->ref) memcpy(r->ref, r->params, P * sizeof *r->ref);
  return 0;
}

static int run(pirf_config *cfg, tuner *t) {
  pirf_training_run *r = &t->r;
  PIRF_TRY(pirf_training_init(r, cfg, "finetune", "iter", "pirf-state.h5", "finetune.jsonl"));
  pirf_ft_config fc;
  PIRF_TRY(pirf_ft_config_from_deck(cfg, r->seed, &fc));

  PIRF_TRY(pirf_training_decomp(r, cfg));
  const pirf_decomp *dc = &r->dc;
  PIRF_TRY(pirf_physics_create(cfg, dc, &t->ph));
  const int C = t->ph->pde->channels;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, C, &r->uc));
  const double drop = pirf_cfg_real(cfg, "finetune.dropout");
  if (drop >= 0) r->uc.dropout = drop;
  fc.dropout = r->uc.dropout > 0;
  PIRF_TRY(pirf_training_network(r, 1));
  int pf, pe;
  PIRF_TRY(pirf_ft_trainable_range(&r->net, pirf_cfg_str(cfg, "finetune.trainable"), &pf, &pe));
  PIRF_TRY(pirf_ft_create(&t->ft, &r->net, dc, t->ph, &fc, pf, pe));
  const long neval = pirf_cfg_int(cfg, "finetune.eval_samples");
  if (neval > 0) {
    pirf_ft_config ec = fc;
    ec.eval_only = 1;
    ec.lambda = 0; /* the residual alone */
    ec.batch = neval;
    ec.micro = t->ft.micro; /* rounds no larger than training's, which fit */
    ec.random_schedule = 0;
    PIRF_TRY(pirf_ft_create(&t->ev, &r->net, dc, t->ph, &ec, pf, pe));
  }
  const size_t P = r->net.table.total;
  PIRF_TRY(pirf_training_optimizer(r, t->ft.first, t->ft.count));

  char base[4200], final[4200];
  if (!pirf_finetune_output(cfg, final, sizeof final)) return PIRF_ERR_USER;
  const int bench = pirf_cfg_bool(cfg, "finetune.bench");
  PIRF_TRY(pirf_finetune_start(cfg, r, bench, base, sizeof base));

  const long total = pirf_cfg_int(cfg, "finetune.iterations");
  const long log_every = pirf_cfg_int(cfg, "finetune.log_iterations");
  const long ckpt_every = pirf_cfg_int(cfg, "finetune.checkpoint_iterations");
  pirf_log("[finetune] %s, N = %d%s, %s: %zu of %zu parameters trainable (table %d..%d), %d tape%s%s\n",
           pirf_ft_method_name(fc.method), fc.steps, fc.random_schedule ? " (random)" : "",
           pirf_cfg_str(cfg, "finetune.trainable"), t->ft.count, P, pf, pe, t->ft.ntapes,
           t->ft.ntapes == 1 ? "" : "s", t->ft.truncated ? " (truncated)" : "");
  pirf_log("[finetune] %ld samples per iteration = %d data group%s x %ld (rounds of %ld); %d x %d "
           "tiles; base %s\n", fc.batch, dc->ndata, dc->ndata == 1 ? "" : "s", t->ft.share,
           t->ft.micro, dc->px, dc->py, r->resumed ? "(from the state)" : base);

  if (bench) {
    pirf_ft_stats st;
    print_memory(t, "after setup");
    PIRF_TRY(pirf_ft_gradient(&t->ft, r->params, r->ref, 0, &st));
    print_memory(t, "after one iteration");
    return 0;
  }

  PIRF_TRY(pirf_training_open_log(r));
  /* the progress line (and the stop poll) cover the evaluation of the base too */
  PIRF_TRY(pirf_training_loop_begin(r, "iterations", total, r->step < total ? r->step : total));
  int err = 0;
  if (neval > 0 && r->step == 0) { /* a run stopped at iteration 0 redoes it on resume */
    double mse, level;
    err = evaluate(t, r->params, &mse, &level);
    if (!err) {
      pirf_log("[finetune] base: residual MSE %.6g over %ld samples (N = %d)%s", mse, neval,
               fc.steps, level >= 0 ? "" : "\n");
      if (level >= 0) pirf_log(", coefficient off its two values by %.4f of their gap\n", level);
      err = log_eval(t, "base", mse, level);
    }
  }
  const long start = r->step < total ? r->step : total;
  interval iv;
  memset(&iv, 0, sizeof iv);
  iv.t_last = pirf_wtime();
  char extra[160] = "";
  while (r->step < total && !err) {
    const double lr = pirf_lr_at(r->os.lr, r->os.lr_rampup_kimg, (double)r->n_img);
    pirf_ft_stats st;
    pirf_prof_begin(PIRF_EV_TRAIN_STEP);
    err = pirf_ft_gradient(&t->ft, r->params, r->ref, r->step, &st);
    pirf_training_fault(r, t->ft.grad + t->ft.first);
    long bad = 0;
    /* the partial gradients already sum to the gradient of the global mean: scale 1 */
    if (!err) err = pirf_adam_step(&r->opt, r->params, t->ft.grad, 1.0, lr, &bad);
    if (err) break;
    const double beta = pirf_ema_beta((double)r->n_img, (double)fc.batch, r->os.ema_halflife_kimg,
                                      r->os.ema_rampup_ratio);
    /* frozen tensors equal the base in both arenas: only the range moves */
    pirf_ema_update(r->ema + t->ft.first, r->params + t->ft.first, t->ft.count, beta);
    pirf_prof_end(PIRF_EV_TRAIN_STEP, 0);
    r->n_img += fc.batch;
    r->step++;
    iv.loss += st.loss;
    iv.residual += st.residual_mse;
    iv.reg += st.reg;
    iv.lr = lr;
    iv.N = st.N;
    iv.K = st.K;
    iv.n++;
    iv.bad += bad;
    err = pirf_training_step_end(r, bad, st.loss);
    if (!err && (r->step % log_every == 0 || r->step == total))
      err = log_interval(r, &iv, extra, sizeof extra);
    if (!err)
      err = pirf_training_after_step(r, r->step - start, *extra ? extra : NULL,
                                     r->step % ckpt_every == 0 || r->step == total, r->step < total);
  }
  if (!err && neval > 0) {
    /* the state of the last iteration is written: a stop here resumes into this evaluation */
    double mse[2], level[2];
    err = evaluate(t, r->params, &mse[0], &level[0]);
    if (!err) err = evaluate(t, r->ema, &mse[1], &level[1]);
    for (int w = 0; w < 2 && !err; w++) {
      pirf_log("[finetune] fine-tuned %s: residual MSE %.6g over %ld samples (N = %d)%s",
               w ? "EMA" : "net", mse[w], neval, fc.steps, level[w] >= 0 ? "" : "\n");
      if (level[w] >= 0)
        pirf_log(", coefficient off its two values by %.4f of their gap\n", level[w]);
      err = log_eval(t, w ? "ema" : "net", mse[w], level[w]);
    }
  }
  if (err == PIRF_STOPPED) /* the iterations since the last line, on their own */
    PIRF_TRY(log_interval(r, &iv, NULL, 0));
  return pirf_training_finish(r, err, final);
}

int pirf_stage_finetune(pirf_config *cfg) {
  if (!strcmp(pirf_cfg_str(cfg, "finetune.method"), "pidm")) return pirf_finetune_pidm(cfg);
  tuner t;
  memset(&t, 0, sizeof t);
  pirf_prof_stage_push(PIRF_STAGE_FINETUNE);
  int err = run(cfg, &t);
  tuner_destroy(&t);
  pirf_prof_stage_pop(PIRF_STAGE_FINETUNE);
  return err;
}
