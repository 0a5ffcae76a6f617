/* The run record written into every HDF5 output (see pirf/run_record.h). */
#include "pirf/run_record.h"

#include "pirf/check.h"
#include "pirf/dataset.h"

#include <stdlib.h>
#include <string.h>

#ifdef PIRF_HAVE_GIT_VERSION_H
#include "pirf_git_version.h" /* generated at build time by scripts/git_version.cmake */
#endif
#ifndef PIRF_GIT_DESCRIBE
#define PIRF_GIT_DESCRIBE PIRF_VERSION
#endif

const char *pirf_build_version(void) { return PIRF_GIT_DESCRIBE; }

enum { CMD, LAYOUT, START, HOST, HOSTS, JOB, STAGE, DIGEST, KEYS, NFIELDS };
static const char *const names[NFIELDS] = {"run_command_line", "run_layout",       "run_start_time",
                                           "run_host",         "run_hosts",        "run_job_id",
                                           "provenance_stage", "provenance_digest", "provenance_keys"};
static char *field[NFIELDS];
static long world_size = 0;

static void set(int i, const char *v) {
  free(field[i]);
  field[i] = v ? strdup(v) : NULL;
}

void pirf_run_record_set_run(const char *command_line, long size, const char *layout,
                             const char *start_time, const char *host, const char *hosts,
                             const char *job_id) {
  set(CMD, command_line);
  set(LAYOUT, layout);
  set(START, start_time);
  set(HOST, host);
  set(HOSTS, hosts);
  set(JOB, job_id);
  world_size = size;
}

void pirf_run_record_set_provenance(const char *stage, const char *digest, const char *keys) {
  set(STAGE, stage);
  set(DIGEST, stage ? digest : NULL);
  set(KEYS, stage ? keys : NULL);
}

void pirf_run_record_clear(void) {
  for (int i = 0; i < NFIELDS; i++) set(i, NULL);
  world_size = 0;
}

int pirf_run_record_write(hid_t file) {
  for (int i = 0; i < NFIELDS; i++)
    if (field[i]) PIRF_TRY(pirf_attr_write_str(file, names[i], field[i]));
  if (world_size > 0) PIRF_TRY(pirf_attr_write_long(file, "run_world_size", world_size));
  PIRF_TRY(pirf_attr_write_str(file, "pirf_build", pirf_build_version()));
  return 0;
}
