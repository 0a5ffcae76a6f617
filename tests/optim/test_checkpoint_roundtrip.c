/* checkpoint_roundtrip_is_exact: write a checkpoint (net, ema, ref, sharded Adam moments, counters,
 * deck) and read it back at the same rank count: every float, counter and the deck text come back
 * bit for bit. Then rank 0 opens the file serially and checks the layout docs/checkpoints.md
 * promises: every tensor at /net|ema|ref/<state_dict name> in its PyTorch shape holding exactly the
 * arena's floats in row-major order, moments only for the trainable tensors, the attributes, and no
 * "<path>.partial" left behind. */
#include "ckpt_fixture.h"
#include "testing.h"

#include <stdlib.h>
#include <unistd.h>

static void check_file_layout(const char *path, const pirf_param_table *t, const float *arenas[5],
                              size_t first) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  TEST_CHECK(file >= 0, "cannot open '%s' serially", path);
  if (file < 0) return;
  const char *groups[5] = {"net", "ema", "ref", "adam_m", "adam_v"};
  for (int g = 0; g < 5; g++) {
    for (int i = 0; i < t->n; i++) {
      const pirf_param *p = &t->p[i];
      char name[256];
      snprintf(name, sizeof name, "/%s/%s", groups[g], p->name);
      int expected = g < 3 || p->offset >= first;
      int exists = H5Lexists(file, groups[g], H5P_DEFAULT) > 0 &&
                   H5Lexists(file, name, H5P_DEFAULT) > 0;
      TEST_CHECK(exists == expected, "%s %s", name, expected ? "is missing" : "should not exist");
      if (!exists || !expected) continue;
      hid_t d = H5Dopen2(file, name, H5P_DEFAULT), s = H5Dget_space(d), ty = H5Dget_type(d);
      hsize_t dims[4] = {0};
      int nd = H5Sget_simple_extent_ndims(s);
      H5Sget_simple_extent_dims(s, dims, NULL);
      int same = nd == p->ndim;
      for (int k = 0; same && k < nd; k++) same = dims[k] == (hsize_t)p->shape[k];
      TEST_CHECK(same, "%s has %d dimensions, not the PyTorch shape", name, nd);
      TEST_CHECK(H5Tget_class(ty) == H5T_FLOAT && H5Tget_size(ty) == 4, "%s is not float32", name);
      float *buf = calloc(p->count, sizeof *buf);
      H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      const float *want = g < 3 ? arenas[g] + p->offset : arenas[g] + (p->offset - first);
      size_t bad = 0;
      for (size_t k = 0; k < p->count; k++) bad += buf[k] != want[k];
      TEST_CHECK(!bad, "%s: %zu of %zu floats differ from the arena (row-major order)", name, bad,
                 p->count);
      free(buf);
      H5Tclose(ty), H5Sclose(s), H5Dclose(d);
    }
  }
  long v = 0;
  TEST_CHECK(pirf_attr_read_long(file, "format_version", &v) == 0 && v == PIRF_CHECKPOINT_VERSION,
             "format_version %ld", v);
  char *kind = NULL;
  TEST_CHECK(pirf_attr_read_str(file, "kind", &kind) == 0 && kind && !strcmp(kind, "pirf checkpoint"),
             "kind attribute '%s'", kind ? kind : "(none)");
  free(kind);
  H5Fclose(file);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pirf_param p[FIXTURE_N];
  pirf_param_table t;
  fixture_table(&t, p, FIXTURE_N, NULL);
  const size_t first = p[FIXTURE_TRAIN_FROM].offset, count = t.total - first;
  char path[128];
  snprintf(path, sizeof path, "ckpt_roundtrip_np%d.h5", size);

  float *a[3], *b[3];
  for (int g = 0; g < 3; g++) {
    a[g] = calloc(t.total, sizeof(float));
    b[g] = calloc(t.total, sizeof(float));
    fixture_fill(a[g], 0, t.total, g);
  }
  pirf_adam opt, opt2;
  pirf_adam_create(&opt, MPI_COMM_WORLD, first, count, NULL);
  pirf_adam_create(&opt2, MPI_COMM_WORLD, first, count, NULL);
  fixture_fill(opt.m, opt.lo, opt.n, 3);
  fixture_fill(opt.v, opt.lo, opt.n, 4);
  opt.t = 17;
  pirf_checkpoint ck = {a[0], a[1], a[2], {opt.first, opt.count, opt.lo, opt.n, opt.m, opt.v, &opt.t},
                        1234, 49360, {42, 7, 0xFFFFFFFFFFFFFFFFull, 3}};
  const char *deck = "model:\n  channels: 128\noptim:\n  lr: 0.0001\n";
  TEST_CHECK(pirf_checkpoint_write(path, MPI_COMM_WORLD, &t, &ck, deck) == 0, "write failed");

  pirf_checkpoint back = {b[0], b[1], b[2],
                          {opt2.first, opt2.count, opt2.lo, opt2.n, opt2.m, opt2.v, &opt2.t}, 0, 0,
                          {0}};
  char *deck_back = NULL;
  TEST_CHECK(pirf_checkpoint_read(path, MPI_COMM_WORLD, &t, &back, &deck_back) == 0, "read failed");
  const char *names[3] = {"net", "ema", "ref"};
  for (int g = 0; g < 3; g++)
    TEST_CHECK(!memcmp(a[g], b[g], t.total * sizeof(float)), "%s weights differ after the round trip",
               names[g]);
  TEST_CHECK(!memcmp(opt.m, opt2.m, opt.n * sizeof(float)) &&
             !memcmp(opt.v, opt2.v, opt.n * sizeof(float)), "Adam moments differ after the round trip");
  TEST_CHECK(opt2.t == 17, "Adam step %ld, expected 17", opt2.t);
  TEST_CHECK(back.step == 1234 && back.n_img == 49360, "step %ld n_img %ld", back.step, back.n_img);
  TEST_CHECK(!memcmp(back.rng, ck.rng, sizeof ck.rng), "RNG counters differ (%llu %llu %llu %llu)",
             (unsigned long long)back.rng[0], (unsigned long long)back.rng[1],
             (unsigned long long)back.rng[2], (unsigned long long)back.rng[3]);
  TEST_CHECK(deck_back && !strcmp(deck_back, deck), "deck text differs: '%s'",
             deck_back ? deck_back : "(null)");
  free(deck_back);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    char partial[160];
    snprintf(partial, sizeof partial, "%s.partial", path);
    TEST_CHECK(access(partial, F_OK) != 0, "'%s' was left behind", partial);
    /* The moments of the whole range, in arena order, for the layout check. */
    float *m = calloc(count, sizeof *m), *v = calloc(count, sizeof *v);
    fixture_fill(m, first, count, 3);
    fixture_fill(v, first, count, 4);
    const float *arenas[5] = {a[0], a[1], a[2], m, v};
    check_file_layout(path, &t, arenas, first);
    free(m), free(v);
  }
  pirf_adam_destroy(&opt);
  pirf_adam_destroy(&opt2);
  for (int g = 0; g < 3; g++) free(a[g]), free(b[g]);
  int rc = test_finish("checkpoint_roundtrip_is_exact");
  MPI_Finalize();
  return rc;
}
