/* Deck loading for the application layer (see pirf/deck.h). */
#include "pirf/deck.h"

#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/dataset.h"
#include "pirf/log.h"
#include "pirf/physics.h"
#include "pirf/run_dir.h"
#include "pirf/run_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const pirf_cfg_spec pirf_app_schema[] = {
    {"grid.resolution", PIRF_CFG_INT, "128", 4, 65536, 0, 0, NULL,
     "grid points per side (R x R fields)"},
    {"parallel.tiles", PIRF_CFG_INT_LIST, "[1, 1]", 1, 4096, 2, 2, NULL,
     "[px, py]: every sample is split over px*py ranks; the rest of the ranks form data groups"},
    {"data.samples", PIRF_CFG_INT, "1000", 1, 100000000, 0, 0, NULL,
     "number of samples `pirf generate` writes"},
    {"data.seed", PIRF_CFG_INT, "0", 0, 2147483647, 0, 0, NULL,
     "seed of the generator's random numbers (Philox key)"},
    {"data.path", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL,
     "data set file; empty means data/<pde.name>.h5"},
    {"data.chunk", PIRF_CFG_INT, "16", 1, 100000, 0, 0, NULL,
     "samples a data group generates and writes per collective round"},
    {"output.dir", PIRF_CFG_STRING, "runs/default", 0, 0, 0, 0, NULL,
     "directory of checkpoints, samples, logs and the evaluation of this run"},
    {"run.force", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "pirf run: redo every stage from scratch, even outputs that match the deck (docs/run-directory.md)"},
    {"output.verbosity", PIRF_CFG_INT, "1", 0, 2, 0, 0, NULL,
     "0 errors only, 1 progress lines, 2 debug"},
    {"output.progress_s", PIRF_CFG_REAL, "30", 0.01, 1e6, 0, 0, NULL,
     "seconds between progress lines (rate, ETA, RSS), also inside a long training step"},
    {"run.stop_latency_s", PIRF_CFG_REAL, "30", 0.1, 1e6, 0, 0, NULL,
     "seconds within which a training stage stops with a checkpoint after SIGTERM/USR1/USR2 "
     "(sample and evaluate stop inside a batch within it too); pirf warns when its steps cannot "
     "keep this bound (see docs/pretrain.md)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const pirf_cfg_spec *const *pirf_deck_tables(void) {
  enum { MAXT = 32 };
  static const pirf_cfg_spec *tables[MAXT];
  if (!tables[0]) {
    int n = 0;
    tables[n++] = pirf_physics_schema;
    for (int i = 0; pirf_pde_registry[i]; i++)
      if (pirf_pde_registry[i]->schema) tables[n++] = pirf_pde_registry[i]->schema;
    tables[n++] = pirf_app_schema;
    tables[n++] = pirf_run_schema;
    tables[n++] = pirf_model_schema;
    tables[n++] = pirf_pretrain_schema;
    tables[n++] = pirf_sample_schema;
    tables[n++] = pirf_evaluate_schema;
    tables[n++] = pirf_finetune_schema;
    tables[n++] = pirf_value_error_schema;
    tables[n] = NULL;
  }
  return tables;
}

/* Sort the arguments after the deck: key=value overrides go to the deck; an argument starting with
 * '-' is a PETSc option (PETSc read it at PetscInitialize; its value, the next argument when that is
 * neither an option nor an override, is skipped). What is neither is refused here, so a typo never
 * runs a job with the setting silently ignored: a GNU-style "--key=value" or "--flag" (pirf has
 * none after the deck: `pirf COMMAND --help` is handled before), and a "-key=value", which PETSc
 * would take as an option nobody reads. PETSc options that nothing reads are refused by main
 * (pirf_petsc_options_check). */
static int own_flag(const char *flags, const char *a) {
  size_t len = strlen(a);
  for (const char *p = flags; p && *p;) {
    size_t n = strcspn(p, " ");
    if (n == len && !strncmp(p, a, n)) return 1;
    p += n + (p[n] == ' ');
  }
  return 0;
}

int pirf_deck_check_args(int nargs, char **args, const char *own_flags) {
  for (int i = 0; i < nargs; i++) {
    const char *a = args[i];
    if (a[0] != '-' || own_flag(own_flags, a)) continue;
    const char *eq = strchr(a, '=');
    const char *bare = a + strspn(a, "-");
    if (eq) {
      PIRF_USER_CHECK(0, "command line: '%s' is not an option; deck keys are set as key=value "
                         "without dashes: %s", a, bare);
    }
    PIRF_USER_CHECK(a[1] != '-', "command line: unknown option '%s'; after the deck pirf takes "
                    "key=value overrides (e.g. grid.resolution=32) and PETSc options (-name "
                    "[value]); see pirf COMMAND --help", a);
    if (i + 1 < nargs && args[i + 1][0] != '-' && !strchr(args[i + 1], '=')) i++;
  }
  return 0;
}

int pirf_deck_load(const char *deck, int nargs, char **args, pirf_config **cfg) {
  *cfg = NULL;
  PIRF_TRY(pirf_deck_check_args(nargs, args, NULL));
  char **over = calloc((size_t)nargs + 1, sizeof *over);
  PIRF_CHECK(over, "out of memory");
  int n = 0;
  for (int i = 0; i < nargs; i++) {
    if (args[i][0] == '-') { /* a PETSc option; skip its value too */
      if (i + 1 < nargs && args[i + 1][0] != '-' && !strchr(args[i + 1], '=')) i++;
      continue;
    }
    over[n++] = args[i];
    /* output.verbosity=2 on the command line applies to errors in the deck itself */
    if (!strncmp(args[i], "output.verbosity=", 17)) pirf_error_set_verbosity(atoi(args[i] + 17));
  }
  int err = pirf_config_load(cfg, pirf_deck_tables(), deck, n, over);
  free(over);
  if (err) return err;
  { /* every file read is checked against the deck's PDE (pirf/dataset.h) */
    const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(*cfg, "pde.name"));
    pirf_io_expect(pirf_cfg_str(*cfg, "pde.name"), pde ? pde->channel_names : NULL);
  }
  pirf_error_set_verbosity((int)pirf_cfg_int(*cfg, "output.verbosity"));
  if (!*pirf_cfg_str(*cfg, "output.dir")) {
    pirf_error_report(__FILE__, __LINE__, __func__, 1,
                      "%s: output.dir is empty; give the directory of this run's outputs, for "
                      "example output.dir=runs/darcy", pirf_cfg_origin(*cfg, "output.dir"));
    pirf_config_destroy(cfg);
    return PIRF_ERR_USER;
  }
  return 0;
}

int pirf_run_stage(const char *deck, int nargs, char **args, int (*stage)(pirf_config *cfg)) {
  pirf_config *cfg = NULL;
  int err = pirf_deck_load(deck, nargs, args, &cfg);
  if (!err) {
    pirf_log_set_level((int)pirf_cfg_int(cfg, "output.verbosity"));
    pirf_progress_set_interval(pirf_cfg_real(cfg, "output.progress_s"));
    err = pirf_run_dir_stage(cfg, stage); /* lock, log.txt, provenance around the stage */
  }
  pirf_config_destroy(&cfg);
  return err;
}

const char *pirf_path_printf(char *buf, size_t len, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < len) return buf;
  pirf_error_report(__FILE__, __LINE__, __func__, 1,
                    "the file name built from %s is %d characters long, more than the %zu pirf "
                    "supports; choose a shorter %s", what, n, len - 1, what);
  return NULL;
}

int pirf_deck_decomp(const pirf_config *cfg, MPI_Comm world, pirf_decomp *dc) {
  long tiles[2], mult[8];
  pirf_cfg_int_list(cfg, "parallel.tiles", tiles, 2);
  int levels = pirf_cfg_int_list(cfg, "model.channel_mult", mult, 8);
  int R = (int)pirf_cfg_int(cfg, "grid.resolution");
  return pirf_decomp_create(world, R, R, (int)tiles[0], (int)tiles[1], levels, dc);
}

const char *pirf_deck_data_path(const pirf_config *cfg, char *buf, size_t len) {
  const char *p = pirf_cfg_str(cfg, "data.path");
  if (*p) return pirf_path_printf(buf, len, "data.path", "%s", p);
  return pirf_path_printf(buf, len, "pde.name", "data/%s.h5", pirf_cfg_str(cfg, "pde.name"));
}

int pirf_mkdir_p(MPI_Comm comm, const char *dir) {
  int rank, err = 0;
  MPI_Comm_rank(comm, &rank);
  char buf[4096];
  PIRF_USER_CHECK(strlen(dir) < sizeof buf, "the directory name '%.60s...' is %zu characters "
                  "long, more than the %zu pirf supports; choose a shorter one", dir, strlen(dir),
                  sizeof buf - 1);
  if (rank == 0 && *dir) {
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
      if (*p == '/' || *p == 0) {
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0775) != 0 && errno != EEXIST) {
          err = errno;
          break;
        }
        *p = c;
        if (!c) break;
      }
    }
  }
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PIRF_USER_CHECK(!err, "cannot create the directory '%s': %s", dir, strerror(err));
  return 0;
}

int pirf_mkdir_parent(MPI_Comm comm, const char *path) {
  char buf[4096];
  PIRF_USER_CHECK(strlen(path) < sizeof buf, "the file name '%.60s...' is %zu characters long, "
                  "more than the %zu pirf supports; choose a shorter one", path, strlen(path),
                  sizeof buf - 1);
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  if (!slash) return 0;
  *slash = 0;
  return pirf_mkdir_p(comm, buf);
}

int pirf_write_field_attributes(hid_t f, const pirf_config *cfg, const pirf_physics *ph) {
  const pirf_pde *pde = ph->pde;
  char *yaml = pirf_config_to_yaml(cfg);
  PIRF_CHECK(yaml, "out of memory writing the resolved deck");
  int err = pirf_attr_write_str(f, "deck", yaml);
  free(yaml);
  PIRF_TRY(err);
  PIRF_TRY(pirf_attr_write_str(f, "pde", pde->name));
  PIRF_TRY(pirf_attr_write_str(f, "channel_names", pde->channel_names));
  PIRF_TRY(pirf_attr_write_str(f, "centring", pde->centring));
  PIRF_TRY(pirf_attr_write_str(f, "normalization", "x = scale * physical + shift, per channel"));
  PIRF_TRY(pirf_attr_write_double(f, "norm_scale", pde->channels, ph->norm_scale));
  PIRF_TRY(pirf_attr_write_double(f, "norm_shift", pde->channels, ph->norm_shift));
  PIRF_TRY(pirf_attr_write_double(f, "grid_spacing", 1, &ph->h));
  PIRF_TRY(pirf_attr_write_long(f, "resolution", ph->dc->H));
  PIRF_TRY(pirf_attr_write_str(f, "pirf_version", PIRF_VERSION));
  PIRF_TRY(pirf_run_record_write(f)); /* command line, layout, host, build, provenance */
  return 0;
}
