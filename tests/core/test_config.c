/* Decks: typed values from a file, command-line overrides on top, defaults for the rest, and a
 * resolved deck that loads back to the same values. Error paths are tested through the binary
 * (tests/core.cmake); here the in-process contract. */
#include "pirf/check.h"
#include "pirf/config.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

static const pirf_cfg_spec schema[] = {
    {"grid.resolution", PIRF_CFG_INT, "128", 4, 4096, 0, 0, NULL, "points per side"},
    {"parallel.tiles", PIRF_CFG_INT_LIST, "[1, 1]", 1, 64, 2, 2, NULL, "tiles"},
    {"train.lr", PIRF_CFG_REAL, "1e-4", 0, 1, 0, 0, NULL, "learning rate"},
    {"train.sigmas", PIRF_CFG_REAL_LIST, "[0.002, 80]", 0, 1000, 1, 4, NULL, "sigmas"},
    {"train.ema", PIRF_CFG_BOOL, "false", 0, 0, 0, 0, NULL, "ema"},
    {"pde.name", PIRF_CFG_ENUM, "darcy", 0, 0, 0, 0, "darcy|poisson", "pde"},
    {"pde.darcy.note", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL, "a string"},
    {"output.dir", PIRF_CFG_STRING, "runs/x", 0, 0, 0, 0, NULL, "dir"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const pirf_cfg_spec *tables[] = {schema, NULL};
  const char *path = "test_config_deck.yaml";
  FILE *f = fopen(path, "w");
  fprintf(f, "grid:\n  resolution: 64\nparallel:\n  tiles: [2, 1]\ntrain:\n  ema: yes\n"
             "pde:\n  name: poisson\n  darcy:\n    note: 'say \"hi\"'\n");
  fclose(f);
  char *over[] = {"train.lr=3e-4", "parallel.tiles=[4,2]", "output.dir=runs/a b"};
  pirf_config *cfg = NULL;
  TEST_CHECK(pirf_config_load(&cfg, tables, path, 3, over) == 0, "load failed");
  TEST_CHECK(pirf_cfg_int(cfg, "grid.resolution") == 64, "file value");
  long tiles[2];
  TEST_CHECK(pirf_cfg_int_list(cfg, "parallel.tiles", tiles, 2) == 2 && tiles[0] == 4 && tiles[1] == 2,
             "override beats file: tiles %ld %ld", tiles[0], tiles[1]);
  TEST_CLOSE(pirf_cfg_real(cfg, "train.lr"), 3e-4, 0, 0, "override value");
  double sig[4];
  TEST_CHECK(pirf_cfg_real_list(cfg, "train.sigmas", sig, 4) == 2 && sig[1] == 80, "default list");
  TEST_CHECK(pirf_cfg_bool(cfg, "train.ema") == 1, "yes is true");
  TEST_CHECK(!strcmp(pirf_cfg_str(cfg, "pde.name"), "poisson"), "enum");
  TEST_CHECK(!strcmp(pirf_cfg_str(cfg, "pde.darcy.note"), "say \"hi\""), "string with quotes: %s",
             pirf_cfg_str(cfg, "pde.darcy.note"));
  TEST_CHECK(!strcmp(pirf_cfg_str(cfg, "output.dir"), "runs/a b"), "string override");
  TEST_CHECK(!strcmp(pirf_cfg_origin(cfg, "grid.resolution"), "test_config_deck.yaml:2"),
             "origin names file:line, got %s", pirf_cfg_origin(cfg, "grid.resolution"));
  TEST_CHECK(!strcmp(pirf_cfg_origin(cfg, "train.lr"), "command line"), "origin of override");
  TEST_CHECK(!strcmp(pirf_cfg_origin(cfg, "train.sigmas"), "default"), "origin of default");

  /* The resolved deck loads back to identical values. */
  char *yaml = pirf_config_to_yaml(cfg);
  f = fopen("test_config_resolved.yaml", "w");
  fputs(yaml, f);
  fclose(f);
  pirf_config *back = NULL;
  TEST_CHECK(pirf_config_load(&back, tables, "test_config_resolved.yaml", 0, NULL) == 0,
             "resolved deck does not load:\n%s", yaml);
  char *yaml2 = pirf_config_to_yaml(back);
  const char *body1 = strchr(yaml, '\n'), *body2 = strchr(yaml2, '\n');
  TEST_CHECK(body1 && body2 && !strcmp(body1, body2), "resolved deck is not a fixed point:\n%s\n---\n%s",
             yaml, yaml2);
  TEST_CHECK(!strcmp(pirf_cfg_str(back, "pde.darcy.note"), "say \"hi\""), "string survives");

  /* pirf_config_set checks like an override. */
  pirf_error_set_trace(0);
  TEST_CHECK(pirf_config_set(cfg, "grid.resolution", "2") == PIRF_ERR_USER, "range checked");
  TEST_CHECK(pirf_config_set(cfg, "grid.resolution", "32") == 0, "set works");
  TEST_CHECK(pirf_cfg_int(cfg, "grid.resolution") == 32, "set value");
  free(yaml);
  free(yaml2);
  pirf_config_destroy(&cfg);
  pirf_config_destroy(&back);
  int rc = test_finish("config_parses_typed_decks_and_overrides");
  MPI_Finalize();
  return rc;
}
