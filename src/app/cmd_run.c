/* `pirf run [--dry-run] DECK [key=value ...]`: the whole pipeline in order. A stage whose output
 * exists is skipped only when the output's provenance record matches this deck (pirf/provenance.h);
 * an output made with other settings, or one without a record, stops the run with a user error
 * naming the file and the differing keys (exit 2), unless run.force=true, which redoes every stage
 * from scratch. A job that hit its wall-time limit is therefore resubmitted unchanged and continues
 * where it stopped (the stage in progress resumes from its state file, under the resume guard).
 *
 * The run holds output.dir (pirf.lock) and writes output.dir/log.txt (pirf/run_dir.h).
 * --dry-run prints the resolved deck and, per stage, whether it would run or be skipped and why,
 * and runs, locks and writes nothing.
 *
 * Stages: generate (data set), pretrain (base.h5), finetune (pirf.h5), evaluate (evaluation.json). */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/provenance.h"
#include "pirf/run_dir.h"
#include "pirf/stop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *name;
  int (*run)(pirf_config *cfg);
  const char *state; /* the stage's resume file in output.dir, or NULL */
  const char *resume_key;
} stage;

static const stage stages[] = {
    {"generate", pirf_stage_generate, NULL, NULL},
    {"pretrain", pirf_stage_pretrain, "pretrain-state.h5", "pretrain.resume"},
    {"finetune", pirf_stage_finetune, "pirf-state.h5", "finetune.resume"},
    {"evaluate", pirf_stage_evaluate, NULL, NULL},
};
enum { NSTAGES = (int)(sizeof stages / sizeof stages[0]) };

static int file_exists(const char *path) {
  int e = access(path, F_OK) == 0;
  MPI_Bcast(&e, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return e;
}

/* What --dry-run says about stage s. */
static int dry_run_stage(pirf_config *cfg, int s, int force) {
  char out[4200];
  pirf_provenance_output(cfg, stages[s].name, out, sizeof out);
  pirf_provenance p;
  PIRF_TRY(pirf_provenance_compute(cfg, stages[s].name, 1, &p));
  pirf_prov_status st;
  char *why = NULL;
  int err = pirf_provenance_compare(out, &p, 0, &st, &why);
  if (err) {
    pirf_provenance_free(&p);
    return err;
  }
  pirf_log("stage %d/%d %-8s %s\n", s + 1, NSTAGES, stages[s].name, out);
  if (force)
    pirf_log("  would run: forced (run.force=true; the stage starts from scratch)\n");
  else if (st == PIRF_PROV_MATCH)
    pirf_log("  would skip: the output exists and its record matches this deck (digest %s)\n",
             p.digest);
  else if (st == PIRF_PROV_MISSING) {
    char state[4300] = "";
    const char *sf = stages[s].state;
    if (sf && !strcmp(stages[s].name, "finetune") &&
        !strcmp(pirf_cfg_str(cfg, "finetune.method"), "pidm"))
      sf = "pidm-state.h5"; /* the PIDM baseline's state (cmd_finetune_pidm.c) */
    if (sf && pirf_cfg_bool(cfg, stages[s].resume_key))
      snprintf(state, sizeof state, "%s/%s", pirf_cfg_str(cfg, "output.dir"), sf);
    if (*state && file_exists(state)) {
      pirf_provenance now;
      pirf_prov_status rs;
      char *rwhy = NULL;
      err = pirf_provenance_compute(cfg, stages[s].name, 0, &now);
      if (!err) err = pirf_provenance_compare(state, &now, 1, &rs, &rwhy);
      if (!err && rs == PIRF_PROV_MATCH)
        pirf_log("  would run: the output is missing; resumes from %s\n", state);
      else if (!err && pirf_cfg_bool(cfg, "run.allow_changed_resume"))
        pirf_log("  would run: the output is missing; resumes from %s although %s "
                 "(run.allow_changed_resume=true)\n", state, rwhy ? rwhy : "its record differs");
      else if (!err)
        pirf_log("  would stop: the output is missing and the state file %s differs: %s\n", state,
                 rwhy ? rwhy : "its record differs");
      if (!err) pirf_provenance_free(&now);
      free(rwhy);
    } else {
      pirf_log("  would run: the output is missing\n");
    }
  } else {
    pirf_log("  would stop (exit 2): %s; run.force=true would redo it\n",
             why ? why : "the record differs");
  }
  free(why);
  pirf_provenance_free(&p);
  return err;
}

static int dry_run(pirf_config *cfg) {
  const int force = pirf_cfg_bool(cfg, "run.force");
  char *yaml = pirf_config_to_yaml(cfg);
  PIRF_CHECK(yaml, "out of memory printing the deck");
  pirf_log("pirf run --dry-run: nothing is run, locked or written.\n%s\n", yaml);
  free(yaml);
  for (int s = 0; s < NSTAGES; s++) PIRF_TRY(dry_run_stage(cfg, s, force));
  return 0;
}

/* The skip/run decision for stage s; 1 = run it, 0 = skip; a user error when the output differs. */
static int decide(pirf_config *cfg, int s, int force, int *run) {
  char out[4200];
  pirf_provenance_output(cfg, stages[s].name, out, sizeof out);
  *run = 1;
  if (force) {
    pirf_log("[run] stage %d/%d %s -> %s (run.force=true: from scratch)\n", s + 1, NSTAGES,
             stages[s].name, out);
    if (stages[s].resume_key) PIRF_TRY(pirf_config_set(cfg, stages[s].resume_key, "false"));
    return 0;
  }
  pirf_provenance p;
  PIRF_TRY(pirf_provenance_compute(cfg, stages[s].name, 1, &p));
  pirf_prov_status st;
  char *why = NULL;
  int err = pirf_provenance_compare(out, &p, 0, &st, &why);
  if (!err && st == PIRF_PROV_MATCH) {
    pirf_log("[run] stage %d/%d %s: %s matches this deck (digest %s), skipped\n", s + 1, NSTAGES,
             stages[s].name, out, p.digest);
    *run = 0;
  } else if (!err && st == PIRF_PROV_MISSING) {
    pirf_log("[run] stage %d/%d %s -> %s\n", s + 1, NSTAGES, stages[s].name, out);
  }
  pirf_provenance_free(&p);
  if (err || st == PIRF_PROV_MATCH || st == PIRF_PROV_MISSING) {
    free(why);
    return err;
  }
  char msg[8192];
  snprintf(msg, sizeof msg, "%s", why ? why : "its record differs from this deck");
  free(why);
  PIRF_USER_CHECK(0, "'%s' (the %s stage's output) was not made by this deck: %s; pirf run never "
                  "reuses it: remove it (and the later stages' outputs), give this run another "
                  "output.dir, or set run.force=true to redo every stage", out, stages[s].name,
                  msg);
  return 0;
}

int pirf_cmd_run(const char *deck, int nargs, char **args) {
  /* main passes the deck and, after it, the overrides and this command's own flag (--dry-run) */
  int dry = 0;
  char **rest = calloc((size_t)nargs + 1, sizeof *rest);
  PIRF_CHECK(rest, "out of memory");
  int nrest = 0;
  for (int i = 0; i < nargs; i++)
    if (!strcmp(args[i], "--dry-run"))
      dry = 1;
    else
      rest[nrest++] = args[i];
  pirf_config *cfg = NULL;
  int err = pirf_deck_load(deck, nrest, rest, &cfg);
  free(rest);
  if (err) return err;
  pirf_log_set_level((int)pirf_cfg_int(cfg, "output.verbosity"));
  pirf_progress_set_interval(pirf_cfg_real(cfg, "output.progress_s"));
  if (dry) {
    err = dry_run(cfg);
    pirf_config_destroy(&cfg);
    return err;
  }
  const int force = pirf_cfg_bool(cfg, "run.force");
  double times[NSTAGES];
  err = pirf_run_dir_open(cfg, "run", 1);
  if (err) {
    pirf_config_destroy(&cfg);
    return err;
  }
  for (int s = 0; s < NSTAGES && !err; s++) {
    times[s] = -1;
    int run = 1;
    err = decide(cfg, s, force, &run);
    if (err || !run) continue;
    double t0 = pirf_wtime();
    err = pirf_provenance_begin(cfg, stages[s].name);
    if (!err) err = stages[s].run(cfg);
    int end = pirf_provenance_end(cfg, stages[s].name, err);
    if (!err) err = end;
    times[s] = pirf_wtime() - t0;
    if (err == PIRF_STOPPED)
      pirf_log("[run] stopped during %s on request; rerun `pirf run` to continue from its "
               "checkpoint\n", stages[s].name);
  }
  if (!err) {
    pirf_log("[run] stage times:");
    for (int s = 0; s < NSTAGES; s++)
      if (times[s] >= 0)
        pirf_log(" %s %.1f s", stages[s].name, times[s]);
      else
        pirf_log(" %s skipped", stages[s].name);
    pirf_log("\n");
  }
  pirf_run_dir_close(err);
  pirf_config_destroy(&cfg);
  return err;
}
