/* `pirf bench DECK [key=value ...] [-bench_batch B] [-bench_reps N] [-bench_baseline 0|1]
 *             [-bench_conv 0|1] [-bench_network 0|1] [-bench_pirf 0|1]`:
 * how fast this machine runs the network's kernels, against its own measured FP32 peak.
 *
 * Rows of the whole network (src/app/bench_network.c; -bench_network 0 skips them): one
 * evaluation of the deck's EDM-preconditioned SongUNet, one taped forward + full backward, and one
 * training step, with GFLOP/s from the counted FLOPs of all convolutions, linears and attention,
 * and the memory per rank. -bench_conv 0 skips the convolution rows below. -bench_pirf 1 adds one
 * PIRF fine-tuning iteration with the deck's finetune.* settings and batch, split into its phases
 * (src/app/bench_pirf.c); it is off by default because at paper scale an iteration takes minutes.
 *
 * Rows: 3x3 convolution forward, backward-data (dx only) and backward-weights (dw and db) at each
 * U-Net level of the deck (channels = model.channels * model.channel_mult[l], resolution
 * grid.resolution / 2^l, Cin = Cout, on the deck's tile layout parallel.tiles), and at a fixed
 * reference shape (64 x 64, 64 -> 64 channels) that is comparable between decks and machines;
 * after each shape, the bare SGEMM of im2col's size (the bound of a GEMM-based convolution).
 * Each shape is timed with every 3x3 algorithm (shifted GEMMs, row taps, im2col); "*" marks the
 * one the default (PIRF_CONV3_AUTO) picks at that tile size; -bench_baseline 0 times only that one.
 * B samples per data group per call (-bench_batch, default 1). A convolution costs
 * 2 * Cin * Cout * 9 * H * W flops per sample in each of the three directions.
 *
 * Set OPENBLAS_NUM_THREADS (and bind ranks to cores) explicitly when timing; see
 * docs/performance.md for why the "% peak" column uses CPU time.
 * To add a row, write an int fn(void *ctx) and call pirf_bench_row (pirf/bench.h). */
#include "pirf/app.h"
#include "pirf/bench.h"
#include "pirf/check.h"
#include "pirf/conv2d.h"
#include "pirf/deck.h"
#include "pirf/log.h"

#include <cblas.h>
#include <petscsys.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  pirf_level L;
  int B, Cin, Cout, k;
  float *x, *w, *bias, *y, *dy, *dx, *dw, *db, *scratch;
} conv_case;

static int conv_fwd(void *p) {
  conv_case *c = p;
  return pirf_conv2d_forward(&c->L, c->y, c->x, c->w, c->bias, c->B, c->Cin, c->Cout, c->k,
                             c->scratch);
}
static int conv_bwd_data(void *p) {
  conv_case *c = p;
  return pirf_conv2d_backward(&c->L, c->dx, NULL, NULL, c->dy, c->x, c->w, c->B, c->Cin, c->Cout,
                              c->k, c->scratch);
}
static int conv_bwd_weights(void *p) {
  conv_case *c = p;
  return pirf_conv2d_backward(&c->L, NULL, c->dw, c->db, c->dy, c->x, c->w, c->B, c->Cin, c->Cout,
                              c->k, c->scratch);
}

/* The GEMM im2col's forward does, alone (A = w, B = a 9*Cin x N column matrix): the attainable
 * bound for a GEMM-based convolution at this shape. */
typedef struct {
  int M, N, K;
  float *a, *b, *c;
} gemm_case;

static int gemm_run(void *p) {
  gemm_case *g = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, g->a, g->K, g->b,
              g->N, 0.0f, g->c, g->N);
  return 0;
}

/* Deterministic values in [-1, 1] (no denormals, no NaN): the numbers do not matter here. */
static void fill(float *a, size_t n, unsigned seed) {
  unsigned s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    a[i] = (float)((s >> 8) * (2.0 / 16777216.0) - 1.0);
  }
}

static void conv_case_free(conv_case *c) {
  free(c->x), free(c->w), free(c->bias), free(c->y), free(c->dy), free(c->dx), free(c->dw),
      free(c->db), free(c->scratch);
}

/* The three rows of one convolution shape. ndata data groups each run B samples per call. */
static int bench_conv(pirf_bench *b, const pirf_decomp *dc, int level, int B, int Cin, int Cout,
                      int k, const char *tag, int baseline) {
  conv_case c = {.B = B, .Cin = Cin, .Cout = Cout, .k = k};
  pirf_level_init(&c.L, dc, level);
  const size_t nt = (size_t)c.L.xm * c.L.ym, nw = (size_t)Cout * Cin * k * k;
  int err = 0;
  c.x = malloc((size_t)B * Cin * nt * sizeof(float));
  c.dx = calloc((size_t)B * Cin * nt, sizeof(float));
  c.y = malloc((size_t)B * Cout * nt * sizeof(float));
  c.dy = malloc((size_t)B * Cout * nt * sizeof(float));
  c.w = malloc(nw * sizeof(float));
  c.dw = calloc(nw, sizeof(float));
  c.bias = calloc((size_t)Cout, sizeof(float));
  c.db = calloc((size_t)Cout, sizeof(float));
  /* scratch for whichever algorithm needs most (the rows switch between them) */
  enum { NALGO = 4 };
  static const pirf_conv3_algo algos[NALGO] = {PIRF_CONV3_DNNL, PIRF_CONV3_SHIFTED_GEMM,
                                               PIRF_CONV3_ROWS, PIRF_CONV3_IM2COL};
  static const char *algo_names[NALGO] = {"onednn", "shifted", "rows", "im2col"};
  size_t ns = 0;
  for (int a = 0; a < NALGO; a++) {
    pirf_conv2d_set_algo(algos[a]);
    size_t n = pirf_conv2d_scratch_floats(&c.L, B, Cin, Cout, k);
    ns = n > ns ? n : ns;
  }
  pirf_conv2d_set_algo(PIRF_CONV3_AUTO);
  const pirf_conv3_algo chosen = pirf_conv2d_chosen(&c.L);
  /* room for the bare SGEMM row too: B [9*Cin][N] and C [Cout][N] */
  const size_t ngemm = (9 * (size_t)Cin + Cout) * nt;
  ns = ns > ngemm ? ns : ngemm;
  c.scratch = malloc((ns + 1) * sizeof(float));
  if (!c.x || !c.dx || !c.y || !c.dy || !c.w || !c.dw || !c.bias || !c.db || !c.scratch) {
    conv_case_free(&c);
    PIRF_CHECK(0, "out of memory for the benchmark's %dx%d convolution, %d->%d channels, B %d",
               c.L.H, c.L.W, Cin, Cout, B);
  }
  fill(c.x, (size_t)B * Cin * nt, 1);
  fill(c.dy, (size_t)B * Cout * nt, 2);
  fill(c.w, nw, 3);
  const double flops = 2.0 * Cin * Cout * k * k * (double)c.L.H * c.L.W * B * dc->ndata;
  char shape[64], name[64];
  snprintf(shape, sizeof shape, "B%d %d->%d %dx%d%s", B, Cin, Cout, c.L.H, c.L.W, tag);
  static const char *dirs[3] = {"fwd", "bwd-data", "bwd-weights"};
  int (*fns[3])(void *) = {conv_fwd, conv_bwd_data, conv_bwd_weights};
  /* the algorithms back to back per direction, so a drift in machine load hits all alike;
   * "*" marks the one the default (AUTO) uses at this tile size */
  for (int d = 0; d < 3 && !err; d++) {
    for (int a = 0; a < NALGO && !err; a++) {
      if (!baseline && algos[a] != chosen) continue; /* only the default's choice */
      pirf_conv2d_set_algo(algos[a]);
      snprintf(name, sizeof name, "conv%dx%d %s %s%s", k, k, dirs[d], algo_names[a],
               algos[a] == chosen ? "*" : "");
      err = pirf_bench_row(b, name, shape, flops, fns[d], &c);
    }
    /* model.nograd_precision: bf16's forward (oneDNN, operands rounded to bfloat16) */
    if (d == 0 && !err && pirf_conv2d_bf16_supported()) {
      const pirf_conv_fwd was = pirf_conv2d_set_forward(PIRF_CONV_FWD_BF16);
      err = pirf_bench_row(b, "conv3x3 fwd onednn bf16", shape, flops, fns[d], &c);
      pirf_conv2d_set_forward(was);
    }
    /* model.nograd_precision: winograd (flops counted as the direct convolution's) */
    if (d == 0 && !err) {
      const pirf_conv_fwd was = pirf_conv2d_set_forward(PIRF_CONV_FWD_WINOGRAD);
      err = pirf_bench_row(b, "conv3x3 fwd onednn winograd", shape, flops, fns[d], &c);
      pirf_conv2d_set_forward(was);
    }
  }
  pirf_conv2d_set_algo(PIRF_CONV3_AUTO);
  /* the bare SGEMM of the same size, on scratch memory (contents do not matter) */
  gemm_case g = {Cout, c.L.xm * c.L.ym, 9 * Cin, c.w, c.scratch, NULL};
  g.c = g.b + (size_t)g.K * g.N;
  if (!err && ns >= (size_t)(g.K + g.M) * g.N && k == 3)
    err = pirf_bench_row(b, "sgemm M=Cout N=tile K=9Cin", shape,
                         2.0 * g.M * g.N * (double)g.K * dc->nspace * dc->ndata, gemm_run, &g);
  conv_case_free(&c);
  return err;
}

static int bench(pirf_config *cfg) {
  PetscInt B = 1, reps = 5;
  PetscBool baseline = PETSC_TRUE, conv = PETSC_TRUE, network = PETSC_TRUE, pirf = PETSC_FALSE;
  PIRF_PETSC(PetscOptionsGetInt(NULL, NULL, "-bench_batch", &B, NULL));
  PIRF_PETSC(PetscOptionsGetBool(NULL, NULL, "-bench_conv", &conv, NULL));
  PIRF_PETSC(PetscOptionsGetBool(NULL, NULL, "-bench_network", &network, NULL));
  PIRF_PETSC(PetscOptionsGetBool(NULL, NULL, "-bench_pirf", &pirf, NULL));
  PIRF_PETSC(PetscOptionsGetBool(NULL, NULL, "-bench_baseline", &baseline, NULL));
  PIRF_PETSC(PetscOptionsGetInt(NULL, NULL, "-bench_reps", &reps, NULL));
  PIRF_USER_CHECK(B >= 1 && reps >= 1, "-bench_batch and -bench_reps must be positive");
  pirf_decomp dc;
  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc));
  long mult[8];
  const int levels = pirf_cfg_int_list(cfg, "model.channel_mult", mult, 8);
  const int ch = (int)pirf_cfg_int(cfg, "model.channels");
  pirf_log("[bench] %d rank%s = %d data group%s x %d tile%s (%dx%d); OPENBLAS_NUM_THREADS=%s\n",
           dc.world_size, dc.world_size > 1 ? "s" : "", dc.ndata, dc.ndata > 1 ? "s" : "",
           dc.nspace, dc.nspace > 1 ? "s" : "", dc.px, dc.py,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
  pirf_bench b;
  PIRF_TRY(pirf_bench_begin(&b, MPI_COMM_WORLD, (int)reps));
  int err = network ? pirf_bench_network(&b, cfg, (int)B) : 0;
  if (!err && pirf) err = pirf_bench_pirf(&b, cfg);
  for (int l = 0; l < levels && !err && conv; l++) {
    int C = ch * (int)mult[l];
    err = bench_conv(&b, &dc, l, (int)B, C, C, 3, "", baseline);
  }
  pirf_decomp_destroy(&dc);
  PIRF_TRY(err);
  if (!conv) return pirf_bench_end(&b);
  /* the reference shape, on the same tile layout */
  pirf_decomp ref;
  long tiles[2];
  pirf_cfg_int_list(cfg, "parallel.tiles", tiles, 2);
  PIRF_TRY(pirf_decomp_create(MPI_COMM_WORLD, 64, 64, (int)tiles[0], (int)tiles[1], 1, &ref));
  err = bench_conv(&b, &ref, 0, (int)B, 64, 64, 3, " (ref)", baseline);
  pirf_decomp_destroy(&ref);
  PIRF_TRY(err);
  return pirf_bench_end(&b);
}

int pirf_cmd_bench(const char *deck, int nargs, char **args) {
  pirf_config *cfg = NULL;
  int err = pirf_deck_load(deck, nargs, args, &cfg);
  if (!err) {
    pirf_log_set_level((int)pirf_cfg_int(cfg, "output.verbosity"));
    err = bench(cfg);
  }
  pirf_config_destroy(&cfg);
  return err;
}
