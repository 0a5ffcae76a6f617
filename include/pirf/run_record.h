/* The run record every HDF5 output of pirf carries: who ran what, where, with which code, and the
 * provenance of the stage that wrote the file (docs/run-directory.md).
 *
 * The application sets the record once per invocation (pirf_run_record_set_run) and once per stage
 * (pirf_run_record_set_provenance); every writer of an HDF5 output (field files through
 * pirf_write_field_attributes, checkpoints through pirf_checkpoint_write) then calls
 * pirf_run_record_write, which adds these root attributes:
 *
 *   run_command_line   the command line of the job (rank 0's, arguments separated by spaces)
 *   run_world_size     MPI ranks (int64)
 *   run_layout         the rank layout: "4 ranks = 2 data groups x 2 tiles (2x1)"
 *   run_start_time     when the invocation started (UTC, ISO 8601)
 *   run_host           rank 0's host name; run_hosts: every distinct host of the job
 *   run_job_id         SLURM_JOB_ID or PBS_JOBID, "" outside a batch job
 *   pirf_build         the code's version: `git describe --always --dirty` when it was built
 *   provenance_stage   the stage whose output this is (generate, pretrain, finetune, sample, evaluate)
 *   provenance_digest  digest of provenance_keys (16 hex digits)
 *   provenance_keys    "key: value" lines: the deck keys that determine the stage's output, and
 *                      "input.<role>: <digest>" lines for the files it read (pirf/provenance.h)
 *
 * Attributes not set are not written (a unit test that writes a checkpoint has no run). This sits
 * in the io layer so that writers below the application can call it. */
#ifndef PIRF_RUN_RECORD_H
#define PIRF_RUN_RECORD_H

#include <hdf5.h>

/* The code's version string (git describe at build time; the project version outside git). */
const char *pirf_build_version(void);

/* Set the invocation's part of the record. Strings are copied; the same values on every rank. */
void pirf_run_record_set_run(const char *command_line, long world_size, const char *layout,
                             const char *start_time, const char *host, const char *hosts,
                             const char *job_id);
/* Set (or, with stage NULL, clear) the provenance of the stage now running. */
void pirf_run_record_set_provenance(const char *stage, const char *digest, const char *keys);
/* Forget everything (end of an invocation). */
void pirf_run_record_clear(void);

/* Write the record's attributes to the root of `file`. Collective over the file's communicator. */
int pirf_run_record_write(hid_t file);

#endif
