/* The one-cell halo exchange of activation tiles and its adjoint (see pirf/halo.h).
 *
 * The 8 directions (dy, dx) in {-1,0,1}^2 \ {(0,0)} each carry one message per call: all n planes
 * of one edge (or corner) packed together. For direction (dy, dx):
 *   - the interior strip this rank's neighbour there needs is row 0 (dy = -1), row ym-1 (dy = +1)
 *     or all rows (dy = 0), and likewise for columns;
 *   - the frame strip that neighbour owns is padded row 0, ym+1 or rows 1..ym, likewise columns.
 * A message sent towards (dy, dx) is tagged with that direction; the receiver expects it from its
 * neighbour at (-dy, -dx) under the same tag. The boundary is not periodic, so one rank is never
 * the neighbour in two directions and tags cannot be confused. */
#include "pirf/halo.h"
#include "pirf/check.h"
#include "pirf/prof.h"

#include <string.h>

typedef struct {
  int r0, nr, c0, nc; /* a rectangle of rows and columns */
} rect;

static int dir_index(int dy, int dx) { return (dy + 1) * 3 + (dx + 1); }

/* The strip of the unpadded tile adjacent to the neighbour in direction (dy, dx). */
static rect interior_strip(const pirf_level *L, int dy, int dx) {
  rect r = {dy > 0 ? L->ym - 1 : 0, dy ? 1 : L->ym, dx > 0 ? L->xm - 1 : 0, dx ? 1 : L->xm};
  return r;
}

/* The part of the padded frame owned by the neighbour in direction (dy, dx), in padded indices. */
static rect frame_strip(const pirf_level *L, int dy, int dx) {
  rect r = {dy < 0 ? 0 : (dy > 0 ? L->ym + 1 : 1), dy ? 1 : L->ym,
            dx < 0 ? 0 : (dx > 0 ? L->xm + 1 : 1), dx ? 1 : L->xm};
  return r;
}

size_t pirf_halo_scratch_floats(const pirf_level *L, int n) {
  /* send + receive, each n planes of 2 rows, 2 columns and 4 corners */
  return 2 * (size_t)n * (2 * (size_t)L->xm + 2 * (size_t)L->ym + 4);
}

static void pack(float *buf, const float *a, int n, size_t plane, int ld, rect s) {
  for (int p = 0; p < n; p++)
    for (int r = 0; r < s.nr; r++) {
      memcpy(buf, a + p * plane + (size_t)(s.r0 + r) * ld + s.c0, (size_t)s.nc * sizeof *buf);
      buf += s.nc;
    }
}

static void unpack_set(float *a, const float *buf, int n, size_t plane, int ld, rect s) {
  for (int p = 0; p < n; p++)
    for (int r = 0; r < s.nr; r++) {
      memcpy(a + p * plane + (size_t)(s.r0 + r) * ld + s.c0, buf, (size_t)s.nc * sizeof *buf);
      buf += s.nc;
    }
}

static void unpack_add(float *a, const float *buf, int n, size_t plane, int ld, rect s) {
  for (int p = 0; p < n; p++)
    for (int r = 0; r < s.nr; r++) {
      float *row = a + p * plane + (size_t)(s.r0 + r) * ld + s.c0;
      for (int c = 0; c < s.nc; c++) row[c] += buf[c];
      buf += s.nc;
    }
}

static void zero_rect(float *a, int n, size_t plane, int ld, rect s) {
  for (int p = 0; p < n; p++)
    for (int r = 0; r < s.nr; r++)
      memset(a + p * plane + (size_t)(s.r0 + r) * ld + s.c0, 0, (size_t)s.nc * sizeof *a);
}

/* One exchange: for every direction with a neighbour, send `src` strips (packed by the caller into
 * sendbuf at offsets off[d]) and receive the opposite neighbour's strips into recvbuf. */
static int exchange(const pirf_level *L, float *sendbuf, float *recvbuf, const size_t *off,
                    const int *count) {
  MPI_Request req[16];
  int nreq = 0;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int d = dir_index(dy, dx), nb = L->nbr[dy + 1][dx + 1];
      if (d == 4 || nb == MPI_PROC_NULL) continue;
      /* the neighbour at (dy, dx) sent its message towards (-dy, -dx) */
      PIRF_MPI(MPI_Irecv(recvbuf + off[d], count[d], MPI_FLOAT, nb, dir_index(-dy, -dx), L->comm,
                         &req[nreq++]));
    }
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int d = dir_index(dy, dx), nb = L->nbr[dy + 1][dx + 1];
      if (d == 4 || nb == MPI_PROC_NULL) continue;
      PIRF_MPI(MPI_Isend(sendbuf + off[d], count[d], MPI_FLOAT, nb, d, L->comm, &req[nreq++]));
    }
  PIRF_MPI(MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE));
  return 0;
}

/* Offsets and sizes of the 8 strips in a send or receive buffer (the same layout for both). */
static void layout(const pirf_level *L, int n, size_t off[9], int count[9]) {
  size_t o = 0;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int d = dir_index(dy, dx);
      rect s = interior_strip(L, dy, dx);
      off[d] = o;
      count[d] = d == 4 ? 0 : n * s.nr * s.nc;
      o += (size_t)count[d];
    }
}

int pirf_halo_pad(const pirf_level *L, int n, const float *x, float *xp, float *buf) {
  const int xm = L->xm, ym = L->ym, ldp = xm + 2;
  const size_t plane = (size_t)xm * ym, pplane = (size_t)ldp * (ym + 2);
  size_t off[9];
  int count[9];
  layout(L, n, off, count);
  float *sendbuf = buf, *recvbuf = buf + pirf_halo_scratch_floats(L, n) / 2;
  rect inner = {1, ym, 1, xm};
  unpack_set(xp, x, n, pplane, ldp, inner); /* x is dense [n][ym][xm]: the same order as a buffer */
  /* the event is the frame: packing, the messages and unpacking (the interior copy is the
   * convolution's own layout change, the same on one tile) */
  pirf_prof_begin(PIRF_EV_HALO);
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      if (dir_index(dy, dx) != 4 && L->nbr[dy + 1][dx + 1] != MPI_PROC_NULL)
        pack(sendbuf + off[dir_index(dy, dx)], x, n, plane, xm, interior_strip(L, dy, dx));
  PIRF_TRY(exchange(L, sendbuf, recvbuf, off, count));
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int d = dir_index(dy, dx);
      if (d == 4) continue;
      if (L->nbr[dy + 1][dx + 1] == MPI_PROC_NULL)
        zero_rect(xp, n, pplane, ldp, frame_strip(L, dy, dx)); /* zero padding */
      else
        unpack_set(xp, recvbuf + off[d], n, pplane, ldp, frame_strip(L, dy, dx));
    }
  pirf_prof_end(PIRF_EV_HALO, 0);
  return 0;
}

int pirf_halo_unpad_add(const pirf_level *L, int n, const float *xpbar, float *xbar, float *buf) {
  const int xm = L->xm, ym = L->ym, ldp = xm + 2;
  const size_t plane = (size_t)xm * ym, pplane = (size_t)ldp * (ym + 2);
  size_t off[9];
  int count[9];
  layout(L, n, off, count);
  float *sendbuf = buf, *recvbuf = buf + pirf_halo_scratch_floats(L, n) / 2;
  /* the interior first, then the frames the neighbours return (the same order of additions as
   * on one tile, where there are none) */
  for (int p = 0; p < n; p++)
    for (int r = 0; r < ym; r++) {
      const float *src = xpbar + p * pplane + (size_t)(r + 1) * ldp + 1;
      float *dst = xbar + p * plane + (size_t)r * xm;
      for (int c = 0; c < xm; c++) dst[c] += src[c];
    }
  pirf_prof_begin(PIRF_EV_HALO_ADJOINT);
  /* The frame strip towards (dy, dx) has the shape of this rank's interior strip towards (dy, dx)
   * (a row, a column or a corner of the same length), so the buffer layout is shared. */
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      if (dir_index(dy, dx) != 4 && L->nbr[dy + 1][dx + 1] != MPI_PROC_NULL)
        pack(sendbuf + off[dir_index(dy, dx)], xpbar, n, pplane, ldp, frame_strip(L, dy, dx));
  PIRF_TRY(exchange(L, sendbuf, recvbuf, off, count));
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int d = dir_index(dy, dx);
      if (d != 4 && L->nbr[dy + 1][dx + 1] != MPI_PROC_NULL)
        unpack_add(xbar, recvbuf + off[d], n, plane, xm, interior_strip(L, dy, dx));
    }
  pirf_prof_end(PIRF_EV_HALO_ADJOINT, 0);
  return 0;
}
