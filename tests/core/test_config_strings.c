/* Deck strings are never cut (issue 9): a value up to PIRF_CFG_STRING_MAX characters, from a deck
 * or from the command line, comes back from pirf_cfg_str byte for byte (quotes, backslashes,
 * newlines, tabs, control characters and UTF-8 included), survives the resolved deck, and one
 * character more is refused with a user error; a spec's max narrows the limit. The origin of a
 * value in a deck with a long path is the whole path. Also the deck-level refusals that have no
 * message to check here: a repeated override and a second YAML document return a user error and
 * leave nothing half-set. Every rank loads the same deck (rank 0 reads it, the others receive it),
 * so the test runs at 1 and 2 ranks. */
#include "pirf/check.h"
#include "pirf/config.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const pirf_cfg_spec schema[] = {
    {"output.dir", PIRF_CFG_STRING, "runs/x", 0, 0, 0, 0, NULL, "dir"},
    {"data.path", PIRF_CFG_STRING, "\"\"", 0, 0, 0, 0, NULL, "path"},
    {"data.tag", PIRF_CFG_STRING, "\"\"", 0, 8, 0, 0, NULL, "at most 8 characters"},
    {"grid.resolution", PIRF_CFG_INT, "128", 4, 4096, 0, 0, NULL, "points per side"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* A string of n characters with every awkward kind of byte in it. */
static char *awkward(size_t n) {
  static const char pieces[] = "ab\"c\\d\ne\tf\x01g h:#{}[]'\xc3\xa9";
  char *s = malloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = pieces[i % (sizeof pieces - 1)];
  s[n] = 0;
  /* do not end inside the two-byte UTF-8 character */
  if (n && (unsigned char)s[n - 1] == 0xc3) s[n - 1] = 'z';
  return s;
}

/* The YAML double-quoted form of s (what a user would write in a deck or on the command line). */
static char *quoted(const char *s) {
  size_t n = strlen(s);
  char *q = malloc(4 * n + 3), *p = q;
  *p++ = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { *p++ = '\\'; *p++ = (char)c; }
    else if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
    else if (c == '\t') { *p++ = '\\'; *p++ = 't'; }
    else if (c < 0x20) p += sprintf(p, "\\x%02x", c);
    else *p++ = (char)c;
  }
  *p++ = '"';
  *p = 0;
  return q;
}

static void write_file(const char *path, const char *text) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  pirf_error_set_trace(0);
  const pirf_cfg_spec *tables[] = {schema, NULL};
  const size_t L = PIRF_CFG_STRING_MAX;

  /* 1. the longest accepted string, on the command line, at full length */
  char *s = awkward(L), *q = quoted(s);
  char *arg = malloc(strlen(q) + 16);
  sprintf(arg, "output.dir=%s", q);
  char *over[] = {arg};
  pirf_config *cfg = NULL;
  TEST_CHECK(pirf_config_load(&cfg, tables, NULL, 1, over) == 0, "a %zu-character override is refused", L);
  const char *got = cfg ? pirf_cfg_str(cfg, "output.dir") : "";
  TEST_CHECK(strlen(got) == L && !memcmp(got, s, L), "override of %zu characters came back as %zu",
             L, strlen(got));

  /* 2. ... and through the resolved deck (the deck every output file stores) */
  char *yaml = cfg ? pirf_config_to_yaml(cfg) : NULL;
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char resolved[64];
  snprintf(resolved, sizeof resolved, "test_config_strings_resolved.yaml");
  if (yaml) write_file(resolved, yaml);
  pirf_config *back = NULL;
  TEST_CHECK(yaml && pirf_config_load(&back, tables, resolved, 0, NULL) == 0, "resolved deck does not load");
  got = back ? pirf_cfg_str(back, "output.dir") : "";
  TEST_CHECK(strlen(got) == L && !memcmp(got, s, L), "resolved deck gave %zu characters, want %zu",
             strlen(got), L);
  pirf_config_destroy(&back);
  free(yaml);

  /* 3. a 1,099-character value in a deck (the case) whose own path is long: the value and
   *    the origin (file:line) are whole */
  char dir[600], ds[240];
  memset(ds, 'd', 230);
  ds[230] = 0;
  snprintf(dir, sizeof dir, "test_config_strings_%s", ds);
  if (rank == 0) mkdir(dir, 0775);
  char *long_path = malloc(2000);
  snprintf(long_path, 2000, "%s/%s/test_config_strings_deck.yaml", dir, dir);
  if (rank == 0) {
    char sub[1300];
    snprintf(sub, sizeof sub, "%s/%s", dir, dir);
    mkdir(sub, 0775);
  }
  char *v = awkward(1099), *vq = quoted(v);
  char *deck = malloc(strlen(vq) + 64);
  sprintf(deck, "grid:\n  resolution: 64\ndata:\n  path: %s\n", vq);
  write_file(long_path, deck);
  pirf_config *d = NULL;
  TEST_CHECK(pirf_config_load(&d, tables, long_path, 0, NULL) == 0, "deck with a 1099-character value refused");
  got = d ? pirf_cfg_str(d, "data.path") : "";
  TEST_CHECK(strlen(got) == 1099 && !strcmp(got, v), "1099-character data.path came back as %zu",
             strlen(got));
  char want_origin[1300];
  snprintf(want_origin, sizeof want_origin, "%s:4", long_path);
  TEST_CHECK(d && !strcmp(pirf_cfg_origin(d, "data.path"), want_origin),
             "origin cut: %zu characters, want %zu", d ? strlen(pirf_cfg_origin(d, "data.path")) : 0,
             strlen(want_origin));
  /* a value handed out stays valid while other keys are read */
  const char *keep = d ? pirf_cfg_str(d, "data.path") : "";
  for (int i = 0; i < 8 && d; i++) (void)pirf_cfg_str(d, i % 2 ? "output.dir" : "data.tag");
  TEST_CHECK(!strcmp(keep, v), "a string returned earlier changed after more reads");
  pirf_config_destroy(&d);

  /* 4. one character more is refused, from the command line and from a deck; a refused set leaves
   *    the old value */
  char *s1 = awkward(L + 1), *q1 = quoted(s1);
  TEST_CHECK(cfg && pirf_config_set(cfg, "output.dir", q1) == PIRF_ERR_USER,
             "a %zu-character value was accepted", L + 1);
  got = cfg ? pirf_cfg_str(cfg, "output.dir") : "";
  TEST_CHECK(strlen(got) == L, "a refused value changed the key (now %zu characters)", strlen(got));
  char *deck1 = malloc(strlen(q1) + 64);
  sprintf(deck1, "output:\n  dir: %s\n", q1);
  write_file("test_config_strings_long.yaml", deck1);
  pirf_config *r = NULL;
  TEST_CHECK(pirf_config_load(&r, tables, "test_config_strings_long.yaml", 0, NULL) == PIRF_ERR_USER,
             "a deck with a %zu-character value was accepted", L + 1);
  pirf_config_destroy(&r);

  /* 5. a spec's max narrows the limit */
  TEST_CHECK(cfg && pirf_config_set(cfg, "data.tag", "abcdefgh") == 0, "8 characters refused");
  TEST_CHECK(cfg && pirf_config_set(cfg, "data.tag", "abcdefghi") == PIRF_ERR_USER, "9 characters accepted");
  TEST_CHECK(cfg && !strcmp(pirf_cfg_str(cfg, "data.tag"), "abcdefgh"), "tag changed");
  pirf_config_destroy(&cfg);

  /* 6. a repeated override and a second YAML document are refused */
  char *twice[] = {"grid.resolution=16", "grid.resolution=32"};
  TEST_CHECK(pirf_config_load(&r, tables, NULL, 2, twice) == PIRF_ERR_USER, "repeated override accepted");
  pirf_config_destroy(&r);
  write_file("test_config_strings_two.yaml", "grid:\n  resolution: 16\n---\ngrid:\n  resolution: 32\n");
  TEST_CHECK(pirf_config_load(&r, tables, "test_config_strings_two.yaml", 0, NULL) == PIRF_ERR_USER,
             "second YAML document accepted");
  pirf_config_destroy(&r);
  /* an empty document after '---' carries no keys and is harmless */
  write_file("test_config_strings_end.yaml", "grid:\n  resolution: 16\n---\n");
  TEST_CHECK(pirf_config_load(&r, tables, "test_config_strings_end.yaml", 0, NULL) == 0,
             "a trailing '---' was refused");
  pirf_config_destroy(&r);

  free(s); free(q); free(arg); free(long_path); free(v); free(vq); free(deck); free(s1); free(q1);
  free(deck1);
  int rc = test_finish("config_keeps_strings_at_full_length");
  MPI_Finalize();
  return rc;
}
