/* The files and the checks of the `pirf denoise` tests (tests/denoise.cmake), one rank:
 *
 *   denoise_case make DIR
 *     DIR/ckpt.h5     a checkpoint of the tiny test network (model_harness.h: 16x16, Darcy's 2
 *                     channels, every module kind) with random weights (/ema and /net differ) and
 *                     its resolved deck; ckpt_nodeck.h5 the same with an empty deck (PyTorch's); DIR/state/pretrain-state.h5 the same with Adam moments
 *     DIR/x.h5, g.h5  5 random fields and cotangents; x_c3.h5 (3 channels), x_r32.h5 (32x32),
 *                     g_n4.h5 (4 samples): inputs that do not fit
 *   denoise_case check DIR SIGMA ema|net Y.h5 [Y.h5 ...]
 *     every Y.h5 written by `pirf denoise --cotangent DIR/g.h5` (any rank layout, any batch) holds
 *       /fields    = pirf_edm_denoise of the same fields (1e-5 of the largest value),
 *       /vjp_input = (dD/dx)^T G and /vjp/<name> = sum over samples of (dD/dtheta)^T G, equal to
 *                    a direct backward (1e-5) and, along a random direction of x and of all
 *                    weights at once, to fourth-order central differences of <G, D> (1%).
 * Random weights (not EDM's near-zero init) so that every path contributes. */
#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/config.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/precond.h"
#include "model_harness.h"
#include "testing.h"

#include <string.h>
#include <sys/stat.h>

enum { NS = 5, C = 2, R = 16 };

static char *tiny_deck(void) {
  char *over[] = {"pde.name=darcy", "grid.resolution=16", "model.channels=8",
                  "model.channel_mult=[1, 2]", "model.num_blocks=1", "model.attn_resolutions=[8]",
                  "model.dropout=0"};
  pirf_config *cfg = NULL;
  if (pirf_config_load(&cfg, pirf_deck_tables(), NULL, 7, over)) MPI_Abort(MPI_COMM_WORLD, 1);
  char *yaml = pirf_config_to_yaml(cfg);
  pirf_config_destroy(&cfg);
  return yaml;
}

static void write_fields(const char *dir, const char *name, long N, int c, int r, uint32_t seed) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  pirf_dataset ds;
  const size_t n = (size_t)N * c * r * r;
  float *v = model_alloc(n);
  for (size_t i = 0; i < n; i++) v[i] = (float)model_rand(seed, 0, 0, (uint32_t)i);
  pirf_tile_block b = {0, N, 0, r, 0, r};
  if (pirf_dataset_create(&ds, MPI_COMM_WORLD, path, N, c, r, r) ||
      pirf_dataset_write(&ds, &b, v) ||
      pirf_dataset_commit(&ds))
    MPI_Abort(MPI_COMM_WORLD, 1);
  free(v);
}

static int make(const char *dir) {
  char path[4200];
  pirf_unet_config uc = model_tiny_config(0.0);
  pirf_unet net;
  if (pirf_unet_create(&uc, &net)) return 1;
  const size_t P = net.table.total;
  float *ema = model_alloc(P), *raw = model_alloc(P), *m = model_alloc(P), *v = model_alloc(P);
  model_random_params(&net, 3, ema);
  model_random_params(&net, 4, raw);
  char *deck = tiny_deck();
  long t = 0;
  pirf_checkpoint ck = {raw, ema, NULL, {0, 0, 0, 0, NULL, NULL, NULL}, 0, 0, {0}};
  mkdir(dir, 0775);
  snprintf(path, sizeof path, "%s/ckpt.h5", dir);
  if (pirf_checkpoint_write(path, MPI_COMM_WORLD, &net.table, &ck, deck)) return 1;
  /* the same weights with an empty deck, as a checkpoint written from PyTorch has */
  snprintf(path, sizeof path, "%s/ckpt_nodeck.h5", dir);
  if (pirf_checkpoint_write(path, MPI_COMM_WORLD, &net.table, &ck, NULL)) return 1;
  /* a pretraining state of this network, for the resume-mismatch error test */
  ck.moments = (pirf_checkpoint_moments){0, P, 0, P, m, v, &t};
  snprintf(path, sizeof path, "%s/state", dir);
  mkdir(path, 0775);
  snprintf(path, sizeof path, "%s/state/pretrain-state.h5", dir);
  if (pirf_checkpoint_write(path, MPI_COMM_WORLD, &net.table, &ck, deck)) return 1;
  write_fields(dir, "x.h5", NS, C, R, 11);
  write_fields(dir, "g.h5", NS, C, R, 12);
  write_fields(dir, "x_c3.h5", 1, 3, R, 13);
  write_fields(dir, "x_r32.h5", 1, C, 32, 14);
  write_fields(dir, "g_n4.h5", 4, C, R, 15);
  free(deck), free(ema), free(raw), free(m), free(v);
  pirf_unet_destroy(&net);
  return 0;
}

static void read_all(hid_t f, const char *name, float *v) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  TEST_CHECK(d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0,
             "cannot read %s", name);
  if (d >= 0) H5Dclose(d);
}

/* max |a - b| / max |b| */
static double rel_diff(size_t n, const float *a, const float *b) {
  double d = 0, s = 0;
  for (size_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - b[i]));
    s = fmax(s, fabs((double)b[i]));
  }
  return d / (s > 0 ? s : 1);
}

/* <G, D(x; sigma)> over all samples, in double. */
static double gdot(const pirf_unet *net, pirf_unet_work *w, const float *params, const float *x,
                   const double *sigma, const float *g, float *D) {
  if (pirf_edm_denoise(net, w, NULL, params, x, sigma, NS, NULL, D)) MPI_Abort(MPI_COMM_WORLD, 1);
  double s = 0;
  for (size_t i = 0; i < (size_t)NS * C * R * R; i++) s += (double)g[i] * D[i];
  return s;
}

static int check(const char *dir, double sig, const char *weights, int nfiles, char **files) {
  pirf_unet_config uc = model_tiny_config(0.0);
  pirf_unet net;
  pirf_decomp dc;
  pirf_unet_work *w;
  pirf_unet_tape *tape;
  if (pirf_unet_create(&uc, &net) || pirf_decomp_create(MPI_COMM_WORLD, R, R, 1, 1, 2, &dc) ||
      pirf_unet_work_create(&net, &dc, NS, 1, &w) || pirf_unet_tape_create(&net, &dc, NS, &tape))
    return 1;
  const size_t P = net.table.total, n = (size_t)NS * C * R * R;
  float *params = model_alloc(P), *grad = model_alloc(P), *fgrad = model_alloc(P);
  float *x = model_alloc(n), *g = model_alloc(n), *D = model_alloc(n), *dx = model_alloc(n);
  float *fD = model_alloc(n), *fdx = model_alloc(n), *xp = model_alloc(n), *pp = model_alloc(P);
  model_random_params(&net, strcmp(weights, "net") ? 3 : 4, params);
  char path[4200];
  hid_t f;
  snprintf(path, sizeof path, "%s/x.h5", dir);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  read_all(f, "fields", x);
  H5Fclose(f);
  snprintf(path, sizeof path, "%s/g.h5", dir);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  read_all(f, "fields", g);
  H5Fclose(f);
  double sigma[NS];
  for (int b = 0; b < NS; b++) sigma[b] = sig;

  /* the direct evaluation and backward */
  if (pirf_edm_denoise(&net, w, tape, params, x, sigma, NS, NULL, D) ||
      pirf_edm_denoise_backward(&net, w, tape, params, g, grad, 0, net.table.n, dx))
    return 1;

  /* finite differences of <G, D> along v (input) and u (every weight; 2% of each tensor's RMS) */
  float *v = model_alloc(n), *u = model_alloc(P);
  for (size_t i = 0; i < n; i++) v[i] = (float)model_rand(21, 0, 0, (uint32_t)i);
  for (int i = 0; i < net.table.n; i++) {
    const pirf_param *p = &net.table.p[i];
    double rms = 0;
    for (size_t e = 0; e < p->count; e++)
      rms += (double)params[p->offset + e] * params[p->offset + e];
    rms = sqrt(rms / (double)p->count);
    for (size_t e = 0; e < p->count; e++)
      u[p->offset + e] = (float)(0.02 * rms * model_rand(22, (uint32_t)i, 0, (uint32_t)e));
  }
  double fd[2];
  for (int which = 0; which < 2; which++) {
    const double h = which == 0 ? 0.01 : 1.0;
    double f_[4];
    const double steps[4] = {h, -h, 2 * h, -2 * h};
    for (int s = 0; s < 4; s++) {
      if (which == 0) {
        for (size_t i = 0; i < n; i++) xp[i] = (float)(x[i] + steps[s] * v[i]);
        f_[s] = gdot(&net, w, params, xp, sigma, g, fD);
      } else {
        for (size_t i = 0; i < P; i++) pp[i] = (float)(params[i] + steps[s] * u[i]);
        f_[s] = gdot(&net, w, pp, x, sigma, g, fD);
      }
    }
    fd[which] = (8 * (f_[0] - f_[1]) - (f_[2] - f_[3])) / (12 * h);
  }
  const double adx = model_dot(MPI_COMM_SELF, n, v, dx), agr = model_dot(MPI_COMM_SELF, P, u, grad);
  printf("direct backward: <v, dx> %.8g vs finite difference %.8g; <u, dtheta> %.8g vs %.8g\n",
         adx, fd[0], agr, fd[1]);
  TEST_CLOSE(adx, fd[0], 0.01, 0, "direct <v, dD/dx^T G> against finite differences");
  TEST_CLOSE(agr, fd[1], 0.01, 0, "direct <u, dD/dtheta^T G> against finite differences");

  for (int k = 0; k < nfiles; k++) {
    f = H5Fopen(files[k], H5F_ACC_RDONLY, H5P_DEFAULT);
    TEST_CHECK(f >= 0, "cannot open %s", files[k]);
    if (f < 0) continue;
    read_all(f, "fields", fD);
    read_all(f, "vjp_input", fdx);
    double gworst = 0;
    for (int i = 0; i < net.table.n; i++) {
      const pirf_param *p = &net.table.p[i];
      char name[300];
      snprintf(name, sizeof name, "vjp/%s", p->name);
      read_all(f, name, fgrad + p->offset);
      gworst = fmax(gworst, rel_diff(p->count, fgrad + p->offset, grad + p->offset));
    }
    H5Fclose(f);
    const double dD = rel_diff(n, fD, D), ddx = rel_diff(n, fdx, dx);
    const double fdx_ = model_dot(MPI_COMM_SELF, n, v, fdx);
    const double fgr = model_dot(MPI_COMM_SELF, P, u, fgrad);
    printf("%s: D %.3g, vjp_input %.3g, vjp/* worst tensor %.3g (relative to the direct "
           "values); <v, vjp_input> %.8g, <u, vjp> %.8g\n", files[k], dD, ddx, gworst, fdx_, fgr);
    TEST_CHECK(dD <= 1e-5, "%s: /fields differs from pirf_edm_denoise by %g", files[k], dD);
    TEST_CHECK(ddx <= 1e-5, "%s: /vjp_input differs from the direct backward by %g", files[k], ddx);
    TEST_CHECK(gworst <= 1e-5, "%s: /vjp differs from the direct backward by %g", files[k], gworst);
    TEST_CLOSE(fdx_, fd[0], 0.01, 0, "file's <v, vjp_input> against finite differences");
    TEST_CLOSE(fgr, fd[1], 0.01, 0, "file's <u, vjp> against finite differences");
  }
  free(params), free(grad), free(fgrad), free(x), free(g), free(D), free(dx), free(fD), free(fdx);
  free(xp), free(pp), free(v), free(u);
  pirf_unet_tape_destroy(&tape);
  pirf_unet_work_destroy(&w);
  pirf_decomp_destroy(&dc);
  pirf_unet_destroy(&net);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rc = 1;
  if (argc >= 3 && !strcmp(argv[1], "make")) {
    rc = make(argv[2]);
    printf("denoise_case make %s: %s\n", argv[2], rc ? "failed" : "done");
  } else if (argc >= 6 && !strcmp(argv[1], "check")) {
    TEST_CHECK(!check(argv[2], atof(argv[3]), argv[4], argc - 5, argv + 5), "check failed to run");
    rc = test_finish("denoise_matches_direct_evaluation_and_finite_differences");
  } else {
    fprintf(stderr, "usage: denoise_case make DIR | check DIR SIGMA ema|net Y.h5...\n");
  }
  MPI_Finalize();
  return rc;
}
