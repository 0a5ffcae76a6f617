/* Stopping a long run cleanly, and soon, on a signal (batch systems warn before the wall-time limit
 * and send SIGTERM at it).
 *
 * pirf installs handlers for SIGUSR1, SIGUSR2 and SIGTERM that only set a flag. Two ways to look at
 * it, both collective so that every rank stops at the same place:
 *   pirf_stop_requested(comm)  one blocking allreduce; training loops call it after every step.
 *   pirf_stop_poll()           the in-step check, cheap enough to call between U-Net blocks, sampler
 *                              steps or the samples of a batch: every so many poll points (the
 *                              same count on every rank, tuned to a set interval) one small
 *                              blocking reduction over the ranks. Active
 *                              only between pirf_stop_arm() and pirf_stop_disarm() (training runs),
 *                              and only meaningful where every rank of the armed communicator
 *                              passes the same sequence of poll points; returns PIRF_STOPPED at
 *                              the same point on every rank once any rank was signalled (at the
 *                              first exchange after the signal), and from then on.
 * A caller that gets PIRF_STOPPED abandons what it was doing and returns it up the stack (without
 * changing parameters or optimizer state); the training run then writes the state of the last
 * completed step and main exits with status 3; rerunning the same command resumes from it.
 * Under SLURM see jobscripts/slurm/pirf.sbatch (USR1 before the limit, TERM at it). */
#ifndef PIRF_STOP_H
#define PIRF_STOP_H

#include <mpi.h>

#define PIRF_STOPPED 3 /* error code: stopped on request after writing a checkpoint */

void pirf_stop_install(void);
/* Collective over comm: 1 if any rank has received a stop signal. */
int pirf_stop_requested(MPI_Comm comm);
/* Local: the signal number received, 0 if none (for the log line). */
int pirf_stop_signal(void);
/* Collective: seconds since the first signal reached any rank (wall clock), -1 if none did. */
double pirf_stop_seconds_since_signal(MPI_Comm comm);

/* Collective over comm: enable pirf_stop_poll() (on a duplicate of comm), exchanging about every
 * `interval` seconds (a stop is seen within about one interval). `hook`, if not NULL, is called
 * at every poll point on every rank (the training run's in-step progress line). */
int pirf_stop_arm(MPI_Comm comm, double interval, void (*hook)(void *), void *ctx);
/* Collective: disable polling (frees the duplicate communicator). */
void pirf_stop_disarm(void);
/* Local: disable polling without completing anything (error paths, where perhaps not every rank
 * gets here; the job ends anyway). */
void pirf_stop_abandon(void);
/* Collective over the armed communicator (see above); 0 when not armed. */
int pirf_stop_poll(void);
/* A poll point: returns PIRF_STOPPED from the enclosing function when the run is to stop. */
#define PIRF_STOP_POINT()                                                                          \
  do {                                                                                             \
    int pirf_stop_err_ = pirf_stop_poll();                                                         \
    if (pirf_stop_err_) return pirf_stop_err_;                                                     \
  } while (0)
/* From the last completed exchange: the largest peak RSS over the ranks in MiB (0 before the
 * first); the longest stretch between two exchanges in seconds (this rank); the number of polls. */
double pirf_stop_poll_rss_mib(void);
double pirf_stop_poll_max_gap(void);
long pirf_stop_poll_count(void);

#endif
