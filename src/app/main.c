/* pirf: physics-informed reward fine-tuning of diffusion models (PIRF, Yuan et al. 2025).
 *
 *   pirf run DECK [key=value ...]        the whole pipeline, skipping finished stages
 *   pirf generate DECK [key=value ...] [-petsc_option ...]
 *   pirf finetune DECK [key=value ...]   PIRF fine-tuning of the pretrained model
 *   pirf info DECK [key=value ...]   the network: parameter counts per level
 *   pirf bench DECK [key=value ...] [-bench_batch B] [-bench_reps N]
 *   pirf denoise --checkpoint C --input X.h5 --sigma S --output Y.h5 [--cotangent G.h5] (no deck)
 *   pirf keys                 the deck schema as a Markdown table
 *   pirf version
 *
 * Errors in user input are reported once (rank 0) and the program exits with status 2; any other
 * failure is reported by the rank that saw it and the job is aborted so no rank waits forever. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/config.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/stop.h"

#include <petscsys.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A command is either a pipeline stage (main loads the deck and its overrides, then calls it) or a
 * function that parses its own arguments (run, info, bench, denoise). */
typedef struct {
  const char *name;
  int (*run)(const char *deck, int nargs, char **args);
  const char *help;
  int no_deck; /* takes --options instead of a deck (the deck comes from elsewhere) */
  int (*stage)(pirf_config *cfg);
} command;

static const command commands[] = {
    {"run", pirf_cmd_run, "the whole pipeline, skipping stages whose outputs exist"},
    {"generate", NULL, "solve the deck's PDE and write the data set (data.path)", 0,
     pirf_stage_generate},
    {"pretrain", NULL, "train the EDM base model on the data set (output.dir/base.h5)", 0,
     pirf_stage_pretrain},
    {"finetune", NULL, "PIRF: fine-tune the base model with the physics reward (output.dir/pirf.h5)", 0,
     pirf_stage_finetune},
    {"sample", NULL, "draw samples from a checkpoint (heun, dps or cocogen guidance)", 0,
     pirf_stage_sample},
    {"evaluate", NULL, "residual, fidelity and cost of base, PIRF and DPS (evaluation.json)", 0,
     pirf_stage_evaluate},
    {"info", pirf_cmd_info, "print the deck's network: parameter counts per level"},
    {"bench", pirf_cmd_bench, "time the network's kernels against this machine's measured peak"},
    {"denoise", pirf_cmd_denoise, "D(x; sigma) of a checkpoint on a field file, and its vjp", 1},
};
static const int ncommands = (int)(sizeof commands / sizeof commands[0]);

static void usage(FILE *out) {
  fprintf(out, "usage: pirf COMMAND DECK.yaml [key.sub=value ...] [-petsc_option ...]\n\ncommands:\n");
  for (int i = 0; i < ncommands; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(out, "  %-10s %s\n  %-10s %s\n", "keys", "print every deck key with its default and range",
          "version", "print the version");
  fprintf(out, "\nexample: mpiexec -n 2 pirf generate input/darcy.yaml data.samples=32 "
               "grid.resolution=64\n");
}

int main(int argc, char **argv) {
  /* Open MPI: a rank waiting in a collective (the FFT transposes, a halo exchange) yields its core
   * instead of spinning, so an oversubscribed or shared node is not slowed by the waiters; on
   * dedicated cores it costs nearly nothing. The user's own setting wins. */
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
  /* PETSc's signal handlers would abort on SIGTERM, and PetscFinalize resets the signals to their
   * default action, so a stop signal that arrives after the work (during the last writes or
   * MPI_Finalize) would kill a finished run: PETSc installs none, pirf's stay to the end. */
  PetscOptionsSetValue(NULL, "-no_signal_handler", NULL);
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  pirf_stop_install(); /* after PETSc, whose own handlers would abort on SIGTERM */
  int rank, err = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    if (rank == 0) usage(stdout);
    err = argc < 2 ? PIRF_ERR_USER : 0;
  } else if (!strcmp(argv[1], "version")) {
    if (rank == 0) printf("pirf %s\n", PIRF_VERSION);
  } else if (!strcmp(argv[1], "keys")) {
    if (rank == 0) pirf_config_print_schema(stdout, pirf_deck_tables());
  } else {
    const command *cmd = NULL;
    for (int i = 0; i < ncommands; i++)
      if (!strcmp(argv[1], commands[i].name)) cmd = &commands[i];
    if (!cmd) {
      if (rank == 0) {
        fprintf(stderr, "pirf: error: unknown command '%s'\n", argv[1]);
        usage(stderr);
      }
      err = PIRF_ERR_USER;
    } else if (!cmd->no_deck && (argc < 3 || argv[2][0] == '-' || strchr(argv[2], '='))) {
      if (rank == 0)
        fprintf(stderr, "pirf: error: '%s' needs an input deck: pirf %s DECK.yaml [key=value ...]\n",
                cmd->name, cmd->name);
      err = PIRF_ERR_USER;
    } else {
      const int skip = cmd->no_deck ? 2 : 3;
      err = cmd->stage ? pirf_run_stage(argv[2], argc - 3, argv + 3, cmd->stage)
                       : cmd->run(cmd->no_deck ? NULL : argv[2], argc - skip, argv + skip);
      if (err && err != PIRF_STOPPED && !pirf_error_is_collective()) {
        fprintf(stderr, "pirf: aborting the job after an error on rank %d\n", rank);
        MPI_Abort(MPI_COMM_WORLD, err);
      }
    }
  }
  PetscFinalize();
  /* 0 done, 1 failure, 2 bad input, 3 stopped on a signal after a checkpoint (rerun to resume) */
  return err ? (err == PIRF_ERR_USER ? 2 : err == PIRF_STOPPED ? 3 : 1) : 0;
}
