/* Stopping a long run cleanly on a signal (batch systems warn before the wall-time limit).
 *
 * pirf installs handlers for SIGUSR1, SIGUSR2 and SIGTERM that only set a flag. Training loops call
 * pirf_stop_requested() once per step: collective over the communicator (one small allreduce), so
 * every rank learns that any rank was signalled and all stop at the same step. They then write a
 * checkpoint and return PIRF_STOPPED; rerunning the same command resumes from it.
 * Under SLURM use `#SBATCH --signal=B:USR1@120` and forward USR1 to mpiexec (jobscripts/slurm). */
#ifndef PIRF_STOP_H
#define PIRF_STOP_H

#include <mpi.h>

#define PIRF_STOPPED 3 /* error code: stopped on request after writing a checkpoint */

void pirf_stop_install(void);
/* Collective over comm: 1 if any rank has received a stop signal. */
int pirf_stop_requested(MPI_Comm comm);
/* Local: the signal number received, 0 if none (for the log line). */
int pirf_stop_signal(void);

#endif
