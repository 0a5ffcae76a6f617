/* pirf: physics-informed reward fine-tuning of diffusion models (PIRF, Yuan et al. 2025).
 *
 *   pirf COMMAND DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]
 *   pirf denoise --checkpoint C --input X.h5 --sigma S --output Y.h5 [...]   (no deck)
 *   pirf keys | version | help [COMMAND] | COMMAND --help
 *
 * `pirf --help` lists the commands, `pirf COMMAND --help` describes one (arguments, options, exit
 * statuses). The exit status is 0 done, 1 failure, 2 bad input, 3 stopped on a signal after a
 * checkpoint. A user error is reported once (rank 0) and every rank returns it cleanly; any other
 * failure is reported by the rank that saw it and the job is aborted so no rank waits forever.
 *
 * The command line is strict: an argument after the deck is a key=value override (each key once),
 * or a PETSc option that something reads. PETSc options are checked twice (see
 * petsc_options_check): before the command runs, every option must be PETSc's own (already read by
 * PetscInitialize) or carry the prefix of a PETSc object the command creates (-darcy_, -gen_,
 * -bench_), so a typo such as -ksp_monitr costs nothing; after it, an option with such a prefix
 * that no object read (-darcy_ksp_monitr) is reported, because which options a solver reads is
 * known only once it has been set up. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/config.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/prof.h"
#include "pirf/stop.h"

#include <petscsys.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prefixes of the options pirf's PETSc objects read (KSPSetOptionsPrefix in src/physics, and
 * cmd_bench.c's own options). */
#define SOLVER_PREFIXES "darcy_ gen_"

/* A command is either a pipeline stage (main loads the deck and its overrides, then calls it) or a
 * function that parses its own arguments (run, info, bench, denoise). */
typedef struct {
  const char *name;
  int (*run)(const char *deck, int nargs, char **args);
  const char *summary; /* one line for `pirf --help` */
  int no_deck;         /* takes --options instead of a deck (the deck comes from elsewhere) */
  int (*stage)(pirf_config *cfg);
  const char *petsc;   /* prefixes (space-separated, no dash) of the PETSc options it may read */
  const char *flags;   /* "--" flags it parses itself (space-separated), passed on in its args */
  const char *usage;   /* what follows "pirf NAME" */
  const char *help;    /* what it does, its outputs, its own options */
} command;

static const command commands[] = {
    {"run", pirf_cmd_run, "the whole pipeline, skipping stages whose outputs match the deck", 0, NULL,
     SOLVER_PREFIXES, "--dry-run", "[--dry-run] DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Runs generate, pretrain, finetune and evaluate in order on one deck. A stage is skipped only\n"
     "when its output exists and the provenance record stored in it matches this deck (the keys\n"
     "that determine it and the digests of its inputs); a differing output stops the run (status 2)\n"
     "naming the keys, and run.force=true redoes every stage from scratch. A stage stopped by a\n"
     "signal resumes from its checkpoint, so a job that hit its time limit is resubmitted unchanged.\n"
     "Outputs: data.path, output.dir/base.h5, output.dir/pirf.h5, output.dir/evaluation.json;\n"
     "output.dir/log.txt and output.dir/pirf.lock (docs/run-directory.md).\n"
     "  --dry-run   print the resolved deck and, per stage, whether it would run or skip and why;\n"
     "              runs nothing.\n"},
    {"generate", NULL, "solve the deck's PDE and write the data set (data.path)", 0,
     pirf_stage_generate, SOLVER_PREFIXES, NULL,
     "DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Draws data.samples random coefficient fields (seed data.seed), solves the PDE for each and\n"
     "writes the data set data.path (default data/<pde.name>.h5) with its residual floor. The file\n"
     "is written as data.path.partial and renamed when complete.\n"},
    {"pretrain", NULL, "train the EDM base model on the data set (output.dir/base.h5)", 0,
     pirf_stage_pretrain, "", NULL, "DECK.yaml [key.sub=value ...]",
     "Trains the EDM-preconditioned SongUNet on data.path for pretrain.kimg thousand images and\n"
     "writes output.dir/base.h5; checkpoints to output.dir/pretrain-state.h5 every\n"
     "pretrain.checkpoint_kimg, from which a rerun resumes; logs output.dir/pretrain.jsonl.\n"},
    {"finetune", NULL,
     "PIRF: fine-tune the base model with the physics reward (output.dir/pirf.h5)", 0,
     pirf_stage_finetune, SOLVER_PREFIXES, NULL,
     "DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Fine-tunes the base model (finetune.base, default output.dir/base.h5) with the PDE-residual\n"
     "reward and writes output.dir/pirf.h5; checkpoints to output.dir/pirf-state.h5, from which a\n"
     "rerun resumes; logs output.dir/finetune.jsonl. finetune.method=pidm trains the PIDM\n"
     "baseline on data.path instead (EDM loss + residual loss): output.dir/pidm.h5,\n"
     "pidm-state.h5, pidm.jsonl (docs/finetune.md).\n"},
    {"sample", NULL, "draw samples from a checkpoint (heun, dps or cocogen guidance)", 0,
     pirf_stage_sample, SOLVER_PREFIXES, NULL,
     "DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Draws sample.count samples from sample.checkpoint (default output.dir/base.h5) with the\n"
     "sampler sample.method and writes sample.output (default output.dir/samples_<method>.h5)\n"
     "with the residual of every sample.\n"},
    {"evaluate", NULL, "residual, fidelity and cost of base, PIRF and DPS (evaluation.json)", 0,
     pirf_stage_evaluate, SOLVER_PREFIXES, NULL,
     "DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Samples the base model, the PIRF model and the guided baselines at every evaluate.steps,\n"
     "and writes output.dir/evaluation.json and evaluation.md (residual MSE/MAE, fidelity to\n"
     "held-out data, seconds per sample) and the samples files.\n"},
    {"value-error", NULL, "how well r(D(x_i; sigma_i)) estimates the final reward (value_error.json)",
     0, pirf_stage_value_error, SOLVER_PREFIXES, NULL,
     "DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]",
     "Along deterministic Heun trajectories of value_error.model (base: output.dir/base.h5, or\n"
     "pirf) at every N of value_error.steps, compares the DPS value estimate v_hat_i =\n"
     "r(D(x_i; sigma_i)) with the true value v_i = r(x_N) (r: residual MSE) at every step i,\n"
     "over value_error.samples trajectories; writes output.dir/value_error.json (plot it with\n"
     "postprocess/value_error.py; docs/value-error.md).\n"},
    {"info", pirf_cmd_info, "print the deck's network: parameter counts per level", 0, NULL, "",
     NULL, "DECK.yaml [key.sub=value ...]",
     "Prints the deck's SongUNet: configuration, parameter counts per level and the memory of\n"
     "its tapes. Needs no data; writes nothing.\n"},
    {"bench", pirf_cmd_bench, "time the network's kernels against this machine's measured peak", 0,
     NULL, "bench_", NULL,
     "DECK.yaml [key.sub=value ...] [-bench_batch B] [-bench_reps N] [-bench_conv 0|1]\n"
     "                 [-bench_network 0|1] [-bench_pirf 0|1] [-bench_baseline 0|1]",
     "Times the deck's network (evaluation, taped forward and backward, a training step) and its\n"
     "3x3 convolutions against this machine's measured FP32 peak (docs/performance.md).\n"
     "  -bench_batch B       samples per data group per call (default 1)\n"
     "  -bench_reps N        repetitions of each row\n"
     "  -bench_conv 0|1      the convolution rows (default 1)\n"
     "  -bench_network 0|1   the whole-network rows (default 1)\n"
     "  -bench_pirf 0|1      one PIRF iteration of the deck (finetune.*), by phase (default 0)\n"
     "  -bench_baseline 0|1  every convolution algorithm, not only the default (default 1)\n"},
    {"denoise", pirf_cmd_denoise, "D(x; sigma) of a checkpoint on a field file, and its vjp", 1,
     NULL, "", NULL,
     "--checkpoint C.h5 --input X.h5 --sigma S --output Y.h5 [--cotangent G.h5]\n"
     "                 [--weights ema|net|ref] [--batch B] [key.sub=value ...]",
     "One evaluation of the denoiser D(x; sigma) of a checkpoint on the fields of X.h5 (and with\n"
     "--cotangent, its vector-Jacobian products), for comparing pirf with PyTorch EDM\n"
     "(docs/verify-pytorch.md). Takes no deck: the network comes from the deck stored in the\n"
     "checkpoint; key=value overrides apply on top of it.\n"},
};
static const int ncommands = (int)(sizeof commands / sizeof commands[0]);

static const char *common_help =
    "\narguments:\n"
    "  DECK.yaml        the input deck (YAML; `pirf keys` lists every key). Read once by rank 0,\n"
    "                   so a FIFO or /dev/stdin works too.\n"
    "  key.sub=value    set one deck key, the value in YAML: grid.resolution=64,\n"
    "                   parallel.tiles=[2,2], output.dir=runs/a. Each key at most once.\n"
    "  -petsc_option    PETSc's own options (-log_view, -options_left, ...) and those of pirf's\n"
    "                   solvers, by prefix: -darcy_ (the Darcy pressure solve) and -gen_ (the\n"
    "                   Poisson/Helmholtz data solves), e.g. -darcy_ksp_monitor. An option nothing\n"
    "                   reads is refused: before the command runs when it has no such prefix,\n"
    "                   at the end (status 2, outputs complete) when no solver read it.\n"
    "  --help           this text\n";

static const char *status_help =
    "\nexit status:\n"
    "  0  done\n"
    "  1  failure (a file that cannot be written, a library error); the message names it\n"
    "  2  bad input: the deck, the command line, or an input file; nothing is left half-written\n"
    "  3  stopped by SIGTERM/SIGUSR1/SIGUSR2 after a checkpoint: rerun the same command to resume\n"
    "\nenvironment:\n"
    "  PIRF_VERBOSITY=2  error messages carry their source location (as output.verbosity=2, but\n"
    "                    also for errors met before the deck is loaded)\n"
    "  run `source scripts/env.sh` first in a fresh shell (MPI settings; see the README)\n";

static void usage(FILE *out) {
  fprintf(out, "usage: pirf COMMAND DECK.yaml [key.sub=value ...] [-petsc_option [value] ...]\n"
               "       pirf COMMAND --help     what COMMAND does, its arguments and options\n"
               "\ncommands:\n");
  for (int i = 0; i < ncommands; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "  %-10s %s\n  %-10s %s\n  %-10s %s\n", "keys",
          "print every deck key with its default and range (Markdown)", "version",
          "print the version", "help", "this text; `pirf help COMMAND` = `pirf COMMAND --help`");
  fprintf(out, "%s", status_help);
  fprintf(out, "\nexample: mpiexec -n 2 build/pirf run input/quickstart.yaml\n");
}

static void command_help(FILE *out, const command *c) {
  fprintf(out, "usage: pirf %s %s\n\n%s", c->name, c->usage, c->help);
  if (!c->no_deck) fprintf(out, "%s", common_help);
  fprintf(out, "%s", status_help);
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* Whether word is one of the space-separated words of list. */
static int in_list(const char *list, const char *word, size_t len) {
  for (const char *p = list; p && *p;) {
    size_t n = strcspn(p, " ");
    if (n && n == len && !strncmp(p, word, n)) return 1;
    p += n + (p[n] == ' ');
  }
  return 0;
}

/* Whether PETSc option `name` (no dash) starts with one of the prefixes. */
static int has_prefix(const char *prefixes, const char *name) {
  for (const char *p = prefixes; p && *p;) {
    size_t n = strcspn(p, " ");
    if (n && !strncmp(p, name, n)) return 1;
    p += n + (p[n] == ' ');
  }
  return 0;
}

/* PETSc options given but not read. before: the check before the command runs (options with one
 * of the command's prefixes may still be read by an object it creates); otherwise the final check.
 * The verdict is collective: an option counts as read when any rank read it. */
static int petsc_options_check(const command *c, int before) {
  PetscInt n = 0;
  char **names = NULL, **values = NULL;
  PIRF_PETSC(PetscOptionsLeftGet(NULL, &n, &names, &values));
  /* read by PetscFinalize itself */
  static const char *late[] = {"options_left", "options_view", "options_monitor", NULL};
  char *bad = NULL;
  size_t len = 0;
  int nbad = 0;
  for (PetscInt i = 0; i < n; i++) {
    const char *name = names[i];
    int ok = name[0] == '-'; /* "--x": pirf's own (denoise's --options; refused elsewhere) */
    for (int j = 0; late[j]; j++) ok |= !strcmp(name, late[j]);
    if (before && has_prefix(c->petsc, name)) ok = 1;
    if (ok) continue;
    size_t add = strlen(name) + 4;
    char *nb = realloc(bad, len + add + 1);
    if (!nb) break;
    bad = nb;
    len += (size_t)snprintf(bad + len, add + 1, "%s-%s", nbad ? ", " : "", name);
    nbad++;
  }
  PIRF_PETSC(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  /* (options also come from PETSC_OPTIONS and .petscrc files; the message says so) */
  int any = nbad > 0, all = 0;
  MPI_Allreduce(&any, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  int err = 0;
  if (all) {
    const char *what = nbad > 1 ? "PETSc options" : "PETSc option";
    if (before && !*c->petsc)
      pirf_error_report(__FILE__, __LINE__, __func__, 1,
                        "%s %s (command line or PETSC_OPTIONS) not read by pirf %s, "
                        "which reads only PETSc's own options (-log_view, -options_left, ...); "
                        "remove %s or check the spelling",
                        what, bad, c->name, nbad > 1 ? "them" : "it");
    else if (before)
      pirf_error_report(__FILE__, __LINE__, __func__, 1,
                        "%s %s (command line or PETSC_OPTIONS) not read by pirf %s: solver "
                        "options take the prefix "
                        "of the solver, -%s (e.g. -darcy_ksp_monitor), and PETSc's own options "
                        "(-log_view, -options_left, ...) work as usual; check the spelling",
                        what, bad, c->name,
                        !strcmp(c->petsc, SOLVER_PREFIXES) ? "darcy_ (Darcy pressure solve) or "
                                                             "-gen_ (Poisson/Helmholtz data solves)"
                                                           : c->petsc);
    else
      pirf_error_report(__FILE__, __LINE__, __func__, 1,
                        "%s %s %s given but no solver of this run read %s (a "
                        "misspelling, or the solver of another PDE?); the command's outputs are "
                        "complete. `pirf %s DECK -help` lists the options the solvers read",
                        what, bad, nbad > 1 ? "were" : "was", nbad > 1 ? "them" : "it", c->name);
    err = PIRF_ERR_USER;
  }
  free(bad);
  return err;
}

int main(int argc, char **argv) {
  pirf_io_environment(); /* MPI-IO settings read by MPI_Init (long paths: pirf/dataset.h) */
  /* Open MPI: a rank waiting in a collective (the FFT transposes, a halo exchange) yields its core
   * instead of spinning, so an oversubscribed or shared node is not slowed by the waiters; on
   * dedicated cores it costs nearly nothing. The user's own setting wins. */
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
  /* PETSc's signal handlers would abort on SIGTERM, and PetscFinalize resets the signals to their
   * default action, so a stop signal that arrives after the work (during the last writes or
   * MPI_Finalize) would kill a finished run: PETSc installs none, pirf's stay to the end. */
  PetscOptionsSetValue(NULL, "-no_signal_handler", NULL);
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (pirf_prof_init()) return 1; /* pirf's log stages and events (-log_view) */
  pirf_io_init(); /* HDF5 failures are reported in pirf's words, without HDF5-DIAG stacks */
  pirf_stop_install(); /* after PETSc, whose own handlers would abort on SIGTERM */
  int rank, err = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const command *cmd = NULL;
  if (argc >= 2)
    for (int i = 0; i < ncommands; i++)
      if (!strcmp(argv[1], commands[i].name)) cmd = &commands[i];
  int want_help = 0;
  for (int i = 2; cmd && i < argc; i++) want_help |= is_help(argv[i]);

  if (argc < 2 || is_help(argv[1]) || !strcmp(argv[1], "help")) {
    const command *about = NULL;
    if (argc >= 3 && !strcmp(argv[1], "help"))
      for (int i = 0; i < ncommands; i++)
        if (!strcmp(argv[2], commands[i].name)) about = &commands[i];
    if (argc >= 3 && !strcmp(argv[1], "help") && !about) {
      if (rank == 0) fprintf(stderr, "pirf: error: unknown command '%s'; `pirf --help` lists them\n",
                             argv[2]);
      err = PIRF_ERR_USER;
    } else if (rank == 0) {
      if (about) command_help(argc < 2 ? stderr : stdout, about);
      else usage(argc < 2 ? stderr : stdout);
    }
    if (argc < 2) err = PIRF_ERR_USER;
  } else if ((!strcmp(argv[1], "version") || !strcmp(argv[1], "keys")) && argc > 2) {
    if (rank == 0)
      fprintf(stderr, "pirf: error: '%s' takes no arguments (got '%s')\n", argv[1], argv[2]);
    err = PIRF_ERR_USER;
  } else if (!strcmp(argv[1], "version")) {
    if (rank == 0) printf("pirf %s\n", PIRF_VERSION);
  } else if (!strcmp(argv[1], "keys")) {
    if (rank == 0) pirf_config_print_schema(stdout, pirf_deck_tables());
  } else if (!cmd) {
    if (rank == 0)
      fprintf(stderr, "pirf: error: unknown command '%s'; `pirf --help` lists the commands\n",
              argv[1]);
    err = PIRF_ERR_USER;
  } else if (want_help) {
    if (rank == 0) command_help(stdout, cmd);
  } else {
    /* the deck is the first argument that is not one of the command's own flags (--dry-run) */
    int d = 2;
    while (d < argc && cmd->flags && in_list(cmd->flags, argv[d], strlen(argv[d]))) d++;
    if (!cmd->no_deck && (d >= argc || argv[d][0] == '-' || strchr(argv[d], '='))) {
      if (rank == 0)
        fprintf(stderr, "pirf: error: '%s' needs an input deck: pirf %s DECK.yaml [key=value ...] "
                        "(pirf %s --help)\n", cmd->name, cmd->name, cmd->name);
      err = PIRF_ERR_USER;
    } else {
      char *deck = NULL;
      if (!cmd->no_deck) { /* move the command's flags after the deck, where it parses them */
        deck = argv[d];
        memmove(argv + 3, argv + 2, (size_t)(d - 2) * sizeof *argv);
      }
      const int skip = cmd->no_deck ? 2 : 3;
      err = cmd->no_deck ? 0 : pirf_deck_check_args(argc - 3, argv + 3, cmd->flags);
      if (!err) err = petsc_options_check(cmd, 1);
      if (!err)
        err = cmd->stage ? pirf_run_stage(deck, argc - 3, argv + 3, cmd->stage)
                         : cmd->run(deck, argc - skip, argv + skip);
      if (!err) err = petsc_options_check(cmd, 0);
      if (err && err != PIRF_STOPPED && !pirf_error_is_collective()) {
        fprintf(stderr, "pirf: aborting the job after an error on rank %d\n", rank);
        pirf_error_before_abort();
        MPI_Abort(MPI_COMM_WORLD, err);
      }
    }
  }
  fflush(stdout);
  fflush(stderr);
  PetscFinalize();
  /* 0 done, 1 failure, 2 bad input, 3 stopped on a signal after a checkpoint (rerun to resume).
   * Every rank returns the same status; under Open MPI's mpiexec a non-zero status is followed by
   * mpiexec's own notice (docs/deck.md, "Errors and exit statuses"). */
  return err ? (err == PIRF_ERR_USER ? 2 : err == PIRF_STOPPED ? 3 : 1) : 0;
}
