/* The application's view of an input deck: the schema tables of every module, loading a deck with
 * its command-line overrides, and the common sections (grid, parallel, data, output). */
#ifndef PIRF_DECK_H
#define PIRF_DECK_H

#include "pirf/config.h"
#include "pirf/decomp.h"

#include <hdf5.h>

/* Every schema table of the program, NULL-terminated. */
const pirf_cfg_spec *const *pirf_deck_tables(void);

/* Load `deck` with `args` (key=value overrides; PETSc options starting with '-' and their values
 * are skipped here because PETSc reads them; "--anything" and "-key=value" are refused). Sets the
 * error verbosity from output.verbosity. */
int pirf_deck_load(const char *deck, int nargs, char **args, pirf_config **cfg);
/* The argument checks of pirf_deck_load alone (main runs them before anything else): refuses
 * "--key=value", "-key=value" and "--flag" unless the flag is one of own_flags (space-separated
 * "--" flags the command parses itself, which it removes before calling pirf_deck_load). */
int pirf_deck_check_args(int nargs, char **args, const char *own_flags);
/* Load `deck` with its overrides, set the log level, run `stage` on it (a subcommand). */
int pirf_run_stage(const char *deck, int nargs, char **args, int (*stage)(pirf_config *cfg));
/* The rank layout the deck asks for (grid.resolution, parallel.tiles, model levels). */
int pirf_deck_decomp(const pirf_config *cfg, MPI_Comm world, pirf_decomp *dc);
/* data.path, or data/<pde.name>.h5 when it is empty; NULL (after a collective user error) when it
 * does not fit in buf. */
const char *pirf_deck_data_path(const pirf_config *cfg, char *buf, size_t len);
/* snprintf of a file name into buf; NULL, after a collective user error naming `what` (the deck
 * key it is built from), when it does not fit: a path is never cut. The pirf_*_output builders
 * use it. */
const char *pirf_path_printf(char *buf, size_t len, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Create a directory and its parents (rank 0), then barrier. */
int pirf_mkdir_p(MPI_Comm comm, const char *dir);
/* Create the parent directory of a file path. */
int pirf_mkdir_parent(MPI_Comm comm, const char *path);

/* The attributes every field file carries (data sets, samples): the resolved deck, the PDE, its
 * channels, centring, normalization, grid spacing and resolution, the version. Collective. */
struct pirf_physics;
int pirf_write_field_attributes(hid_t f, const pirf_config *cfg, const struct pirf_physics *ph);

extern const pirf_cfg_spec pirf_app_schema[];
extern const pirf_cfg_spec pirf_model_schema[];

#endif
