/* The run directory (output.dir) of one invocation: held exclusively through a lock file, with
 * log.txt beside it and the run record every HDF5 output carries (docs/run-directory.md).
 *
 *   pirf_run_dir_open    at the start of a command: mkdir output.dir, take output.dir/pirf.lock
 *                        (when `lock`), open output.dir/log.txt with a header, set the run record
 *                        (command line, world size and layout, start time, hosts, job id)
 *   pirf_run_dir_close   on every exit path: remove the lock, close log.txt, clear the record
 *   pirf_run_dir_stage   a stage command (pirf generate, pretrain, ...): open, provenance begin,
 *                        the stage, provenance end, close
 *
 * The lock (run_lock.c) is created with O_CREAT|O_EXCL by rank 0, which broadcasts the verdict. */
#ifndef PIRF_RUN_DIR_H
#define PIRF_RUN_DIR_H

#include "pirf/config.h"

extern const pirf_cfg_spec pirf_run_schema[];

/* `command` names the invocation in log.txt ("run", "pretrain", ...). Collective. */
int pirf_run_dir_open(const pirf_config *cfg, const char *command, int lock);
/* err: the command's result. Called by every rank; after a local (non-collective) error the ranks
 * that saw it remove the lock themselves, because the job is about to be aborted. */
void pirf_run_dir_close(int err);
int pirf_run_dir_stage(pirf_config *cfg, int (*stage)(pirf_config *cfg));

/* The lock (run_lock.c). Acquire: a user error naming the holder (host, PID, job, since when)
 * if another live job holds `dir`; a lock left by a dead process on this host is reported and
 * replaced; one from another host is replaced only with break_lock. Collective. */
int pirf_run_lock_acquire(const char *dir, const char *command_line, const char *start_time,
                          int break_lock);
/* Remove the lock if it is still ours. `any_rank`: this rank may do it (local-error path);
 * otherwise rank 0 does. Idempotent. */
void pirf_run_lock_release(int any_rank);
/* Rank 0: a line saying that the last acquire removed a stale or broken lock ("" if not). */
const char *pirf_run_lock_note(void);

#endif
