/* Stops and progress lines for generate, sample and evaluate (see pirf/watch.h). */
#include "pirf/watch.h"

#include "pirf/check.h"
#include "pirf/log.h"
#include "pirf/stop.h"

#include <stdio.h>
#include <unistd.h>

long pirf_rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void pirf_watch_begin(pirf_watch *w, const char *label, const char *unit, long total, long done0,
                      double interval) {
  w->label = label;
  w->unit = unit;
  w->total = total;
  w->done = w->done0 = done0;
  w->interval = interval;
  w->t_start = w->t_last = pirf_wtime();
  w->rss_max_kib = pirf_rss_kib();
  w->signal = 0;
}

static void print_line(pirf_watch *w, const char *note, int final) {
  double now = pirf_wtime(), el = now - w->t_start;
  double rate = el > 0 ? (double)(w->done - w->done0) / el : 0.0;
  double eta = rate > 0 ? (double)(w->total - w->done) / rate : -1.0;
  char b1[16], b2[16];
  pirf_log("[%s] %ld/%ld %s  %.3g %s/s  elapsed %s  %s %s  RSS %.0f MiB/rank (max)%s%s\n",
           w->label, w->done, w->total, w->unit, rate, w->unit, pirf_format_duration(el, b1),
           final ? "done" : "ETA", final ? "" : pirf_format_duration(eta, b2),
           (double)w->rss_max_kib / 1024.0, note && *note ? "  " : "", note ? note : "");
  w->t_last = now;
}

/* Stop flag and RSS, reduced (MAX) over comm in one call. */
static int reduce(pirf_watch *w, MPI_Comm comm, int *stop) {
  long v[2] = {pirf_stop_signal(), pirf_rss_kib()};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_LONG, MPI_MAX, comm));
  *stop = v[0] != 0;
  if (v[0]) w->signal = (int)v[0];
  if (v[1] > w->rss_max_kib) w->rss_max_kib = v[1];
  return 0;
}

int pirf_watch_poll(pirf_watch *w, MPI_Comm comm, const char *note) {
  int stop = 0;
  PIRF_TRY(reduce(w, comm, &stop));
  if (stop) return PIRF_STOPPED;
  if (pirf_wtime() - w->t_last >= w->interval) print_line(w, note, 0);
  return 0;
}

int pirf_watch_round(pirf_watch *w, MPI_Comm world, long done, const char *note) {
  int stop = 0;
  w->done = done;
  w->rss_max_kib = 0; /* the current maximum over the world, not the peak of one group */
  PIRF_TRY(reduce(w, world, &stop));
  if (stop) return PIRF_STOPPED;
  if (pirf_wtime() - w->t_last >= w->interval && done < w->total) print_line(w, note, 0);
  return 0;
}

void pirf_watch_heartbeat(pirf_watch *w, const char *note) {
  if (pirf_wtime() - w->t_last >= w->interval && w->done < w->total) print_line(w, note, 0);
}

void pirf_watch_end(pirf_watch *w, const char *extra) {
  w->done = w->total;
  print_line(w, extra, 1);
}
