/* checkpoint_mismatch_is_a_user_error: reading a checkpoint written for another network is a
 * collective user error (PIRF_ERR_USER, exit status 2 in `pirf`) whose one message, printed by
 * rank 0, names the tensor, both shapes and the file and points at the model.* keys:
 *   - a tensor with another shape,
 *   - a tensor the file lacks (renamed),
 *   - a tensor the model lacks (the file has more),
 *   - moments requested from a file without optimizer state.
 * Rank 0's stderr is captured in a file during each read and searched for the expected words. */
#include "ckpt_fixture.h"
#include "pirf/check.h"
#include "testing.h"

#include <stdlib.h>
#include <unistd.h>

static void conv_1x1(pirf_param *p, int i) {
  if (i == 4) p->shape[2] = p->shape[3] = 1; /* dec.8x8_block0.conv0.weight (5,4,3,3) -> (5,4,1,1) */
}
static void renamed(pirf_param *p, int i) {
  if (i == 2) snprintf(p->name, sizeof p->name, "map_layer9.weight");
}

/* Run a read with rank 0's stderr redirected; return the error code and what was printed. */
static int read_capturing(const char *path, const pirf_param_table *t, pirf_checkpoint *ck,
                          char *text, size_t len) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char log[128];
  snprintf(log, sizeof log, "ckpt_mismatch_stderr_%d.txt", rank);
  fflush(stderr);
  int saved = dup(2);
  FILE *f = fopen(log, "w+");
  dup2(fileno(f), 2);
  int err = pirf_checkpoint_read(path, MPI_COMM_WORLD, t, ck, NULL);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(f);
  size_t n = fread(text, 1, len - 1, f);
  text[n] = 0;
  fclose(f);
  unlink(log);
  return err;
}

static void expect_user_error(const char *what, const char *path, const pirf_param_table *t,
                              pirf_checkpoint *ck, const char *const *words) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char text[4096];
  int err = read_capturing(path, t, ck, text, sizeof text);
  TEST_CHECK(err == PIRF_ERR_USER && pirf_error_is_collective(),
             "%s: the read returned %d, expected a collective user error (%d)", what, err,
             PIRF_ERR_USER);
  if (rank == 0) {
    for (int k = 0; words[k]; k++)
      TEST_CHECK(strstr(text, words[k]) != NULL, "%s: the message lacks \"%s\":\n%s", what,
                 words[k], text);
    printf("%s:\n%s", what, text);
  } else {
    TEST_CHECK(text[0] == 0, "%s: rank %d printed too:\n%s", what, rank, text);
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pirf_param pa[FIXTURE_N], pb[FIXTURE_N];
  pirf_param_table ta, tb;
  fixture_table(&ta, pa, FIXTURE_N, NULL);
  char path[128];
  snprintf(path, sizeof path, "ckpt_mismatch_np%d.h5", size);

  float *net = calloc(ta.total, sizeof(float)), *ema = calloc(ta.total, sizeof(float));
  fixture_fill(net, 0, ta.total, 0);
  fixture_fill(ema, 0, ta.total, 1);
  pirf_checkpoint ck = {net, ema, NULL, {0}, 1, 40, {0}};
  TEST_CHECK(!pirf_checkpoint_write(path, MPI_COMM_WORLD, &ta, &ck, NULL), "write");

  /* A different shape. */
  fixture_table(&tb, pb, FIXTURE_N, conv_1x1);
  float *other = calloc(ta.total, sizeof(float));
  pirf_checkpoint rd = {other, NULL, NULL, {0}, 0, 0, {0}};
  const char *shape_words[] = {"different model configuration", "dec.8x8_block0.conv0.weight",
                               "(5, 4, 3, 3)", "(5, 4, 1, 1)", path, "model.*", NULL};
  expect_user_error("a tensor with another shape", path, &tb, &rd, shape_words);

  /* A tensor the file lacks. */
  fixture_table(&tb, pb, FIXTURE_N, renamed);
  const char *missing_words[] = {"different model configuration", "map_layer9.weight", "(16, 8)",
                                 path, "model.*", NULL};
  expect_user_error("a tensor the file lacks", path, &tb, &rd, missing_words);

  /* A tensor the model lacks: the table without its last tensor. */
  fixture_table(&tb, pb, FIXTURE_N - 1, NULL);
  const char *extra_words[] = {"different model configuration", "dec.8x8_aux_conv.bias", path,
                               "model.*", NULL};
  expect_user_error("a tensor the model lacks", path, &tb, &rd, extra_words);

  /* Moments from a file that has none. */
  pirf_adam opt;
  pirf_adam_create(&opt, MPI_COMM_WORLD, pa[FIXTURE_TRAIN_FROM].offset,
                   ta.total - pa[FIXTURE_TRAIN_FROM].offset, NULL);
  pirf_checkpoint rm = {other, NULL, NULL,
                        {opt.first, opt.count, opt.lo, opt.n, opt.m, opt.v, &opt.t}, 0, 0, {0}};
  const char *adam_words[] = {"/adam_m", path, "optimizer state", NULL};
  expect_user_error("moments from a file without them", path, &ta, &rm, adam_words);

  /* A file that is not there. */
  const char *absent_words[] = {"no-such-checkpoint.h5", "check the path", NULL};
  expect_user_error("a missing file", "no-such-checkpoint.h5", &ta, &rd, absent_words);

  /* The matching table still reads (the error paths closed everything they opened). */
  pirf_error_set_trace(1);
  TEST_CHECK(pirf_checkpoint_read(path, MPI_COMM_WORLD, &ta, &rd, NULL) == 0,
             "the matching table does not read");
  TEST_CHECK(!memcmp(other, net, ta.total * sizeof(float)), "weights differ");
  pirf_adam_destroy(&opt);
  free(net), free(ema), free(other);
  int rc = test_finish("checkpoint_mismatch_is_a_user_error");
  MPI_Finalize();
  return rc;
}
