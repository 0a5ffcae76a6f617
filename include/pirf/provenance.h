/* Provenance of stage outputs: which deck keys and which input files determine what a stage
 * writes, a digest of them stored in every output, and the checks built on it (pirf run's skip
 * decision, the resume guard of the training stages). docs/run-directory.md has the key table.
 *
 * A stage's record is text, one "key: value" line per determining key (the stage's own keys and
 * those of the stages upstream of it, resolved values, in schema order), then one
 * "input.<role>: <digest>" line per input file (the input's own recorded digest, so a chain of
 * stages is checked without hashing any data). The digest is 64-bit FNV-1a of that text, written
 * as 16 hex digits: a change detector, not a cryptographic hash.
 *
 * Keys that do not count: paths (data.path, finetune.base, sample.output, ...), output.*, run.*,
 * parallel.* (results are layout-invariant), micro-batching, logging, checkpoint and progress
 * intervals, resume switches, and the keys of PDEs other than pde.name's. Keys that count but may
 * change when a training run resumes from its state file: pretrain.kimg, finetune.iterations. */
#ifndef PIRF_PROVENANCE_H
#define PIRF_PROVENANCE_H

#include "pirf/config.h"

#include <stddef.h>

typedef struct {
  char stage[16];
  char digest[17];
  char *keys; /* malloc'd record text */
} pirf_provenance;

typedef enum {
  PIRF_PROV_MISSING,    /* the file does not exist */
  PIRF_PROV_MATCH,      /* the file's record equals the deck's */
  PIRF_PROV_DIFFERS,    /* recorded with other keys or inputs */
  PIRF_PROV_UNRECORDED  /* no record (an older pirf, or another tool) */
} pirf_prov_status;

/* The stages that have records, in pipeline order; NULL-terminated. */
extern const char *const pirf_provenance_stages[];
/* The name of a stage function (pirf_stage_generate -> "generate"), NULL if it has none. */
const char *pirf_provenance_stage_name(int (*stage)(pirf_config *cfg));
/* The file that marks `stage` done (data.path, output.dir/base.h5, pirf.h5, evaluation.json, the
 * samples file). */
const char *pirf_provenance_output(const pirf_config *cfg, const char *stage, char *buf,
                                   size_t len);

/* The deck's record for `stage`. predict = 0: inputs by the digest recorded in the files as they
 * are now (what a writer stores). predict = 1: an input that a stage of this deck produces gets the
 * digest that stage would record (pirf run's and --dry-run's view). Collective: rank 0 reads the
 * input files, every rank gets the same record. */
int pirf_provenance_compute(const pirf_config *cfg, const char *stage, int predict,
                            pirf_provenance *p);
void pirf_provenance_free(pirf_provenance *p);

/* Compare the record stored with `path` (HDF5 attributes, or <path>.provenance for other files)
 * with `p`. resume = 1 ignores the keys that may change on resume. *why (malloc'd, may be NULL on
 * MATCH/MISSING) names the differing keys with both values. Collective. */
int pirf_provenance_compare(const char *path, const pirf_provenance *p, int resume,
                            pirf_prov_status *status, char **why);

/* Start and finish a stage: the deck's record (predict = 0) goes into the run record, so every
 * HDF5 file the stage writes carries it; on success, a non-HDF5 output (evaluation.json) gets
 * its <path>.provenance beside it. Collective. */
int pirf_provenance_begin(const pirf_config *cfg, const char *stage);
int pirf_provenance_end(const pirf_config *cfg, const char *stage, int err);

/* The resume guard: refuse (user error, exit 2) to continue from `state` when its record differs
 * from the deck's in any key other than the resume-changeable ones, or has none, unless
 * run.allow_changed_resume is true (then the differences are logged). Collective. */
int pirf_provenance_check_resume(const pirf_config *cfg, const char *stage, const char *state);

#endif
