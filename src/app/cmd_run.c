/* `pirf run DECK [key=value ...]`: the whole pipeline in order, skipping every stage whose output
 * already exists (delete the output, or pass run.force=true, to redo a stage). A job that hit its
 * wall-time limit is therefore resubmitted unchanged and continues where it stopped.
 *
 * Stages: generate (data set), pretrain (base.h5), finetune (pirf.h5), evaluate (evaluation.json). */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/stop.h"

#include <stdio.h>
#include <unistd.h>

typedef struct {
  const char *name;
  int (*run)(pirf_config *cfg);
  /* The stage's output file, which marks it done. */
  const char *(*output)(const pirf_config *cfg, char *buf, size_t len);
} stage;

static const stage stages[] = {
    {"generate", pirf_stage_generate, pirf_deck_data_path},
    {"pretrain", pirf_stage_pretrain, pirf_pretrain_output},
    {"finetune", pirf_stage_finetune, pirf_finetune_output},
    {"evaluate", pirf_stage_evaluate, pirf_evaluate_output},
};

int pirf_cmd_run(const char *deck, int nargs, char **args) {
  pirf_config *cfg = NULL;
  PIRF_TRY(pirf_deck_load(deck, nargs, args, &cfg));
  pirf_log_set_level((int)pirf_cfg_int(cfg, "output.verbosity"));
  pirf_progress_set_interval(pirf_cfg_real(cfg, "output.progress_s"));
  int force = pirf_cfg_bool(cfg, "run.force");
  const int n = (int)(sizeof stages / sizeof stages[0]);
  double times[sizeof stages / sizeof stages[0]];
  int err = 0;
  for (int s = 0; s < n && !err; s++) {
    char out[4096];
    if (!stages[s].output(cfg, out, sizeof out)) {
      err = PIRF_ERR_USER;
      break;
    }
    /* every rank decides the same: rank 0 looks, then tells the others */
    int exists = access(out, F_OK) == 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, MPI_COMM_WORLD);
    times[s] = -1;
    if (exists && !force) {
      pirf_log("[run] stage %d/%d %s: output %s exists, skipped\n", s + 1, n, stages[s].name, out);
      continue;
    }
    pirf_log("[run] stage %d/%d %s -> %s\n", s + 1, n, stages[s].name, out);
    double t0 = pirf_wtime();
    err = stages[s].run(cfg);
    times[s] = pirf_wtime() - t0;
    if (err == PIRF_STOPPED)
      pirf_log("[run] stopped during %s on request; rerun `pirf run` to continue from its "
               "checkpoint\n", stages[s].name);
  }
  if (!err) {
    pirf_log("[run] stage times:");
    for (int s = 0; s < n; s++)
      if (times[s] >= 0)
        pirf_log(" %s %.1f s", stages[s].name, times[s]);
      else
        pirf_log(" %s skipped", stages[s].name);
    pirf_log("\n");
  }
  pirf_config_destroy(&cfg);
  return err;
}
