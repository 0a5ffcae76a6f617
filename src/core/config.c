/* Input decks: YAML via libyaml, checked against the typed schema (see pirf/config.h).
 *
 * The deck is loaded as a libyaml document and walked as nested mappings; each leaf's dotted path
 * must be a schema key. Values are kept both as canonical YAML text (for the resolved deck) and as
 * parsed numbers. Every rank parses the same file, so every rank reaches the same verdict; errors
 * are reported collectively (rank 0 prints). */
#include "pirf/config.h"

#include "pirf/check.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct {
  const pirf_cfg_spec *spec;
  char *text;                     /* canonical YAML text of the value */
  double num[PIRF_CFG_MAX_LIST];  /* numbers (ints exactly) and bools (0/1) */
  int n;                          /* list length (1 for scalars) */
  char origin[256];
  int set_in_deck;                /* to reject the same key twice in one file */
} entry;

struct pirf_config {
  entry *e;
  int n;
  char *path;
};

static const char *type_name(pirf_cfg_type t) {
  switch (t) {
  case PIRF_CFG_INT: return "an integer";
  case PIRF_CFG_REAL: return "a number";
  case PIRF_CFG_BOOL: return "true or false";
  case PIRF_CFG_STRING: return "a string";
  case PIRF_CFG_ENUM: return "one of the listed words";
  case PIRF_CFG_INT_LIST: return "a list of integers";
  case PIRF_CFG_REAL_LIST: return "a list of numbers";
  }
  return "?";
}

/* "accepted values" sentence for a spec, into buf. */
static const char *accepted(const pirf_cfg_spec *s, char *buf, size_t len) {
  switch (s->type) {
  case PIRF_CFG_ENUM: snprintf(buf, len, "one of: %s", s->choices); break;
  case PIRF_CFG_BOOL: snprintf(buf, len, "true or false"); break;
  case PIRF_CFG_STRING: snprintf(buf, len, "a string"); break;
  case PIRF_CFG_INT:
  case PIRF_CFG_REAL: snprintf(buf, len, "%s in [%g, %g]", type_name(s->type), s->min, s->max); break;
  case PIRF_CFG_INT_LIST:
  case PIRF_CFG_REAL_LIST: {
    int lo = s->min_len ? s->min_len : 1, hi = s->max_len ? s->max_len : PIRF_CFG_MAX_LIST;
    if (lo == hi)
      snprintf(buf, len, "%s of length %d, each in [%g, %g]", type_name(s->type), lo, s->min, s->max);
    else
      snprintf(buf, len, "%s of length %d to %d, each in [%g, %g]", type_name(s->type), lo, hi,
               s->min, s->max);
    break;
  }
  }
  return buf;
}

static entry *find(const pirf_config *cfg, const char *key) {
  for (int i = 0; i < cfg->n; i++)
    if (!strcmp(cfg->e[i].spec->key, key)) return &cfg->e[i];
  return NULL;
}

static int parse_bool(const char *s, double *v) {
  static const char *yes[] = {"true", "True", "TRUE", "yes", "on", "1"};
  static const char *no[] = {"false", "False", "FALSE", "no", "off", "0"};
  for (int i = 0; i < 6; i++) {
    if (!strcmp(s, yes[i])) { *v = 1; return 0; }
    if (!strcmp(s, no[i])) { *v = 0; return 0; }
  }
  return -1;
}

static int parse_number(const char *s, int integer, double *v) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  if (integer) {
    long x = strtol(s, &end, 10);
    if (*end || errno) return -1;
    *v = (double)x;
  } else {
    double x = strtod(s, &end);
    if (*end || errno || !isfinite(x)) return -1;
    *v = x;
  }
  return 0;
}

static int choice_ok(const char *choices, const char *word) {
  size_t n = strlen(word);
  const char *p = choices;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, word, n)) return 1;
    if (!bar) break;
    p = bar + 1;
  }
  return 0;
}

/* Check one scalar element against the spec; value into *v (numbers, bools). */
static int check_scalar(const pirf_cfg_spec *s, const char *where, const char *text, double *v) {
  char acc[512];
  pirf_cfg_type t = s->type == PIRF_CFG_INT_LIST ? PIRF_CFG_INT
                    : s->type == PIRF_CFG_REAL_LIST ? PIRF_CFG_REAL : s->type;
  switch (t) {
  case PIRF_CFG_INT:
  case PIRF_CFG_REAL:
    PIRF_USER_CHECK(!parse_number(text, t == PIRF_CFG_INT, v),
                    "%s: key '%s' expects %s, got '%s'. Accepted: %s", where, s->key,
                    type_name(t), text, accepted(s, acc, sizeof acc));
    PIRF_USER_CHECK(*v >= s->min && *v <= s->max,
                    "%s: key '%s' is out of range: %s. Accepted: %s", where, s->key, text,
                    accepted(s, acc, sizeof acc));
    break;
  case PIRF_CFG_BOOL:
    PIRF_USER_CHECK(!parse_bool(text, v), "%s: key '%s' expects true or false, got '%s'", where,
                    s->key, text);
    break;
  case PIRF_CFG_ENUM:
    PIRF_USER_CHECK(choice_ok(s->choices, text), "%s: key '%s' has an unknown value '%s'. Accepted: %s",
                    where, s->key, text, accepted(s, acc, sizeof acc));
    break;
  default: break;
  }
  return 0;
}

/* Assign a value given as a libyaml node to entry e. */
static int assign_node(entry *e, yaml_document_t *doc, yaml_node_t *node, const char *where) {
  const pirf_cfg_spec *s = e->spec;
  char acc[512];
  int is_list = s->type == PIRF_CFG_INT_LIST || s->type == PIRF_CFG_REAL_LIST;
  char buf[4096];
  size_t used = 0;
  if (node->type == YAML_MAPPING_NODE) {
    PIRF_USER_CHECK(0, "%s: key '%s' expects %s, got a mapping. Accepted: %s", where, s->key,
                    type_name(s->type), accepted(s, acc, sizeof acc));
  }
  if (is_list) {
    int lo = s->min_len ? s->min_len : 1, hi = s->max_len ? s->max_len : PIRF_CFG_MAX_LIST;
    int n = 0;
    used += (size_t)snprintf(buf + used, sizeof buf - used, "[");
    if (node->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *it = node->data.sequence.items.start;
           it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        PIRF_USER_CHECK(item && item->type == YAML_SCALAR_NODE,
                        "%s: key '%s' expects %s; its elements must be plain numbers", where, s->key,
                        type_name(s->type));
        PIRF_USER_CHECK(n < hi, "%s: key '%s' has too many elements. Accepted: %s", where, s->key,
                        accepted(s, acc, sizeof acc));
        const char *t = (const char *)item->data.scalar.value;
        PIRF_TRY(check_scalar(s, where, t, &e->num[n]));
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", n ? ", " : "", t);
        n++;
      }
    } else { /* a scalar where a list is expected: accept a one-element list */
      const char *t = (const char *)node->data.scalar.value;
      PIRF_TRY(check_scalar(s, where, t, &e->num[0]));
      used += (size_t)snprintf(buf + used, sizeof buf - used, "%s", t);
      n = 1;
    }
    snprintf(buf + used, sizeof buf - used, "]");
    PIRF_USER_CHECK(n >= lo && n <= hi, "%s: key '%s' has %d element%s. Accepted: %s", where,
                    s->key, n, n == 1 ? "" : "s", accepted(s, acc, sizeof acc));
    e->n = n;
  } else {
    PIRF_USER_CHECK(node->type == YAML_SCALAR_NODE, "%s: key '%s' expects %s, got a list. Accepted: %s",
                    where, s->key, type_name(s->type), accepted(s, acc, sizeof acc));
    const char *t = (const char *)node->data.scalar.value;
    PIRF_TRY(check_scalar(s, where, t, &e->num[0]));
    if (s->type == PIRF_CFG_STRING) {
      /* quote so the resolved deck parses back to the same string */
      used = (size_t)snprintf(buf, sizeof buf, "\"");
      for (const char *c = t; *c && used < sizeof buf - 3; c++) {
        if (*c == '"' || *c == '\\') buf[used++] = '\\';
        buf[used++] = *c;
      }
      snprintf(buf + used, sizeof buf - used, "\"");
    } else if (s->type == PIRF_CFG_BOOL) {
      snprintf(buf, sizeof buf, "%s", e->num[0] ? "true" : "false");
    } else {
      snprintf(buf, sizeof buf, "%s", t);
    }
    e->n = 1;
  }
  free(e->text);
  e->text = strdup(buf);
  PIRF_CHECK(e->text, "out of memory copying a deck value");
  snprintf(e->origin, sizeof e->origin, "%s", where);
  return 0;
}

/* Parse YAML text into a document. */
static int load_document(yaml_document_t *doc, const unsigned char *text, size_t len,
                         const char *what) {
  yaml_parser_t parser;
  PIRF_CHECK(yaml_parser_initialize(&parser), "cannot initialize the YAML parser");
  yaml_parser_set_input_string(&parser, text, len);
  int ok = yaml_parser_load(&parser, doc);
  if (!ok) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s:%zu:%zu: YAML syntax error: %s %s", what,
             parser.problem_mark.line + 1, parser.problem_mark.column + 1,
             parser.problem ? parser.problem : "", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    PIRF_USER_CHECK(0, "%s. Fix the deck's syntax (indentation, ':' after each key)", msg);
  }
  yaml_parser_delete(&parser);
  return 0;
}

/* Keys known under a section prefix, for the "unknown key" message. */
static void known_under(const pirf_config *cfg, const char *prefix, char *buf, size_t len) {
  size_t used = 0, pl = strlen(prefix);
  buf[0] = 0;
  for (int i = 0; i < cfg->n && used < len - 64; i++) {
    const char *k = cfg->e[i].spec->key;
    if (pl && (strncmp(k, prefix, pl) || k[pl] != '.')) continue;
    const char *rest = pl ? k + pl + 1 : k;
    size_t rl = strcspn(rest, ".");
    /* skip duplicates of the same next component */
    int dup = 0;
    for (int j = 0; j < i; j++) {
      const char *kj = cfg->e[j].spec->key;
      if (pl && (strncmp(kj, prefix, pl) || kj[pl] != '.')) continue;
      const char *rj = pl ? kj + pl + 1 : kj;
      if (strcspn(rj, ".") == rl && !strncmp(rj, rest, rl)) { dup = 1; break; }
    }
    if (dup) continue;
    used += (size_t)snprintf(buf + used, len - used, "%s%.*s", used ? ", " : "", (int)rl, rest);
  }
}

static int walk_mapping(pirf_config *cfg, yaml_document_t *doc, yaml_node_t *map,
                        const char *prefix, const char *file) {
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    yaml_node_t *v = yaml_document_get_node(doc, p->value);
    char where[512];
    snprintf(where, sizeof where, "%s:%zu", file, k->start_mark.line + 1);
    PIRF_USER_CHECK(k->type == YAML_SCALAR_NODE, "%s: keys must be plain words", where);
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", (const char *)k->data.scalar.value);
    entry *e = find(cfg, path);
    if (e) {
      PIRF_USER_CHECK(!e->set_in_deck, "%s: key '%s' is given twice in the deck (first at %s)",
                      where, path, e->origin);
      PIRF_TRY(assign_node(e, doc, v, where));
      e->set_in_deck = 1;
      continue;
    }
    /* Not a leaf: must be a known section. */
    char known[2048];
    int is_section = 0;
    size_t pl = strlen(path);
    for (int i = 0; i < cfg->n; i++)
      if (!strncmp(cfg->e[i].spec->key, path, pl) && cfg->e[i].spec->key[pl] == '.') is_section = 1;
    if (!is_section) {
      known_under(cfg, prefix, known, sizeof known);
      PIRF_USER_CHECK(0, "%s: unknown key '%s'. Known keys%s%s: %s", where, path,
                      *prefix ? " in section " : " at the top level", prefix, known);
    }
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0) continue; /* empty section */
    known_under(cfg, path, known, sizeof known);
    PIRF_USER_CHECK(v->type == YAML_MAPPING_NODE,
                    "%s: '%s' is a section and needs keys under it (one of: %s)", where, path, known);
    PIRF_TRY(walk_mapping(cfg, doc, v, path, file));
  }
  return 0;
}

static int load_file(pirf_config *cfg, const char *path) {
  FILE *f = fopen(path, "rb");
  PIRF_USER_CHECK(f, "cannot open the input deck '%s': %s. Give the path of a YAML deck, for "
                     "example input/quickstart.yaml", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *text = malloc((size_t)len + 1);
  size_t got = text ? fread(text, 1, (size_t)len, f) : 0;
  fclose(f);
  PIRF_CHECK(text && got == (size_t)len, "cannot read the input deck '%s'", path);
  yaml_document_t doc;
  int err = load_document(&doc, text, (size_t)len, path);
  free(text);
  if (err) return err;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    if (root->type != YAML_MAPPING_NODE) {
      yaml_document_delete(&doc);
      PIRF_USER_CHECK(0, "%s: the deck must be a mapping of sections (pde:, grid:, ...)", path);
    }
    err = walk_mapping(cfg, &doc, root, "", path);
  }
  yaml_document_delete(&doc);
  return err;
}

static int set_from_text(pirf_config *cfg, const char *key, const char *value, const char *where) {
  entry *e = find(cfg, key);
  if (!e) {
    char known[2048], prefix[256];
    const char *dot = strrchr(key, '.');
    snprintf(prefix, sizeof prefix, "%.*s", dot ? (int)(dot - key) : 0, key);
    known_under(cfg, prefix, known, sizeof known);
    PIRF_USER_CHECK(0, "%s: unknown key '%s'. Known keys%s%s: %s", where, key,
                    *prefix ? " in section " : " at the top level", prefix, known);
  }
  yaml_document_t doc;
  PIRF_TRY(load_document(&doc, (const unsigned char *)value, strlen(value), where));
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  int err;
  if (!root) {
    yaml_document_delete(&doc);
    PIRF_USER_CHECK(0, "%s: key '%s' has an empty value", where, key);
  }
  err = assign_node(e, &doc, root, where);
  yaml_document_delete(&doc);
  return err;
}

int pirf_config_set(pirf_config *cfg, const char *key, const char *value) {
  return set_from_text(cfg, key, value, "command line");
}

int pirf_config_load(pirf_config **out, const pirf_cfg_spec *const *tables, const char *path,
                     int noverrides, char *const *overrides) {
  pirf_config *cfg = calloc(1, sizeof *cfg);
  PIRF_CHECK(cfg, "out of memory");
  *out = cfg;
  int total = 0;
  for (int t = 0; tables[t]; t++)
    for (const pirf_cfg_spec *s = tables[t]; s->key; s++) total++;
  cfg->e = calloc((size_t)total, sizeof(entry));
  PIRF_CHECK(cfg->e, "out of memory");
  for (int t = 0; tables[t]; t++)
    for (const pirf_cfg_spec *s = tables[t]; s->key; s++) {
      for (int i = 0; i < cfg->n; i++)
        PIRF_CHECK(strcmp(cfg->e[i].spec->key, s->key), "schema defines '%s' twice", s->key);
      cfg->e[cfg->n++].spec = s;
    }
  /* defaults first (a wrong default is a programming error, caught by the tests) */
  for (int i = 0; i < cfg->n; i++) {
    char where[300];
    snprintf(where, sizeof where, "default of %s", cfg->e[i].spec->key);
    PIRF_TRY(set_from_text(cfg, cfg->e[i].spec->key, cfg->e[i].spec->def, where));
    snprintf(cfg->e[i].origin, sizeof cfg->e[i].origin, "default");
  }
  if (path) {
    cfg->path = strdup(path);
    PIRF_TRY(load_file(cfg, path));
  }
  for (int i = 0; i < noverrides; i++) {
    const char *eq = strchr(overrides[i], '=');
    PIRF_USER_CHECK(eq && eq != overrides[i],
                    "command line: '%s' is not an override; write key.sub=value, for example "
                    "grid.resolution=64", overrides[i]);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - overrides[i]), overrides[i]);
    PIRF_TRY(set_from_text(cfg, key, eq + 1, "command line"));
  }
  return 0;
}

void pirf_config_destroy(pirf_config **cfg) {
  if (!*cfg) return;
  for (int i = 0; i < (*cfg)->n; i++) free((*cfg)->e[i].text);
  free((*cfg)->e);
  free((*cfg)->path);
  free(*cfg);
  *cfg = NULL;
}

static const entry *get(const pirf_config *cfg, const char *key, int want_a, int want_b) {
  const entry *e = find(cfg, key);
  if (!e || ((int)e->spec->type != want_a && (int)e->spec->type != want_b)) {
    fprintf(stderr, "pirf: internal error: deck key '%s' %s\n", key,
            e ? "read with the wrong type" : "is not in the schema");
    abort();
  }
  return e;
}

long pirf_cfg_int(const pirf_config *cfg, const char *key) {
  return (long)get(cfg, key, PIRF_CFG_INT, PIRF_CFG_INT)->num[0];
}
double pirf_cfg_real(const pirf_config *cfg, const char *key) {
  return get(cfg, key, PIRF_CFG_REAL, PIRF_CFG_INT)->num[0];
}
int pirf_cfg_bool(const pirf_config *cfg, const char *key) {
  return get(cfg, key, PIRF_CFG_BOOL, PIRF_CFG_BOOL)->num[0] != 0;
}
const char *pirf_cfg_str(const pirf_config *cfg, const char *key) {
  const entry *e = get(cfg, key, PIRF_CFG_STRING, PIRF_CFG_ENUM);
  static _Thread_local char buf[4][1024];
  static _Thread_local int slot = 0;
  if (e->spec->type == PIRF_CFG_ENUM) return e->text;
  /* undo the quoting of assign_node */
  char *b = buf[slot++ & 3];
  size_t j = 0;
  for (const char *c = e->text + 1; *c && c[1] && j < sizeof buf[0] - 1; c++) {
    if (*c == '\\' && c[1] && c[2]) c++;
    b[j++] = *c;
  }
  b[j] = 0;
  return b;
}
int pirf_cfg_int_list(const pirf_config *cfg, const char *key, long *out, int max) {
  const entry *e = get(cfg, key, PIRF_CFG_INT_LIST, PIRF_CFG_INT_LIST);
  for (int i = 0; i < e->n && i < max; i++) out[i] = (long)e->num[i];
  return e->n;
}
int pirf_cfg_real_list(const pirf_config *cfg, const char *key, double *out, int max) {
  const entry *e = get(cfg, key, PIRF_CFG_REAL_LIST, PIRF_CFG_INT_LIST);
  for (int i = 0; i < e->n && i < max; i++) out[i] = e->num[i];
  return e->n;
}
const char *pirf_cfg_origin(const pirf_config *cfg, const char *key) {
  const entry *e = find(cfg, key);
  return e ? e->origin : "unknown";
}
const char *pirf_cfg_deck_path(const pirf_config *cfg) { return cfg->path; }

/* ---- resolved deck as YAML: sections in order of first appearance, nested by dots ---------- */

typedef struct {
  char *buf;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->buf && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = (b->cap + (size_t)n + 1) * 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) return;
    b->buf = nb;
    b->cap = cap;
  }
}

static void emit(const pirf_config *cfg, sbuf *b, const char *prefix, int depth) {
  size_t pl = strlen(prefix);
  for (int i = 0; i < cfg->n; i++) {
    const char *k = cfg->e[i].spec->key;
    if (pl && (strncmp(k, prefix, pl) || k[pl] != '.')) continue;
    const char *rest = pl ? k + pl + 1 : k;
    size_t rl = strcspn(rest, ".");
    int seen = 0;
    for (int j = 0; j < i && !seen; j++) {
      const char *kj = cfg->e[j].spec->key;
      if (pl && (strncmp(kj, prefix, pl) || kj[pl] != '.')) continue;
      const char *rj = pl ? kj + pl + 1 : kj;
      seen = strcspn(rj, ".") == rl && !strncmp(rj, rest, rl);
    }
    if (seen) continue;
    if (rest[rl] == 0) {
      sb_printf(b, "%*s%s: %s\n", 2 * depth, "", rest, cfg->e[i].text);
    } else {
      char sub[512];
      snprintf(sub, sizeof sub, "%s%s%.*s", prefix, pl ? "." : "", (int)rl, rest);
      sb_printf(b, "%*s%.*s:\n", 2 * depth, "", (int)rl, rest);
      emit(cfg, b, sub, depth + 1);
    }
  }
}

char *pirf_config_to_yaml(const pirf_config *cfg) {
  sbuf b = {0};
  sb_printf(&b, "# resolved pirf deck%s%s\n", cfg->path ? " from " : "", cfg->path ? cfg->path : "");
  emit(cfg, &b, "", 0);
  return b.buf;
}

void pirf_config_print_schema(FILE *out, const pirf_cfg_spec *const *tables) {
  fprintf(out, "| key | type | default | accepted | meaning |\n|---|---|---|---|---|\n");
  for (int t = 0; tables[t]; t++)
    for (const pirf_cfg_spec *s = tables[t]; s->key; s++) {
      char acc[512], esc[1024];
      accepted(s, acc, sizeof acc);
      size_t j = 0; /* a '|' inside a Markdown table cell must be escaped */
      for (const char *c = acc; *c && j < sizeof esc - 2; c++) {
        if (*c == '|') esc[j++] = '\\';
        esc[j++] = *c;
      }
      esc[j] = 0;
      fprintf(out, "| `%s` | %s | `%s` | %s | %s |\n", s->key, type_name(s->type), s->def, esc,
              s->help);
    }
}
