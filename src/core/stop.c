/* Stop flags set by signal handlers, and the cheap in-step poll (see pirf/stop.h). */
#include "pirf/stop.h"

#include "pirf/check.h"
#include "pirf/log.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_signal = 0;
static struct timespec stop_time; /* when the first signal arrived (CLOCK_REALTIME) */

static void on_signal(int sig) {
  if (!stop_signal) clock_gettime(CLOCK_REALTIME, &stop_time); /* async-signal-safe */
  stop_signal = sig;
}

void pirf_stop_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int pirf_stop_requested(MPI_Comm comm) {
  int mine = stop_signal != 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
  return any;
}

int pirf_stop_signal(void) { return (int)stop_signal; }

double pirf_stop_seconds_since_signal(MPI_Comm comm) {
  double s = -1;
  if (stop_signal) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s = (double)(now.tv_sec - stop_time.tv_sec) + 1e-9 * (double)(now.tv_nsec - stop_time.tv_nsec);
  }
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_MAX, comm);
  return s;
}

/* The armed poll. Exchanges (one blocking reduction of {stop flag, peak RSS, -polls to skip}, on
 * a communicator of its own so that it never matches another collective) happen only every `skip`
 * poll points, where `skip` comes out of the previous exchange (the smallest wish over the ranks,
 * each rank wishing for about `interval` seconds between exchanges): every rank skips the same
 * count, so the exchanges and the verdict stay collective, and a tiny network with thousands of
 * poll points a second pays for a few exchanges a second only.
 * The reduction is blocking on purpose: an exchange costs one small allreduce a few times a second,
 * and ranks that wait for each other at every optimizer step lose nothing by meeting there too,
 * whereas a non-blocking reduction left in flight across the step's own collectives (and the
 * MPI-IO of checkpoint writes) depends on how the MPI library progresses it. */
static struct {
  MPI_Comm comm;
  double send[3], recv[3];
  int agreed;
  double rss, last, max_gap, interval, t_exchange, t_poll, max_step;
  long count, skip, since;
  void (*hook)(void *);
  void *ctx;
} poll = {MPI_COMM_NULL, {0, 0, 0}, {0, 0, 0}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};

int pirf_stop_arm(MPI_Comm comm, double interval, void (*hook)(void *), void *ctx) {
  pirf_stop_disarm();
  PIRF_MPI(MPI_Comm_dup(comm, &poll.comm));
  poll.agreed = 0;
  poll.rss = 0;
  poll.max_gap = 0;
  poll.count = poll.since = 0;
  poll.skip = 1;
  poll.interval = interval > 0 ? interval : 0.1;
  poll.last = poll.t_exchange = poll.t_poll = pirf_wtime();
  poll.max_step = 0;
  poll.hook = hook;
  poll.ctx = ctx;
  return 0;
}

void pirf_stop_disarm(void) {
  if (poll.comm == MPI_COMM_NULL) return;
  if (poll.agreed) pirf_error_set_trace(1);
  MPI_Comm_free(&poll.comm);
  poll.comm = MPI_COMM_NULL;
  poll.hook = NULL;
}

void pirf_stop_abandon(void) {
  poll.comm = MPI_COMM_NULL;
  poll.hook = NULL;
}

int pirf_stop_poll(void) {
  if (poll.comm == MPI_COMM_NULL) return 0;
  if (poll.agreed) return PIRF_STOPPED;
  poll.count++;
  poll.since++;
  /* the longest stretch between two poll points lately (decaying by 0.9 per exchange, so a rank
   * descheduled once does not slow the polls down for good): a count of poll points must not span
   * more than `interval` even where the slowest blocks come after fast ones */
  const double t = pirf_wtime();
  if (t - poll.t_poll > poll.max_step) poll.max_step = t - poll.t_poll;
  poll.t_poll = t;
  if (--poll.skip > 0) {
    if (poll.hook) poll.hook(poll.ctx);
    return 0;
  }
  const double now = pirf_wtime();
  if (now - poll.last > poll.max_gap) poll.max_gap = now - poll.last;
  poll.last = now;
  /* this rank's wish for the gap after this exchange: `interval` seconds of poll points */
  const double dt = now - poll.t_exchange;
  double wish = dt > 0 ? (double)poll.since * poll.interval / dt : 1.0;
  /* at most twice the last stretch (a rate measured over a few fast poll points says little), and
   * no more than `interval` of the slowest stretch seen between two poll points */
  if (wish > 2.0 * (double)poll.since) wish = 2.0 * (double)poll.since;
  if (poll.max_step > 0 && wish > poll.interval / poll.max_step) wish = poll.interval / poll.max_step;
  poll.max_step *= 0.9;
  wish = wish < 1 ? 1 : wish > 1e6 ? 1e6 : wish;
  poll.since = 0;
  poll.t_exchange = now;
  poll.send[0] = stop_signal != 0;
  poll.send[1] = pirf_rss_peak_mib();
  poll.send[2] = -(double)(long)wish;
  /* every rank reduces at the same poll point: the same verdict and the same next count */
  MPI_Allreduce(poll.send, poll.recv, 3, MPI_DOUBLE, MPI_MAX, poll.comm);
  if (poll.recv[1] > poll.rss) poll.rss = poll.recv[1];
  if (poll.recv[0] > 0) {
    poll.agreed = 1;
    pirf_error_set_trace(0); /* PIRF_STOPPED on its way up is no error: no "called from" lines */
    return PIRF_STOPPED;
  }
  const long next = (long)-poll.recv[2];
  poll.skip = next < 1 ? 1 : next;
  if (poll.hook) poll.hook(poll.ctx);
  return 0;
}

double pirf_stop_poll_rss_mib(void) { return poll.rss; }
double pirf_stop_poll_max_gap(void) { return poll.max_gap; }
long pirf_stop_poll_count(void) { return poll.count; }
