/* Input decks: YAML files (libyaml) checked against a typed schema.
 *
 * Each module that reads settings contributes a table of pirf_cfg_spec (key, type, default, range,
 * accepted values, one line of help), so the schema lives next to the code that uses it. The
 * application concatenates the tables, loads the deck and the command-line overrides
 * (`key.sub=value`, the value parsed as YAML, so `parallel.tiles=[2,1]` works), and every key then
 * has a checked value: from the deck, from the command line, or the default.
 *
 * An unknown key or section, a wrong type, an out-of-range value, a key given twice (in the deck,
 * or on the command line), a second YAML document and an empty deck are collective user errors
 * whose message names the file, line, key and the accepted values. Nothing is cut to a buffer:
 * strings are kept at full length (up to PIRF_CFG_STRING_MAX, beyond which they are refused).
 * The deck is read as a stream by rank 0 and sent to the other ranks, so a FIFO or /dev/stdin
 * works under mpiexec. The resolved deck (every key, defaults
 * included) is available as YAML text to store in every output file. */
#ifndef PIRF_CONFIG_H
#define PIRF_CONFIG_H

#include <stdio.h>

typedef enum {
  PIRF_CFG_INT,
  PIRF_CFG_REAL,
  PIRF_CFG_BOOL,
  PIRF_CFG_STRING,
  PIRF_CFG_ENUM,
  PIRF_CFG_INT_LIST,
  PIRF_CFG_REAL_LIST
} pirf_cfg_type;

#define PIRF_CFG_MAX_LIST 16
/* The longest value a STRING key accepts unless its spec's max says otherwise (max > 0: at most
 * max characters). Every string key of pirf names a file or a directory, and the stage commands
 * build file names from them (dir + "/samples_cocogen_z12.h5.partial") in PATH_MAX (4096) buffers,
 * so a longer value is refused with a message naming the key rather than cut. Below this limit a
 * string is stored and returned at its full length. */
#define PIRF_CFG_STRING_MAX 2000

typedef struct {
  const char *key;     /* dotted path, "grid.resolution" */
  pirf_cfg_type type;
  const char *def;     /* default, as YAML text: "128", "[1, 1]", "darcy", "true" */
  double min, max;     /* numbers and list elements: inclusive range; strings: max > 0 is the
                          longest accepted length (default PIRF_CFG_STRING_MAX) */
  int min_len, max_len; /* lists: allowed length (0, 0 = 1..PIRF_CFG_MAX_LIST) */
  const char *choices; /* enums: "a|b|c" */
  const char *help;    /* one line: meaning and unit */
} pirf_cfg_spec;

typedef struct pirf_config pirf_config;

/* tables: NULL-terminated array of spec tables, each ending with an entry whose key is NULL.
 * path may be NULL (defaults and overrides only). Collective in the sense that every rank calls
 * it with the same arguments and gets the same result; errors are printed by rank 0. */
int pirf_config_load(pirf_config **cfg, const pirf_cfg_spec *const *tables, const char *path,
                     int noverrides, char *const *overrides);
void pirf_config_destroy(pirf_config **cfg);

/* Set one key from YAML text, with the same checks as a command-line override. */
int pirf_config_set(pirf_config *cfg, const char *key, const char *value);

/* Getters. Asking for a key that is not in the schema, or with the wrong type, is a programming
 * error: it prints and aborts. */
long pirf_cfg_int(const pirf_config *cfg, const char *key);
double pirf_cfg_real(const pirf_config *cfg, const char *key);
int pirf_cfg_bool(const pirf_config *cfg, const char *key);
const char *pirf_cfg_str(const pirf_config *cfg, const char *key); /* STRING and ENUM; valid until the key is set again or cfg destroyed */
int pirf_cfg_int_list(const pirf_config *cfg, const char *key, long *out, int max);
int pirf_cfg_real_list(const pirf_config *cfg, const char *key, double *out, int max);
/* Where the value came from: "default", "command line" or "file:line". */
const char *pirf_cfg_origin(const pirf_config *cfg, const char *key);
const char *pirf_cfg_deck_path(const pirf_config *cfg); /* NULL without a file */

/* The resolved deck as YAML text (malloc'd; caller frees). */
char *pirf_config_to_yaml(const pirf_config *cfg);
/* The schema as a Markdown table (for `pirf keys` and docs/). */
void pirf_config_print_schema(FILE *out, const pirf_cfg_spec *const *tables);

#endif
