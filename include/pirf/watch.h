/* Stops and signs of life for the stages that are not training: generate, sample, evaluate.
 *
 * A stage's work comes in rounds (one collective write of every data group's chunk, one batch per
 * data group). Between rounds, pirf_watch_round() is collective over the world: it agrees on a stop
 * (any rank signalled -> every rank stops after the same round) and on the largest resident set
 * size over the ranks. Inside a round, long computations (a PDE's spin-up, a chunk of solves) call
 * pirf_watch_poll() between units of work over the communicator of the ranks that do that work
 * together (a data group's space communicator): it stops the group within one unit of work, so the
 * stop latency is one unit (a sample, an integrator frame), not one round. Sampling polls inside
 * its network evaluations instead (pirf_stop_poll, armed on the group's space communicator), with
 * pirf_watch_heartbeat as the poll's hook for the progress lines of a long batch.
 *
 * Both print a progress line on world rank 0 at most every `interval` seconds (output.progress_s):
 * done/total, rate and ETA over the work done in this run, the largest RSS per rank (over the
 * world at round ends, over rank 0's group inside a round), and a note of where the round is
 * ("kolmogorov trajectory 3: spin-up t = 4.2 of 10"). */
#ifndef PIRF_WATCH_H
#define PIRF_WATCH_H

#include <mpi.h>

typedef struct {
  const char *label, *unit;
  long total, done, done0; /* done0: already done when the stage started (a resumed run) */
  double interval, t_start, t_last;
  long rss_max_kib;        /* last known max RSS over the ranks (KiB) */
  int signal;              /* after a stop: the (largest) signal number a rank received */
} pirf_watch;

/* The resident set size of this process in KiB (0 where /proc is not available). */
long pirf_rss_kib(void);

/* Start watching `total` units, `done0` of which are already done (resumed). */
void pirf_watch_begin(pirf_watch *w, const char *label, const char *unit, long total, long done0,
                      double interval);
/* Collective over comm (every rank of it calls it at the same points): PIRF_STOPPED when a rank of
 * comm has been signalled, else 0; prints a progress line with `note` when one is due. */
int pirf_watch_poll(pirf_watch *w, MPI_Comm comm, const char *note);
/* Collective over the world: `done` units are complete. PIRF_STOPPED when any rank has been
 * signalled, else 0; prints a progress line (with `note`, may be NULL) when one is due. */
int pirf_watch_round(pirf_watch *w, MPI_Comm world, long done, const char *note);
/* Local: a progress line with `note` (rank 0) when one is due; no communication. */
void pirf_watch_heartbeat(pirf_watch *w, const char *note);
/* The closing line (rank 0). */
void pirf_watch_end(pirf_watch *w, const char *extra);

#endif
