/* checkpoint_resume_continues_training_exactly: three training steps (Adam with the LR ramp, then
 * the EMA update) on the whole world give the same weights, EMA and moments, bit for bit, as two
 * steps on a smaller communicator, a checkpoint, and the third step after reading it back on the
 * whole world. The checkpoint carries everything the step needs: weights, EMA, moments, Adam's t,
 * and n_img (the LR and the EMA decay depend on it).
 *
 * The gradient of a step is the sum of four "contributors"; a rank of a w-rank communicator adds
 * the contributors j with j % w == rank. The contributions are multiples of 1/64 below 8, so every
 * partial sum is exact in float and the reduced gradient does not depend on the layout: the only
 * way to get a different result is a checkpoint that loses or misplaces state. */
#include "ckpt_fixture.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>

enum { BATCH = 8 };

static void local_grad(int step, MPI_Comm c, const pirf_param_table *t, float *g) {
  int rank, w;
  MPI_Comm_rank(c, &rank);
  MPI_Comm_size(c, &w);
  for (size_t i = 0; i < t->total; i++) {
    double s = 0;
    for (int j = rank; j < 4; j += w)
      s += round(pirf_rng_normal(5, PIRF_STREAM_TEST, (uint32_t)step, (uint32_t)j, 0, (uint32_t)i) *
                 64.0) / 64.0;
    g[i] = (float)s;
  }
}

/* One training step as a run does it; n_img counts images before the step. */
static void train_step(int step, MPI_Comm c, const pirf_param_table *t, pirf_adam *opt, float *net,
                       float *ema, long *n_img) {
  float *g = calloc(t->total, sizeof *g);
  local_grad(step, c, t, g);
  double lr = pirf_lr_at(1e-2, 0.02, (double)*n_img); /* a 20-image ramp: 0, 0.4, 0.8 of lr */
  TEST_CHECK(pirf_adam_step(opt, net, g, 0.25, lr, NULL) == 0, "step %d", step);
  pirf_ema_update(ema, net, t->total, pirf_ema_beta((double)*n_img, BATCH, 0.05, 0.5));
  *n_img += BATCH;
  free(g);
}

static MPI_Comm first_ranks(int w) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm c;
  MPI_Comm_split(MPI_COMM_WORLD, rank < w ? 0 : MPI_UNDEFINED, rank, &c);
  return c;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pirf_param p[FIXTURE_N];
  pirf_param_table t;
  fixture_table(&t, p, FIXTURE_N, NULL);
  const size_t first = p[FIXTURE_TRAIN_FROM].offset, count = t.total - first;
  const size_t bytes = t.total * sizeof(float);

  /* Uninterrupted: three steps on the world. */
  float *net_a = malloc(bytes), *ema_a = malloc(bytes);
  fixture_fill(net_a, 0, t.total, 0);
  fixture_fill(ema_a, 0, t.total, 0);
  pirf_adam a;
  pirf_adam_create(&a, MPI_COMM_WORLD, first, count, NULL);
  long n_img_a = 0;
  for (int s = 0; s < 3; s++) train_step(s, MPI_COMM_WORLD, &t, &a, net_a, ema_a, &n_img_a);

  const int writers[2] = {1, size - 1};
  for (int k = 0; k < 2; k++) {
    int w = writers[k];
    char path[128];
    snprintf(path, sizeof path, "ckpt_resume_np%d_w%d.h5", size, w);
    /* Two steps on w ranks, then a checkpoint. */
    MPI_Comm c = first_ranks(w);
    if (c != MPI_COMM_NULL) {
      float *net = malloc(bytes), *ema = malloc(bytes);
      fixture_fill(net, 0, t.total, 0);
      fixture_fill(ema, 0, t.total, 0);
      pirf_adam b;
      pirf_adam_create(&b, c, first, count, NULL);
      long n_img = 0;
      for (int s = 0; s < 2; s++) train_step(s, c, &t, &b, net, ema, &n_img);
      pirf_checkpoint ck = {net, ema, NULL, {b.first, b.count, b.lo, b.n, b.m, b.v, &b.t},
                            2, n_img, {0}};
      TEST_CHECK(pirf_checkpoint_write(path, c, &t, &ck, NULL) == 0, "write on %d ranks", w);
      pirf_adam_destroy(&b);
      free(net), free(ema);
      MPI_Comm_free(&c);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Resume on the world and take the third step. */
    float *net = calloc(t.total, sizeof(float)), *ema = calloc(t.total, sizeof(float));
    pirf_adam r;
    pirf_adam_create(&r, MPI_COMM_WORLD, first, count, NULL);
    pirf_checkpoint ck = {net, ema, NULL, {r.first, r.count, r.lo, r.n, r.m, r.v, &r.t}, 0, 0, {0}};
    TEST_CHECK(pirf_checkpoint_read(path, MPI_COMM_WORLD, &t, &ck, NULL) == 0, "read");
    long n_img = ck.n_img;
    train_step(2, MPI_COMM_WORLD, &t, &r, net, ema, &n_img);
    TEST_CHECK(!memcmp(net, net_a, bytes), "written on %d of %d ranks: weights differ after the "
               "resumed step", w, size);
    TEST_CHECK(!memcmp(ema, ema_a, bytes), "written on %d of %d ranks: EMA differs", w, size);
    TEST_CHECK(!memcmp(r.m, a.m, r.n * sizeof(float)) && !memcmp(r.v, a.v, r.n * sizeof(float)),
               "written on %d of %d ranks: moments differ", w, size);
    TEST_CHECK(r.t == 3 && n_img == n_img_a, "t %ld, n_img %ld (expected 3, %ld)", r.t, n_img,
               n_img_a);
    pirf_adam_destroy(&r);
    free(net), free(ema);
  }
  pirf_adam_destroy(&a);
  free(net_a), free(ema_a);
  int rc = test_finish("checkpoint_resume_continues_training_exactly");
  MPI_Finalize();
  return rc;
}
