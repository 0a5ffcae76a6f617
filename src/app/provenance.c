/* Provenance of stage outputs (see pirf/provenance.h and docs/run-directory.md): the table of the
 * keys and inputs that determine each stage's output, the record and its digest, reading a record
 * back from a file, and the comparisons pirf run and the resume guard make. */
#include "pirf/provenance.h"

#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/run_record.h"
#include "pirf/sbuf.h"

#include <errno.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the table ----------------------------------------------------------------------------- */

typedef struct {
  const char *role; /* "data", "base", ... (the record's "input.<role>" line) */
  const char *(*path)(const pirf_config *cfg, char *buf, size_t len);
} input_def;

typedef struct {
  const char *name;
  int (*fn)(pirf_config *cfg);
  const char *upstream;          /* the stage whose keys this one inherits, or NULL */
  const char *sections[3];       /* key prefixes that are this stage's own */
  const char *resume_may_change; /* own key that a resumed training run may change, or NULL */
  input_def inputs[3];
} stage_def;

static const char *base_path(const pirf_config *cfg, char *buf, size_t len) {
  return pirf_pretrain_output(cfg, buf, len);
}
static const char *finetune_base_path(const pirf_config *cfg, char *buf, size_t len) {
  const char *p = pirf_cfg_str(cfg, "finetune.base");
  if (*p) snprintf(buf, len, "%s", p);
  else pirf_pretrain_output(cfg, buf, len);
  return buf;
}
static const char *sample_checkpoint_path(const pirf_config *cfg, char *buf, size_t len) {
  const char *p = pirf_cfg_str(cfg, "sample.checkpoint");
  if (*p) snprintf(buf, len, "%s", p);
  else pirf_pretrain_output(cfg, buf, len);
  return buf;
}
static const char *evaluate_pirf_path(const pirf_config *cfg, char *buf, size_t len) {
  const char *p = pirf_cfg_str(cfg, "evaluate.pirf_checkpoint");
  if (*p) snprintf(buf, len, "%s", p);
  else snprintf(buf, len, "%s/pirf.h5", pirf_cfg_str(cfg, "output.dir")); /* not pidm.h5 */
  return buf;
}
static const char *sample_output_path(const pirf_config *cfg, char *buf, size_t len) {
  const char *p = pirf_cfg_str(cfg, "sample.output");
  if (*p) snprintf(buf, len, "%s", p);
  else
    snprintf(buf, len, "%s/samples_%s.h5", pirf_cfg_str(cfg, "output.dir"),
             pirf_cfg_str(cfg, "sample.method"));
  return buf;
}

static const stage_def stages[] = {
    {"generate", pirf_stage_generate, NULL, {"pde", "grid", "data"}, NULL, {{0}}},
    {"pretrain", pirf_stage_pretrain, "generate", {"model", "pretrain"}, "pretrain.kimg",
     {{"data", pirf_deck_data_path}}},
    {"finetune", pirf_stage_finetune, "pretrain", {"finetune"}, "finetune.iterations",
     {{"base", finetune_base_path}}},
    {"sample", pirf_stage_sample, "pretrain", {"sample"}, NULL,
     {{"checkpoint", sample_checkpoint_path}}},
    {"evaluate", pirf_stage_evaluate, "finetune", {"evaluate"}, NULL,
     {{"data", pirf_deck_data_path}, {"base", base_path}, {"pirf", evaluate_pirf_path}}},
};
enum { NSTAGES = (int)(sizeof stages / sizeof stages[0]) };

const char *const pirf_provenance_stages[] = {"generate", "pretrain", "finetune", "sample",
                                              "evaluate", NULL};

static const stage_def *find_stage(const char *name) {
  for (int i = 0; i < NSTAGES; i++)
    if (!strcmp(stages[i].name, name)) return &stages[i];
  return NULL;
}

const char *pirf_provenance_stage_name(int (*fn)(pirf_config *cfg)) {
  for (int i = 0; i < NSTAGES; i++)
    if (stages[i].fn == fn) return stages[i].name;
  return NULL;
}

const char *pirf_provenance_output(const pirf_config *cfg, const char *stage, char *buf,
                                   size_t len) {
  if (!strcmp(stage, "generate")) return pirf_deck_data_path(cfg, buf, len);
  if (!strcmp(stage, "pretrain")) return pirf_pretrain_output(cfg, buf, len);
  if (!strcmp(stage, "finetune")) return pirf_finetune_output(cfg, buf, len);
  if (!strcmp(stage, "evaluate")) return pirf_evaluate_output(cfg, buf, len);
  return sample_output_path(cfg, buf, len);
}

/* Keys inside a stage's sections that do not change its output. Besides this list, any key whose
 * last part starts with log_, checkpoint_ or progress, ends with _path, or is resume or
 * micro_batch does not count, so a new logging or memory knob does not invalidate old runs. */
static const char *const not_determining[] = {
    "data.path",      "data.chunk",          "finetune.base",    "finetune.bench",
    "finetune.eval_samples", "sample.output", "sample.checkpoint", "evaluate.pirf_checkpoint",
    "evaluate.pidm_checkpoint",
    NULL};

static int determining(const pirf_config *cfg, const char *key) {
  for (int i = 0; not_determining[i]; i++)
    if (!strcmp(key, not_determining[i])) return 0;
  const char *leaf = strrchr(key, '.');
  leaf = leaf ? leaf + 1 : key;
  size_t ll = strlen(leaf);
  if (!strncmp(leaf, "log_", 4) || !strncmp(leaf, "checkpoint_", 11) ||
      !strncmp(leaf, "progress", 8) || !strcmp(leaf, "resume") || !strcmp(leaf, "micro_batch") ||
      (ll > 5 && !strcmp(leaf + ll - 5, "_path")))
    return 0;
  /* pde.<name>.*: only the keys of the deck's PDE */
  if (!strncmp(key, "pde.", 4)) {
    const char *sub = key + 4, *dot = strchr(sub, '.');
    const char *pde = pirf_cfg_str(cfg, "pde.name");
    if (dot && (strlen(pde) != (size_t)(dot - sub) || strncmp(sub, pde, (size_t)(dot - sub))))
      return 0;
  }
  return 1;
}

static int in_sections(const stage_def *st, const char *key) {
  for (int i = 0; i < 3 && st->sections[i]; i++) {
    size_t n = strlen(st->sections[i]);
    if (!strncmp(key, st->sections[i], n) && key[n] == '.') return 1;
  }
  return 0;
}

/* ---- text (pirf/sbuf.h) ------------------------------------------------------------------ */

/* The shortest text that reads back as the same double (0.001, not 0.0010000000000000000208). */
static void real_text(double v, pirf_sbuf *b) {
  char t[40];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(t, sizeof t, "%.*g", prec, v);
    if (strtod(t, NULL) == v) break;
  }
  pirf_sbuf_printf(b, "%s", t);
}

static void value_text(const pirf_config *cfg, const pirf_cfg_spec *s, pirf_sbuf *b) {
  switch (s->type) {
  case PIRF_CFG_INT: pirf_sbuf_printf(b, "%ld", pirf_cfg_int(cfg, s->key)); break;
  case PIRF_CFG_REAL: real_text(pirf_cfg_real(cfg, s->key), b); break;
  case PIRF_CFG_BOOL: pirf_sbuf_printf(b, "%s", pirf_cfg_bool(cfg, s->key) ? "true" : "false"); break;
  case PIRF_CFG_STRING:
  case PIRF_CFG_ENUM: pirf_sbuf_printf(b, "%s", pirf_cfg_str(cfg, s->key)); break;
  case PIRF_CFG_INT_LIST: {
    long v[PIRF_CFG_MAX_LIST];
    int n = pirf_cfg_int_list(cfg, s->key, v, PIRF_CFG_MAX_LIST);
    pirf_sbuf_printf(b, "[");
    for (int i = 0; i < n; i++) pirf_sbuf_printf(b, "%s%ld", i ? ", " : "", v[i]);
    pirf_sbuf_printf(b, "]");
    break;
  }
  case PIRF_CFG_REAL_LIST: {
    double v[PIRF_CFG_MAX_LIST];
    int n = pirf_cfg_real_list(cfg, s->key, v, PIRF_CFG_MAX_LIST);
    pirf_sbuf_printf(b, "[");
    for (int i = 0; i < n; i++) {
      pirf_sbuf_printf(b, "%s", i ? ", " : "");
      real_text(v[i], b);
    }
    pirf_sbuf_printf(b, "]");
    break;
  }
  }
}

static void fnv1a(const char *stage, const char *text, char out[17]) {
  uint64_t h = 1469598103934665603ULL;
  for (int part = 0; part < 3; part++) {
    const char *s = part == 0 ? stage : part == 1 ? "\n" : text;
    for (; *s; s++) {
      h ^= (unsigned char)*s;
      h *= 1099511628211ULL;
    }
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Rank 0's string to every rank (malloc'd on the others; NULL stays NULL). */
static int bcast_str(char **s) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long n = rank == 0 ? (*s ? (long)strlen(*s) + 1 : 0) : 0;
  PIRF_MPI(MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD));
  if (rank != 0) {
    free(*s);
    *s = NULL;
    if (n > 0) PIRF_ALLOC(*s, n, "a provenance record");
  }
  if (n > 0) PIRF_MPI(MPI_Bcast(*s, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD));
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- reading a stored record (rank 0) ------------------------------------------------------ */

/* 0 = missing, 1 = read (the strings may be NULL: no record), 2 = unreadable */
static int read_record(const char *path, char **stage, char **digest, char **keys) {
  *stage = *digest = *keys = NULL;
  if (access(path, F_OK) != 0) return 0;
  if (ends_with(path, ".h5")) {
    H5E_auto2_t func;
    void *data;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int ok = f >= 0;
    if (ok && pirf_attr_exists(f, "provenance_digest") && pirf_attr_exists(f, "provenance_keys") &&
        pirf_attr_exists(f, "provenance_stage")) {
      ok = !pirf_attr_read_str(f, "provenance_stage", stage) &&
           !pirf_attr_read_str(f, "provenance_digest", digest) &&
           !pirf_attr_read_str(f, "provenance_keys", keys);
    }
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    return ok ? 1 : 2;
  }
  char side[4200];
  snprintf(side, sizeof side, "%s.provenance", path);
  FILE *f = fopen(side, "r");
  if (!f) return 1;
  char line[256];
  pirf_sbuf k = {0};
  int body = 0;
  while (fgets(line, sizeof line, f)) {
    if (body) {
      pirf_sbuf_printf(&k, "%s", line);
      continue;
    }
    line[strcspn(line, "\n")] = 0;
    if (!strncmp(line, "stage: ", 7)) *stage = strdup(line + 7);
    else if (!strncmp(line, "digest: ", 8)) *digest = strdup(line + 8);
    else if (!strcmp(line, "---")) body = 1;
  }
  fclose(f);
  *keys = k.buf ? k.buf : strdup("");
  return 1;
}

/* ---- the record ---------------------------------------------------------------------------- */

static void own_keys(const pirf_config *cfg, const stage_def *st, pirf_sbuf *b) {
  if (st->upstream) own_keys(cfg, find_stage(st->upstream), b);
  const pirf_cfg_spec *const *tables = pirf_deck_tables();
  for (int t = 0; tables[t]; t++)
    for (const pirf_cfg_spec *s = tables[t]; s->key; s++) {
      if (!in_sections(st, s->key) || !determining(cfg, s->key)) continue;
      pirf_sbuf_printf(b, "%s: ", s->key);
      value_text(cfg, s, b);
      pirf_sbuf_printf(b, "\n");
    }
}

/* The stage of this deck whose output is `path`, or NULL. */
static const stage_def *producer(const pirf_config *cfg, const char *path) {
  const char *const mine[] = {"generate", "pretrain", "finetune"};
  for (int i = 0; i < 3; i++) {
    char out[4200];
    pirf_provenance_output(cfg, mine[i], out, sizeof out);
    if (!strcmp(out, path)) return find_stage(mine[i]);
  }
  return NULL;
}

int pirf_provenance_compute(const pirf_config *cfg, const char *stage, int predict,
                            pirf_provenance *p) {
  memset(p, 0, sizeof *p);
  const stage_def *st = find_stage(stage);
  PIRF_CHECK(st, "internal: no provenance table for stage '%s'", stage);
  snprintf(p->stage, sizeof p->stage, "%s", stage);
  pirf_sbuf b = {0};
  own_keys(cfg, st, &b);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (int i = 0; i < 3 && st->inputs[i].role; i++) {
    char path[4200];
    st->inputs[i].path(cfg, path, sizeof path);
    const stage_def *from = predict ? producer(cfg, path) : NULL;
    char *digest = NULL;
    if (from) {
      pirf_provenance up;
      int err = pirf_provenance_compute(cfg, from->name, 1, &up);
      if (err) {
        free(b.buf);
        return err;
      }
      digest = strdup(up.digest);
      pirf_provenance_free(&up);
    } else {
      if (rank == 0) {
        char *s, *k;
        int r = read_record(path, &s, &digest, &k);
        free(s);
        free(k);
        if (!digest) digest = strdup(r == 0 ? "missing" : "unrecorded");
      }
      int err = bcast_str(&digest);
      if (err) {
        free(b.buf);
        return err;
      }
    }
    pirf_sbuf_printf(&b, "input.%s: %s\n", st->inputs[i].role, digest ? digest : "?");
    free(digest);
  }
  PIRF_CHECK(!b.oom && b.buf, "out of memory building the provenance record of %s", stage);
  p->keys = b.buf;
  fnv1a(stage, p->keys, p->digest);
  return 0;
}

void pirf_provenance_free(pirf_provenance *p) {
  free(p->keys);
  p->keys = NULL;
}

/* ---- comparing ----------------------------------------------------------------------------- */

/* The value of `key` in record text, or NULL; *len its length. */
static const char *lookup(const char *text, const char *key, size_t *len) {
  size_t kl = strlen(key);
  for (const char *l = text; l && *l;) {
    const char *nl = strchr(l, '\n');
    if (!strncmp(l, key, kl) && l[kl] == ':' && l[kl + 1] == ' ') {
      const char *v = l + kl + 2;
      *len = nl ? (size_t)(nl - v) : strlen(v);
      return v;
    }
    l = nl ? nl + 1 : NULL;
  }
  return NULL;
}

/* Append "key = A in the file, B in this deck" for every key of `a` (the deck's) that differs in
 * `r` (the recorded), then the keys only in `r`. */
static int describe(const char *r, const char *a, const char *skip, pirf_sbuf *b) {
  int n = 0;
  /* another PDE: its keys (pde.<name>.*) differ wholesale; naming pde.name is enough */
  size_t l1 = 0, l2 = 0;
  const char *p1 = lookup(r, "pde.name", &l1), *p2 = lookup(a, "pde.name", &l2);
  const int other_pde = p1 && p2 && (l1 != l2 || strncmp(p1, p2, l1));
  for (int pass = 0; pass < 2; pass++) {
    const char *src = pass == 0 ? a : r, *other = pass == 0 ? r : a;
    for (const char *l = src; l && *l;) {
      const char *nl = strchr(l, '\n'), *colon = strstr(l, ": ");
      size_t ll = nl ? (size_t)(nl - l) : strlen(l);
      if (colon && colon < l + ll) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(colon - l), l);
        const char *v = colon + 2;
        size_t vl = (size_t)(l + ll - v), ol = 0;
        const char *o = lookup(other, key, &ol);
        int differs = pass == 0 ? (!o || ol != vl || strncmp(o, v, vl)) : !o;
        const int pde_sub = !strncmp(key, "pde.", 4) && strchr(key + 4, '.');
        if (differs && !(skip && !strcmp(key, skip)) && !(other_pde && pde_sub)) {
          const char *in_file = pass == 0 ? o : v, *in_deck = pass == 0 ? v : NULL;
          size_t fl = pass == 0 ? ol : vl;
          if (n < 12) {
            const int input = !strncmp(key, "input.", 6);
            pirf_sbuf_printf(b, "%s%s = %.*s %s, %.*s %s", n ? "; " : "", key, (int)(in_file ? fl : 6),
                      in_file ? in_file : "(none)", input ? "recorded" : "in the file",
                      (int)(in_deck ? vl : 6), in_deck ? in_deck : "(none)",
                      input ? "now" : "in this deck");
          }
          n++;
        }
      }
      l = nl ? nl + 1 : NULL;
    }
  }
  if (n > 12) pirf_sbuf_printf(b, "; and %d more", n - 12);
  return n;
}

int pirf_provenance_compare(const char *path, const pirf_provenance *p, int resume,
                            pirf_prov_status *status, char **why) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int st = PIRF_PROV_MISSING;
  char *text = NULL;
  if (rank == 0) {
    char *stage, *digest, *keys;
    int r = read_record(path, &stage, &digest, &keys);
    pirf_sbuf b = {0};
    if (r == 0) {
      st = PIRF_PROV_MISSING;
    } else if (r == 2) {
      st = PIRF_PROV_UNRECORDED;
      pirf_sbuf_printf(&b, "it cannot be opened as an HDF5 file");
    } else if (!digest || !keys) {
      st = PIRF_PROV_UNRECORDED;
      pirf_sbuf_printf(&b, "it has no provenance record (written by an older pirf or another tool), so "
                    "pirf cannot tell which settings made it");
    } else if (stage && strcmp(stage, p->stage)) {
      st = PIRF_PROV_DIFFERS;
      pirf_sbuf_printf(&b, "it is the output of the %s stage, not of %s", stage, p->stage);
    } else if (!strcmp(digest, p->digest)) {
      st = PIRF_PROV_MATCH;
    } else {
      const stage_def *sd = find_stage(p->stage);
      int n = describe(keys, p->keys, resume && sd ? sd->resume_may_change : NULL, &b);
      st = n ? PIRF_PROV_DIFFERS : PIRF_PROV_MATCH; /* resume: only changeable keys differ */
      if (!n && !resume) {
        st = PIRF_PROV_DIFFERS; /* same keys, other digest: a record from another pirf */
        pirf_sbuf_printf(&b, "its record's digest %s differs from this deck's %s", digest, p->digest);
      }
    }
    text = b.buf;
    free(stage);
    free(digest);
    free(keys);
  }
  PIRF_MPI(MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD));
  PIRF_TRY(bcast_str(&text));
  *status = (pirf_prov_status)st;
  if (why) *why = text;
  else free(text);
  return 0;
}

/* ---- a stage's begin and end, the resume guard --------------------------------------------- */

int pirf_provenance_begin(const pirf_config *cfg, const char *stage) {
  pirf_provenance p;
  PIRF_TRY(pirf_provenance_compute(cfg, stage, 0, &p));
  pirf_run_record_set_provenance(p.stage, p.digest, p.keys);
  char out[4200];
  pirf_provenance_output(cfg, stage, out, sizeof out);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0 && !ends_with(out, ".h5")) { /* the old sidecar no longer describes the output */
    char side[4300];
    snprintf(side, sizeof side, "%s.provenance", out);
    unlink(side);
  }
  pirf_provenance_free(&p);
  return 0;
}

int pirf_provenance_end(const pirf_config *cfg, const char *stage, int err) {
  char out[4200];
  pirf_provenance_output(cfg, stage, out, sizeof out);
  int rank, werr = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!err && !ends_with(out, ".h5")) {
    pirf_provenance p;
    PIRF_TRY(pirf_provenance_compute(cfg, stage, 0, &p));
    if (rank == 0) {
      char side[4300], part[4400];
      snprintf(side, sizeof side, "%s.provenance", out);
      snprintf(part, sizeof part, "%s.partial", side);
      FILE *f = fopen(part, "w");
      int ok = f && fprintf(f, "stage: %s\ndigest: %s\n---\n%s", p.stage, p.digest, p.keys) > 0;
      if (f && fclose(f)) ok = 0;
      if (ok && rename(part, side)) ok = 0;
      if (!ok) {
        werr = errno ? errno : EIO;
        unlink(part);
      }
    }
    pirf_provenance_free(&p);
    PIRF_MPI(MPI_Bcast(&werr, 1, MPI_INT, 0, MPI_COMM_WORLD));
  }
  pirf_run_record_set_provenance(NULL, NULL, NULL);
  PIRF_USER_CHECK(!werr, "cannot write the provenance record '%s.provenance': %s", out,
                  strerror(werr));
  return 0;
}

int pirf_provenance_check_resume(const pirf_config *cfg, const char *stage, const char *state) {
  pirf_provenance p;
  PIRF_TRY(pirf_provenance_compute(cfg, stage, 0, &p));
  pirf_prov_status st;
  char *why = NULL;
  int err = pirf_provenance_compare(state, &p, 1, &st, &why);
  pirf_provenance_free(&p);
  if (err) {
    free(why);
    return err;
  }
  const int allow = pirf_cfg_bool(cfg, "run.allow_changed_resume");
  if (st == PIRF_PROV_DIFFERS || st == PIRF_PROV_UNRECORDED) {
    if (allow) {
      pirf_log("[%s] resuming from %s although %s (run.allow_changed_resume=true)\n", stage,
               state, why ? why : "its record differs");
    } else {
      char msg[8192];
      snprintf(msg, sizeof msg, "%s", why ? why : "its record differs");
      free(why);
      PIRF_USER_CHECK(0, "refusing to resume from '%s': %s; set run.allow_changed_resume=true to "
                      "continue it with this deck's settings anyway, or %s.resume=false (or "
                      "remove the file) to start over", state, msg, stage);
    }
  }
  free(why);
  return 0;
}
