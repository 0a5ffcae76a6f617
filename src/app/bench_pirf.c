/* The PIRF-iteration row of `pirf bench` (see pirf/bench.h): one fine-tuning iteration as
 * `pirf finetune` runs it (the deck's method, N, K, batch and trainable range; the reward's
 * gradient through the last K sampler steps, the sharded Adam step over the trainable range, the
 * EMA), timed as a row, then split into its phases by the profiling events (pirf/prof.h):
 *   no-grad prefix   SamplerStep       the N - K steps without a tape
 *   taped forward    SamplerStepTape   the last K steps, recorded
 *   backward         SamplerStepBwd    their adjoint (the network's backward)
 *   reward           Residual + ResidualAdjoint
 *   optimizer        AdamRedScatter + AdamUpdate + AdamAllgather
 *   EMA              EMAUpdate
 * The row's flops are those the events count (PetscLogFlops) in one iteration, summed over ranks.
 * The weights are the network's initialization: the work does not depend on their values. */
#include "pirf/app.h"
#include "pirf/bench.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/finetune.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/physics.h"
#include "pirf/prof.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  pirf_ft ft;
  pirf_adam opt;
  float *params, *ema, *ref;
  long iter;
  int have_ft, have_opt;
} pirf_case;

/* what one iteration of `pirf finetune` does (cmd_finetune.c), without its logging and I/O */
static int run_iteration(void *p) {
  pirf_case *c = p;
  pirf_ft_stats st;
  PIRF_TRY(pirf_ft_gradient(&c->ft, c->params, c->ref, c->iter++, &st));
  /* a tiny learning rate: the weights stay where the timing started */
  PIRF_TRY(pirf_adam_step(&c->opt, c->params, c->ft.grad, 1.0, 1e-12, NULL));
  pirf_ema_update(c->ema + c->ft.first, c->params + c->ft.first, c->ft.count, 0.999);
  return 0;
}

enum { PHASE_PREFIX, PHASE_TAPED, PHASE_BACKWARD, PHASE_REWARD, PHASE_OPTIMIZER, PHASE_EMA,
       NPHASES };
static const char *const phase_names[NPHASES] = {"no-grad prefix", "taped forward", "backward",
                                                 "reward", "optimizer", "EMA"};
static const pirf_event phase_events[NPHASES][3] = {
    {PIRF_EV_SAMPLER_STEP, PIRF_EV_COUNT, PIRF_EV_COUNT},
    {PIRF_EV_SAMPLER_STEP_TAPE, PIRF_EV_COUNT, PIRF_EV_COUNT},
    {PIRF_EV_SAMPLER_STEP_BWD, PIRF_EV_COUNT, PIRF_EV_COUNT},
    {PIRF_EV_RESIDUAL, PIRF_EV_RESIDUAL_ADJOINT, PIRF_EV_COUNT},
    {PIRF_EV_ADAM_REDUCE, PIRF_EV_ADAM_UPDATE, PIRF_EV_ADAM_GATHER},
    {PIRF_EV_EMA, PIRF_EV_COUNT, PIRF_EV_COUNT}};

/* This rank's seconds in each phase so far. */
static void phase_seconds(double t[NPHASES]) {
  for (int ph = 0; ph < NPHASES; ph++) {
    t[ph] = 0;
    for (int j = 0; j < 3 && phase_events[ph][j] != PIRF_EV_COUNT; j++) {
      double s, f;
      int n;
      pirf_prof_totals(phase_events[ph][j], &s, &f, &n);
      t[ph] += s;
    }
  }
}

static int bench_iteration(pirf_bench *b, const pirf_config *cfg, const pirf_decomp *dc,
                           pirf_physics *ph, pirf_case *c) {
  pirf_unet_config uc;
  pirf_unet net;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, dc->H, ph->pde->channels, &uc));
  const double drop = pirf_cfg_real(cfg, "finetune.dropout");
  if (drop >= 0) uc.dropout = drop;
  PIRF_TRY(pirf_unet_create(&uc, &net));
  pirf_ft_config fc;
  int err = pirf_ft_config_from_deck(cfg, (uint32_t)pirf_cfg_int(cfg, "finetune.seed"), &fc);
  fc.dropout = uc.dropout > 0;
  int pf = 0, pe = 0;
  if (!err) err = pirf_ft_trainable_range(&net, pirf_cfg_str(cfg, "finetune.trainable"), &pf, &pe);
  if (!err) err = pirf_ft_create(&c->ft, &net, dc, ph, &fc, pf, pe);
  c->have_ft = !err;
  const size_t P = net.table.total;
  if (!err) {
    c->params = malloc(P * sizeof *c->params);
    c->ema = malloc(P * sizeof *c->ema);
    c->ref = malloc(P * sizeof *c->ref);
    if (!c->params || !c->ema || !c->ref) {
      pirf_error_report(__FILE__, __LINE__, __func__, 0, "out of memory for 3 copies of %zu "
                        "parameters", P);
      err = PIRF_ERR;
    }
  }
  if (!err) {
    pirf_unet_init_params(&net, 1, c->params);
    memcpy(c->ema, c->params, P * sizeof *c->ema);
    memcpy(c->ref, c->params, P * sizeof *c->ref);
    err = pirf_adam_create(&c->opt, b->comm, c->ft.first, c->ft.count, NULL);
    c->have_opt = !err;
  }
  if (!err) err = pirf_prof_start();
  /* one iteration first, the row's warm-up: the flops the events count in it, summed over the
   * ranks */
  double flops = pirf_prof_flops();
  if (!err) err = run_iteration(c);
  flops = pirf_prof_flops() - flops;
  if (!err) PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &flops, 1, MPI_DOUBLE, MPI_SUM, b->comm));
  char name[96], shape[96];
  snprintf(name, sizeof name, "PIRF iteration (%s, N %d, K %d)", pirf_ft_method_name(fc.method),
           fc.steps, fc.k);
  snprintf(shape, sizeof shape, "batch %ld %dch %dx%d %s", fc.batch, uc.model_channels,
           uc.resolution, uc.resolution, pirf_cfg_str(cfg, "finetune.trainable"));
  /* The phases are disjoint parts of each call, timed over the row's repetitions on every rank. They are reported for one rank, the one with the largest sum,
   * beside that rank's own wall time per call, so that they add up to a part of it: a maximum
   * per phase over ranks would add waits that fall in different phases on different ranks. */
  double t0[NPHASES], t1[NPHASES];
  phase_seconds(t0);
  const double w0 = pirf_wtime();
  if (!err) err = pirf_bench_row_warmed(b, name, shape, flops, run_iteration, c);
  const double wall = pirf_wtime() - w0;
  phase_seconds(t1);
  if (!err) {
    const int calls = b->reps;
    double t[NPHASES + 1];
    struct {
      double sum;
      int rank;
    } mine = {0, 0}, top;
    for (int p = 0; p < NPHASES; p++) t[p] = (t1[p] - t0[p]) / calls, mine.sum += t[p];
    t[NPHASES] = wall / calls;
    PIRF_MPI(MPI_Comm_rank(b->comm, &mine.rank));
    PIRF_MPI(MPI_Allreduce(&mine, &top, 1, MPI_DOUBLE_INT, MPI_MAXLOC, b->comm));
    PIRF_MPI(MPI_Bcast(t, NPHASES + 1, MPI_DOUBLE, top.rank, b->comm));
    char line[512];
    int n = snprintf(line, sizeof line, "[bench] PIRF iteration phases (s per iteration, mean of "
                     "%d, rank %d, whose phases take longest):", calls, top.rank);
    for (int p = 0; p < NPHASES && n < (int)sizeof line; p++)
      n += snprintf(line + n, sizeof line - (size_t)n, "%s %s %.4g", p ? "," : "", phase_names[p],
                    t[p]);
    if (n < (int)sizeof line)
      snprintf(line + n, sizeof line - (size_t)n, "; of %.4g s per call on that rank",
               t[NPHASES]);
    pirf_log("%s\n", line);
    pirf_log("[bench] PIRF iteration: %zu of %zu parameters trainable, %d tape%s; peak memory per "
             "rank (max RSS, max over ranks) %.1f MiB\n", c->ft.count, P, c->ft.ntapes,
             c->ft.ntapes == 1 ? "" : "s", pirf_bench_max_rss_mib(b->comm));
  }
  if (c->have_opt) pirf_adam_destroy(&c->opt);
  if (c->have_ft) pirf_ft_destroy(&c->ft);
  free(c->params), free(c->ema), free(c->ref);
  pirf_unet_destroy(&net);
  return err;
}

int pirf_bench_pirf(pirf_bench *b, const pirf_config *cfg) {
  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, b->comm, &dc));
  pirf_physics *ph = NULL;
  int err = pirf_physics_create(cfg, &dc, &ph);
  pirf_case c;
  memset(&c, 0, sizeof c);
  if (!err) err = bench_iteration(b, cfg, &dc, ph, &c);
  pirf_physics_destroy(&ph);
  pirf_decomp_destroy(&dc);
  return err;
}
