/* Input decks: YAML via libyaml, checked against the typed schema (see pirf/config.h).
 *
 * The deck is loaded as a libyaml document and walked as nested mappings; each leaf's dotted path
 * must be a schema key. Values are kept both as canonical YAML text (for the resolved deck) and as
 * parsed numbers. Every rank parses the same file, so every rank reaches the same verdict; errors
 * are reported collectively (rank 0 prints). */
#include "pirf/config.h"

#include "pirf/check.h"
#include "pirf/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

typedef struct {
  const pirf_cfg_spec *spec;
  char *text;                     /* canonical YAML text of the value */
  char *str;                      /* STRING: the value itself, at full length */
  double num[PIRF_CFG_MAX_LIST];  /* numbers (ints exactly) and bools (0/1) */
  int n;                          /* list length (1 for scalars) */
  char *origin;                   /* "default", "command line" or "file:line" */
  int set_in_deck;                /* to reject the same key twice in one file */
  int override;                   /* 1 + index of the command-line override that set it, or 0 */
} entry;

struct pirf_config {
  entry *e;
  int n;
  char *path;
};

/* ---- growing strings: values, messages and the resolved deck are never cut to a buffer ------- */

static void sb_putc(pirf_sbuf *b, char c) { pirf_sbuf_printf(b, "%c", c); }

/* A malloc'd copy of a printf result (NULL when out of memory). */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

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

static size_t string_limit(const pirf_cfg_spec *s) {
  return s->max > 0 ? (size_t)s->max : (size_t)PIRF_CFG_STRING_MAX;
}

/* "accepted values" sentence for a spec, into buf (schema text only: the buffer holds it). */
static const char *accepted(const pirf_cfg_spec *s, char *buf, size_t len) {
  switch (s->type) {
  case PIRF_CFG_ENUM: snprintf(buf, len, "one of: %s", s->choices); break;
  case PIRF_CFG_BOOL: snprintf(buf, len, "true or false"); break;
  case PIRF_CFG_STRING: snprintf(buf, len, "a string of at most %zu characters", string_limit(s)); break;
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

/* A string as a YAML double-quoted scalar that parses back to the same bytes. */
static void quote_yaml(pirf_sbuf *b, const char *s, size_t len) {
  sb_putc(b, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      sb_putc(b, '\\');
      sb_putc(b, (char)c);
    } else if (c == '\n') {
      pirf_sbuf_printf(b, "\\n");
    } else if (c == '\t') {
      pirf_sbuf_printf(b, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      pirf_sbuf_printf(b, "\\x%02x", c);
    } else {
      sb_putc(b, (char)c);
    }
  }
  sb_putc(b, '"');
}

/* Assign a value given as a libyaml node to entry e. Every check comes first, so a refused value
 * leaves the entry as it was. */
static int assign_node(entry *e, yaml_document_t *doc, yaml_node_t *node, const char *where) {
  const pirf_cfg_spec *s = e->spec;
  char acc[512];
  int is_list = s->type == PIRF_CFG_INT_LIST || s->type == PIRF_CFG_REAL_LIST;
  double num[PIRF_CFG_MAX_LIST];
  int n = 0;
  if (node->type == YAML_MAPPING_NODE) {
    PIRF_USER_CHECK(0, "%s: key '%s' expects %s, got a mapping. Accepted: %s", where, s->key,
                    type_name(s->type), accepted(s, acc, sizeof acc));
  }
  if (is_list) {
    int lo = s->min_len ? s->min_len : 1, hi = s->max_len ? s->max_len : PIRF_CFG_MAX_LIST;
    if (node->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *it = node->data.sequence.items.start;
           it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        PIRF_USER_CHECK(item && item->type == YAML_SCALAR_NODE,
                        "%s: key '%s' expects %s; its elements must be plain numbers", where, s->key,
                        type_name(s->type));
        PIRF_USER_CHECK(n < hi, "%s: key '%s' has too many elements. Accepted: %s", where, s->key,
                        accepted(s, acc, sizeof acc));
        PIRF_TRY(check_scalar(s, where, (const char *)item->data.scalar.value, &num[n]));
        n++;
      }
    } else { /* a scalar where a list is expected: accept a one-element list */
      const char *t = (const char *)node->data.scalar.value;
      /* "2,2" or "2 2": the user meant a list but wrote it without brackets */
      PIRF_USER_CHECK(!strpbrk(t, ", ;"),
                      "%s: key '%s' expects %s, written in brackets: %s=[%s] on the command line, "
                      "or '%s: [%s]' in a deck; got '%s'. Accepted: %s", where, s->key,
                      type_name(s->type), s->key, t, strrchr(s->key, '.') ? strrchr(s->key, '.') + 1
                                                                          : s->key,
                      t, t, accepted(s, acc, sizeof acc));
      PIRF_TRY(check_scalar(s, where, t, &num[0]));
      n = 1;
    }
    PIRF_USER_CHECK(n >= lo && n <= hi, "%s: key '%s' has %d element%s. Accepted: %s", where,
                    s->key, n, n == 1 ? "" : "s", accepted(s, acc, sizeof acc));
  } else {
    PIRF_USER_CHECK(node->type == YAML_SCALAR_NODE, "%s: key '%s' expects %s, got a list. Accepted: %s",
                    where, s->key, type_name(s->type), accepted(s, acc, sizeof acc));
    const char *t = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    if (s->type == PIRF_CFG_STRING) {
      PIRF_USER_CHECK(strlen(t) == len, "%s: key '%s' contains a NUL character", where, s->key);
      PIRF_USER_CHECK(len <= string_limit(s),
                      "%s: key '%s' is %zu characters long; the longest value it accepts is %zu "
                      "characters (pirf builds file names from it)", where, s->key, len,
                      string_limit(s));
    }
    PIRF_TRY(check_scalar(s, where, t, &num[0]));
    n = 1;
  }

  /* accepted: build the canonical text and commit */
  pirf_sbuf b = {0};
  char *str = NULL;
  if (is_list) {
    sb_putc(&b, '[');
    if (node->type == YAML_SEQUENCE_NODE) {
      int i = 0;
      for (yaml_node_item_t *it = node->data.sequence.items.start;
           it < node->data.sequence.items.top; it++, i++)
        pirf_sbuf_printf(&b, "%s%s", i ? ", " : "",
                  (const char *)yaml_document_get_node(doc, *it)->data.scalar.value);
    } else {
      pirf_sbuf_printf(&b, "%s", (const char *)node->data.scalar.value);
    }
    sb_putc(&b, ']');
  } else if (s->type == PIRF_CFG_STRING) {
    /* quoted so the resolved deck parses back to the same string */
    quote_yaml(&b, (const char *)node->data.scalar.value, node->data.scalar.length);
    str = strdup((const char *)node->data.scalar.value);
  } else if (s->type == PIRF_CFG_BOOL) {
    pirf_sbuf_printf(&b, "%s", num[0] ? "true" : "false");
  } else {
    pirf_sbuf_printf(&b, "%s", (const char *)node->data.scalar.value);
  }
  char *origin = strdup(where);
  if (b.oom || !b.buf || !origin || (s->type == PIRF_CFG_STRING && !str)) {
    free(b.buf);
    free(str);
    free(origin);
    PIRF_CHECK(0, "out of memory copying the value of deck key '%s'", s->key);
  }
  free(e->text);
  free(e->str);
  free(e->origin);
  e->text = b.buf;
  e->str = str;
  e->origin = origin;
  memcpy(e->num, num, sizeof(double) * (size_t)n);
  e->n = n;
  return 0;
}

/* Parse YAML text into a document; a second document in the same text is refused (pirf reads
 * one, and would silently ignore the rest). */
static int load_document(yaml_document_t *doc, const unsigned char *text, size_t len,
                         const char *what) {
  yaml_parser_t parser;
  PIRF_CHECK(yaml_parser_initialize(&parser), "cannot initialize the YAML parser");
  yaml_parser_set_input_string(&parser, text, len);
  int ok = yaml_parser_load(&parser, doc);
  yaml_document_t next;
  int second = 0, more = 0;
  size_t second_line = 0;
  if (ok) {
    more = yaml_parser_load(&parser, &next);
    if (more) {
      yaml_node_t *root = yaml_document_get_root_node(&next);
      second = root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0);
      second_line = next.start_mark.line + 1;
      yaml_document_delete(&next);
    } else {
      ok = 0; /* a syntax error in a later document */
      yaml_document_delete(doc);
    }
  }
  if (!ok) {
    char *msg = str_printf("%s:%zu:%zu: YAML syntax error: %s %s", what,
                           parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                           parser.problem ? parser.problem : "", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    pirf_error_report(__FILE__, __LINE__, __func__, 1,
                      "%s. Fix the deck's syntax (indentation, ':' after each key)",
                      msg ? msg : what);
    free(msg);
    return PIRF_ERR_USER;
  }
  yaml_parser_delete(&parser);
  if (second) {
    yaml_document_delete(doc);
    PIRF_USER_CHECK(0, "%s:%zu: a second YAML document starts here (after a '---' line); a deck "
                       "is one document: remove the '---' line or split the decks into two files",
                    what, second_line);
  }
  return 0;
}

/* The distinct next components of the keys under a section prefix ("" = the top level). */
static void known_under(const pirf_config *cfg, const char *prefix, pirf_sbuf *b) {
  size_t pl = strlen(prefix);
  int count = 0;
  for (int i = 0; i < cfg->n; i++) {
    const char *k = cfg->e[i].spec->key;
    if (pl && (strncmp(k, prefix, pl) || k[pl] != '.')) continue;
    const char *rest = pl ? k + pl + 1 : k;
    size_t rl = strcspn(rest, ".");
    int dup = 0;
    for (int j = 0; j < i; j++) {
      const char *kj = cfg->e[j].spec->key;
      if (pl && (strncmp(kj, prefix, pl) || kj[pl] != '.')) continue;
      const char *rj = pl ? kj + pl + 1 : kj;
      if (strcspn(rj, ".") == rl && !strncmp(rj, rest, rl)) { dup = 1; break; }
    }
    if (dup) continue;
    pirf_sbuf_printf(b, "%s%.*s", count++ ? ", " : "", (int)rl, rest);
  }
}

/* Whether `name` (its first len characters) is a section: some key starts with "name.". */
static int is_section(const pirf_config *cfg, const char *name, size_t len) {
  if (!len) return 1;
  for (int i = 0; i < cfg->n; i++) {
    const char *k = cfg->e[i].spec->key;
    if (!strncmp(k, name, len) && k[len] == '.') return 1;
  }
  return 0;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 256 || lb > 256) return (size_t)-1;
  size_t row[257];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      if (up + 1 < best) best = up + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static const char *last_component(const char *key) {
  const char *dot = strrchr(key, '.');
  return dot ? dot + 1 : key;
}

/* " Did you mean 'pretrain.lr' or 'finetune.lr'?": the keys that end in the same word, else the
 * nearest keys by edit distance when they are near enough to be a typo. */
static void suggest(const pirf_config *cfg, const char *key, pirf_sbuf *b) {
  const char *last = last_component(key);
  int idx[4], n = 0;
  for (int i = 0; i < cfg->n && n < 4; i++)
    if (!strcmp(last_component(cfg->e[i].spec->key), last)) idx[n++] = i;
  if (!n) {
    size_t best = (size_t)-1;
    for (int i = 0; i < cfg->n; i++) {
      size_t d = edit_distance(key, cfg->e[i].spec->key);
      if (d < best) {
        best = d;
        n = 0;
      }
      if (d == best && n < 4) idx[n++] = i;
    }
    size_t len = strlen(key);
    if (best > (len < 12 ? 2 : len / 4)) n = 0;
  }
  for (int i = 0; i < n; i++)
    pirf_sbuf_printf(b, "%s'%s'", i == 0 ? " Did you mean " : i == n - 1 ? " or " : ", ",
              cfg->e[idx[i]].spec->key);
  if (n) pirf_sbuf_printf(b, "?");
}

/* The "unknown key" error for a dotted key: names the deepest section of it that exists, lists
 * what that section holds, and suggests the nearest keys. */
static int unknown_key(const pirf_config *cfg, const char *where, const char *key) {
  size_t sec = 0; /* length of the longest prefix of key that is a section */
  for (const char *d = strchr(key, '.'); d; d = strchr(d + 1, '.'))
    if (is_section(cfg, key, (size_t)(d - key))) sec = (size_t)(d - key);
    else break;
  char *prefix = strndup(key, sec);
  pirf_sbuf b = {0};
  if (!prefix) return PIRF_ERR;
  if (sec) {
    pirf_sbuf_printf(&b, "unknown key '%s'. Known keys in section %s: ", key, prefix);
    known_under(cfg, prefix, &b);
  } else if (strchr(key, '.')) {
    pirf_sbuf_printf(&b, "unknown key '%s': there is no section '%.*s'. The sections are: ", key,
              (int)strcspn(key, "."), key);
    known_under(cfg, "", &b);
  } else {
    pirf_sbuf_printf(&b, "unknown key '%s': keys are written section.key, and the sections are: ", key);
    known_under(cfg, "", &b);
  }
  pirf_sbuf_printf(&b, ".");
  suggest(cfg, key, &b);
  pirf_error_report(__FILE__, __LINE__, __func__, 1, "%s: %s", where, b.buf ? b.buf : key);
  free(b.buf);
  free(prefix);
  return PIRF_ERR_USER;
}

static int walk_mapping(pirf_config *cfg, yaml_document_t *doc, yaml_node_t *map,
                        const char *prefix, const char *file) {
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    yaml_node_t *v = yaml_document_get_node(doc, p->value);
    const size_t line = k->start_mark.line + 1;
    PIRF_USER_CHECK(k->type == YAML_SCALAR_NODE, "%s:%zu: keys must be plain words", file, line);
    const char *name = (const char *)k->data.scalar.value;
    char *path = str_printf("%s%s%s", prefix, *prefix ? "." : "", name);
    char *where = str_printf("%s:%zu", file, line);
    int err = !path || !where ? PIRF_ERR : 0;
    if (err) pirf_error_report(__FILE__, __LINE__, __func__, 0, "out of memory reading the deck");
    /* the same key twice in one mapping: YAML forbids it, and the second would silently win */
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p && !err; q++) {
      yaml_node_t *kq = yaml_document_get_node(doc, q->key);
      if (kq->type == YAML_SCALAR_NODE && !strcmp((const char *)kq->data.scalar.value, name)) {
        entry *e = find(cfg, path);
        pirf_error_report(__FILE__, __LINE__, __func__, 1,
                          "%s: %s '%s' is given twice in the deck (first at %s:%zu)%s", where,
                          e ? "key" : "section", path, file, kq->start_mark.line + 1,
                          e ? "; keep one" : "; merge the two into one section");
        err = PIRF_ERR_USER;
      }
    }
    entry *e = err ? NULL : find(cfg, path);
    if (e) {
      err = assign_node(e, doc, v, where);
      e->set_in_deck = 1;
    } else if (!err) {
      if (!is_section(cfg, path, strlen(path))) {
        /* an unknown section at the top: name it with its first key, so that 'optim: {lr: 1}'
         * is answered with the sections and the keys 'lr' is under (pretrain.lr, finetune.lr) */
        yaml_node_t *k1 = NULL;
        if (!*prefix && v->type == YAML_MAPPING_NODE &&
            v->data.mapping.pairs.start < v->data.mapping.pairs.top)
          k1 = yaml_document_get_node(doc, v->data.mapping.pairs.start->key);
        char *full = k1 && k1->type == YAML_SCALAR_NODE
                         ? str_printf("%s.%s", path, (const char *)k1->data.scalar.value)
                         : NULL;
        err = unknown_key(cfg, where, full ? full : path);
        free(full);
      } else if (!(v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)) { /* empty: no keys */
        if (v->type != YAML_MAPPING_NODE) {
          pirf_sbuf b = {0};
          known_under(cfg, path, &b);
          pirf_error_report(__FILE__, __LINE__, __func__, 1,
                            "%s: '%s' is a section and needs keys under it (one of: %s)", where, path,
                            b.buf ? b.buf : "");
          free(b.buf);
          err = PIRF_ERR_USER;
        } else {
          err = walk_mapping(cfg, doc, v, path, file);
        }
      }
    }
    free(path);
    free(where);
    if (err) return err;
  }
  return 0;
}

/* The bytes of a deck. Rank 0 reads it as a stream (a file, a FIFO, /dev/stdin, a process
 * substitution: anything that can be read once, front to back) and sends the text to the other
 * ranks, so every rank parses the same bytes and reaches the same verdict. */
enum { DECK_OK, DECK_NOT_OPEN, DECK_DIRECTORY, DECK_READ_ERROR, DECK_TOO_BIG, DECK_NO_MEMORY };
#define DECK_MAX_BYTES (64L << 20)

static int read_deck(const char *path, unsigned char **out, size_t *out_len, int *device) {
  int init = 0, fin = 0, rank = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  const int mpi = init && !fin;
  if (mpi) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long info[4] = {DECK_OK, 0, 0, 0}; /* status, errno, length, a character device (/dev/null) */
  unsigned char *text = NULL;
  if (rank == 0) {
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
      info[0] = DECK_NOT_OPEN;
      info[1] = errno;
    } else if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
      info[0] = DECK_DIRECTORY;
    } else {
      info[3] = S_ISCHR(st.st_mode);
      size_t len = 0, cap = 0;
      for (;;) {
        if (len + 4096 + 1 > cap) {
          cap = cap ? 2 * cap : 65536;
          unsigned char *nt = realloc(text, cap);
          if (!nt) {
            info[0] = DECK_NO_MEMORY;
            break;
          }
          text = nt;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if ((long)len > DECK_MAX_BYTES) {
          info[0] = DECK_TOO_BIG;
          break;
        }
        if (got == 0) {
          if (ferror(f)) {
            info[0] = DECK_READ_ERROR;
            info[1] = errno;
          }
          break;
        }
      }
      info[2] = (long)len;
    }
    if (f) fclose(f);
  }
  if (mpi) MPI_Bcast(info, 4, MPI_LONG, 0, MPI_COMM_WORLD);
  if (info[0] != DECK_OK) free(text);
  PIRF_USER_CHECK(info[0] != DECK_NOT_OPEN,
                  "cannot open the input deck '%s': %s. Give the path of a YAML deck, for example "
                  "input/quickstart.yaml", path, strerror((int)info[1]));
  PIRF_USER_CHECK(info[0] != DECK_DIRECTORY,
                  "the input deck '%s' is a directory; give the path of a YAML deck in it, for "
                  "example input/quickstart.yaml", path);
  PIRF_USER_CHECK(info[0] != DECK_READ_ERROR, "cannot read the input deck '%s': %s", path,
                  strerror((int)info[1]));
  PIRF_USER_CHECK(info[0] != DECK_TOO_BIG,
                  "the input deck '%s' is larger than %ld MiB; is it a deck? A deck is a short "
                  "YAML file such as input/quickstart.yaml", path, DECK_MAX_BYTES >> 20);
  PIRF_CHECK(info[0] != DECK_NO_MEMORY, "out of memory reading the input deck '%s'", path);
  const size_t len = (size_t)info[2];
  if (rank != 0) {
    text = malloc(len + 1);
    PIRF_CHECK(text, "out of memory receiving the input deck '%s'", path);
  }
  if (mpi && len) MPI_Bcast(text, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
  text[len] = 0;
  *out = text;
  *out_len = len;
  *device = (int)info[3];
  return 0;
}

static int load_file(pirf_config *cfg, const char *path) {
  unsigned char *text = NULL;
  size_t len = 0;
  int device = 0;
  PIRF_TRY(read_deck(path, &text, &len, &device));
  yaml_document_t doc;
  int err = load_document(&doc, text, len, path);
  free(text);
  if (err) return err;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    /* An empty file is refused (a failed here-document, the wrong file), but /dev/null, a
     * device that reads empty, is the deliberate way to ask for every default. */
    yaml_document_delete(&doc);
    PIRF_USER_CHECK(device, "the input deck '%s' is empty: it sets no keys. Give a deck such as "
                    "input/quickstart.yaml, or /dev/null for every default", path);
    return 0;
  }
  if (root->type != YAML_MAPPING_NODE) {
    yaml_document_delete(&doc);
    PIRF_USER_CHECK(0, "%s: the deck must be a mapping of sections (pde:, grid:, ...)", path);
  }
  err = walk_mapping(cfg, &doc, root, "", path);
  yaml_document_delete(&doc);
  return err;
}

static int set_from_text(pirf_config *cfg, const char *key, const char *value, const char *where) {
  entry *e = find(cfg, key);
  if (!e) return unknown_key(cfg, where, key);
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

static int load(pirf_config *cfg, const pirf_cfg_spec *const *tables, const char *path,
                int noverrides, char *const *overrides) {
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
    PIRF_TRY(set_from_text(cfg, cfg->e[i].spec->key, cfg->e[i].spec->def, "default"));
  }
  if (path) {
    cfg->path = strdup(path);
    PIRF_CHECK(cfg->path, "out of memory");
    PIRF_TRY(load_file(cfg, path));
  }
  for (int i = 0; i < noverrides; i++) {
    const char *arg = overrides[i];
    const char *eq = strchr(arg, '=');
    if (arg[0] == '-' && eq) {
      const char *k = arg + strspn(arg, "-");
      PIRF_USER_CHECK(0, "command line: '%s' is not an override; write it without the dashes: "
                         "%s", arg, k);
    }
    PIRF_USER_CHECK(eq && eq != arg,
                    "command line: '%s' is not an override; write key.sub=value, for example "
                    "grid.resolution=64", arg);
    char *key = strndup(arg, (size_t)(eq - arg));
    PIRF_CHECK(key, "out of memory");
    entry *e = find(cfg, key);
    if (e && e->override) {
      pirf_error_report(__FILE__, __LINE__, __func__, 1,
                        "command line: key '%s' is given twice ('%s' and '%s'); give it once", key,
                        overrides[e->override - 1], arg);
      free(key);
      return PIRF_ERR_USER;
    }
    int err = set_from_text(cfg, key, eq + 1, "command line");
    free(key);
    if (err) return err;
    e->override = i + 1;
  }
  return 0;
}

int pirf_config_load(pirf_config **out, const pirf_cfg_spec *const *tables, const char *path,
                     int noverrides, char *const *overrides) {
  *out = NULL;
  pirf_config *cfg = calloc(1, sizeof *cfg);
  PIRF_CHECK(cfg, "out of memory");
  int err = load(cfg, tables, path, noverrides, overrides);
  if (err) {
    pirf_config_destroy(&cfg); /* a refused deck leaves nothing to free */
    return err;
  }
  *out = cfg;
  return 0;
}

void pirf_config_destroy(pirf_config **cfg) {
  if (!*cfg) return;
  for (int i = 0; i < (*cfg)->n; i++) {
    free((*cfg)->e[i].text);
    free((*cfg)->e[i].str);
    free((*cfg)->e[i].origin);
  }
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
  return e->spec->type == PIRF_CFG_ENUM ? e->text : e->str;
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

static void emit(const pirf_config *cfg, pirf_sbuf *b, const char *prefix, int depth) {
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
      pirf_sbuf_printf(b, "%*s%s: %s\n", 2 * depth, "", rest, cfg->e[i].text);
    } else {
      char sub[512];
      snprintf(sub, sizeof sub, "%s%s%.*s", prefix, pl ? "." : "", (int)rl, rest);
      pirf_sbuf_printf(b, "%*s%.*s:\n", 2 * depth, "", (int)rl, rest);
      emit(cfg, b, sub, depth + 1);
    }
  }
}

char *pirf_config_to_yaml(const pirf_config *cfg) {
  pirf_sbuf b = {0};
  pirf_sbuf_printf(&b, "# resolved pirf deck%s%s\n", cfg->path ? " from " : "", cfg->path ? cfg->path : "");
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
