/* checkpoint_loads_on_a_different_layout: a checkpoint written by w ranks loads bit-identically on
 * a different number of ranks, the Adam moments landing in the new owners' shards.
 *
 * Writers: the first w ranks of the world (w = 1, and 3 when there are 4 ranks: 3 leaves uneven
 * shards). Readers: the whole world, and its first 2 ranks. Weights and moments are pure functions
 * of the float index (ckpt_fixture.h), so each reader checks its replicas and its own shard
 * without gathering. */
#include "ckpt_fixture.h"
#include "testing.h"

#include <stdlib.h>

static MPI_Comm first_ranks(int w) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm c;
  MPI_Comm_split(MPI_COMM_WORLD, rank < w ? 0 : MPI_UNDEFINED, rank, &c);
  return c;
}

static void write_on(const char *path, int w, const pirf_param_table *t, size_t first,
                     size_t count) {
  MPI_Comm c = first_ranks(w);
  if (c != MPI_COMM_NULL) {
    float *a[3];
    for (int g = 0; g < 3; g++) {
      a[g] = calloc(t->total, sizeof(float));
      fixture_fill(a[g], 0, t->total, g);
    }
    pirf_adam opt;
    pirf_adam_create(&opt, c, first, count, NULL);
    fixture_fill(opt.m, opt.lo, opt.n, 3);
    fixture_fill(opt.v, opt.lo, opt.n, 4);
    opt.t = 5;
    pirf_checkpoint ck = {a[0], a[1], a[2],
                          {opt.first, opt.count, opt.lo, opt.n, opt.m, opt.v, &opt.t}, 5, 200,
                          {1, 2, 3, 4}};
    TEST_CHECK(pirf_checkpoint_write(path, c, t, &ck, "deck: {}") == 0, "write on %d ranks", w);
    pirf_adam_destroy(&opt);
    for (int g = 0; g < 3; g++) free(a[g]);
    MPI_Comm_free(&c);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void read_on(const char *path, int w, int r, const pirf_param_table *t, size_t first,
                    size_t count) {
  MPI_Comm c = first_ranks(r);
  if (c != MPI_COMM_NULL) {
    float *b[3];
    for (int g = 0; g < 3; g++) b[g] = calloc(t->total, sizeof(float));
    pirf_adam opt;
    pirf_adam_create(&opt, c, first, count, NULL);
    pirf_checkpoint ck = {b[0], b[1], b[2],
                          {opt.first, opt.count, opt.lo, opt.n, opt.m, opt.v, &opt.t}, 0, 0, {0}};
    TEST_CHECK(pirf_checkpoint_read(path, c, t, &ck, NULL) == 0, "read on %d ranks", r);
    size_t bad[5] = {0};
    for (int g = 0; g < 3; g++)
      for (size_t k = 0; k < t->total; k++) bad[g] += b[g][k] != fixture_value(g, k);
    for (size_t i = 0; i < opt.n; i++) {
      bad[3] += opt.m[i] != fixture_value(3, opt.lo + i);
      bad[4] += opt.v[i] != fixture_value(4, opt.lo + i);
    }
    const char *what[5] = {"net", "ema", "ref", "adam_m shard", "adam_v shard"};
    for (int g = 0; g < 5; g++)
      TEST_CHECK(!bad[g], "written on %d ranks, read on %d: %zu floats of %s differ", w, r, bad[g],
                 what[g]);
    TEST_CHECK(opt.t == 5 && ck.step == 5 && ck.n_img == 200 && ck.rng[3] == 4,
               "written on %d ranks, read on %d: counters differ", w, r);
    pirf_adam_destroy(&opt);
    for (int g = 0; g < 3; g++) free(b[g]);
    MPI_Comm_free(&c);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pirf_param p[FIXTURE_N];
  pirf_param_table t;
  fixture_table(&t, p, FIXTURE_N, NULL);
  const size_t first = p[FIXTURE_TRAIN_FROM].offset, count = t.total - first;
  const int writers[2] = {1, 3};
  for (int k = 0; k < 2; k++) {
    int w = writers[k];
    if (w > size) continue;
    char path[128];
    snprintf(path, sizeof path, "ckpt_layout_np%d_w%d.h5", size, w);
    write_on(path, w, &t, first, count);
    if (size != w) read_on(path, w, size, &t, first, count);
    if (size > 2 && w != 2) read_on(path, w, 2, &t, first, count);
  }
  int rc = test_finish("checkpoint_loads_on_a_different_layout");
  MPI_Finalize();
  return rc;
}
