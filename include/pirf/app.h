/* The subcommands of the pirf executable. Each takes the deck path and the remaining arguments
 * (overrides key=value and PETSc options) and returns 0 or an error code. */
#ifndef PIRF_APP_H
#define PIRF_APP_H

int pirf_cmd_generate(const char *deck, int nargs, char **args);
int pirf_cmd_info(const char *deck, int nargs, char **args);
int pirf_cmd_bench(const char *deck, int nargs, char **args);

#endif
