/* oneDNN's convolutions: 3x3 on the padded plane (direct or Winograd), and 1x1 forwards in
 * bfloat16 (conv2d_dnnl.h).
 *
 * Why oneDNN: its "brgconv" kernels run the products of our shapes at 85-100 % of a core's FP32
 * peak where OpenBLAS's SGEMM on the same data reaches 35-75 % (the narrow M = Cout of 32- and
 * 64-channel levels), and on CPUs with AMX or AVX512_BF16 its bfloat16 kernels are 2-10x faster
 * again (docs/performance.md has the measurements).
 *
 * How: each call describes the user's tensors by their plain layouts (nchw, oihw, float32) and lets
 * oneDNN pick its own ("any") layout for the convolution; where the two differ a reorder converts
 * (and, for bf16, rounds). All three products share one pattern: two inputs, one output, so one
 * cache entry type serves them:
 *
 *   kind          input a   input b   output
 *   forward       xp        w         y          (+ bias, taken in the user's layout)
 *   backward-data dy        w         dxp
 *   back.-weights dy        xp        dw         (the output reorder adds: sum post-op)
 *
 * The weight gradient always goes through the workspace and a reorder with a sum post-op, since a
 * convolution primitive can only overwrite its output and conv2d's contract accumulates.
 *
 * Weights of the bf16 and Winograd forwards: their reorder (rounding into oneDNN's blocked layout,
 * or the Winograd transform) costs as much as a small convolution, and the same weights serve many
 * evaluations in a row (the sampler's steps), so the reordered copy is kept per (weights pointer, shape) and reused while a
 * fingerprint of the float32 weights is unchanged. The fingerprint is exact for any change of one
 * weight (every step of its hash is a bijection) and misses a change of several with probability
 * 2^-64; it costs one read of the weights, about a tenth of the reorder.
 *
 * Threads: oneDNN parallelises with OpenMP; it gets as many threads as OpenBLAS has
 * (OPENBLAS_NUM_THREADS, one per rank by default), set once before the first primitive. */
#include "conv2d_dnnl.h"

#include "pirf/check.h"

#include <cblas.h>
#include <dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_FWD_F32, KIND_FWD_BF16, KIND_FWD_WINOGRAD, KIND_BWD_DATA, KIND_BWD_WEIGHTS } conv_kind;

typedef struct {
  int kind, B, Cin, Cout, Hp, Wp, bias, k; /* k: kernel size (1 only in the forward) */
} conv_key;

typedef struct {
  conv_key key;
  dnnl_primitive_t conv;
  dnnl_primitive_t reorder[3]; /* a, b into the convolution's layout; output back; NULL = same */
  dnnl_memory_t user[3], mine[3], bias, scratchpad;
  size_t bytes[3], scratch_bytes; /* workspace pieces (0 where the user's buffer is used) */
} conv_entry;

#define MAX_ENTRIES 512
static conv_entry cache[MAX_ENTRIES];
static int n_cached;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static void *workspace;
static size_t workspace_size;

/* Reordered weights of the bf16 and Winograd forwards (see the top of the file). */
typedef struct {
  const float *src;
  dnnl_memory_desc_t md; /* the layout they were reordered into (shape and blocking) */
  uint64_t fingerprint;
  void *buf;
} weight_copy;

#define MAX_WEIGHT_COPIES 4096
static weight_copy weight_copies[MAX_WEIGHT_COPIES];
static int n_weight_copies;

/* FNV-1a style over the 32-bit words in 8 interleaved lanes (so that it vectorises), then the
 * lanes folded by an odd multiplier: each step is invertible in its lane, so changing one word
 * always changes the result. */
static uint64_t fingerprint(const float *w, size_t n) {
  enum { LANES = 8 };
  const uint64_t prime = 0x100000001b3ull;
  uint64_t h[LANES];
  for (int j = 0; j < LANES; j++) h[j] = 0xcbf29ce484222325ull + (uint64_t)j;
  const uint32_t *u = (const uint32_t *)w;
  size_t k = 0;
  for (; k + LANES <= n; k += LANES)
    for (int j = 0; j < LANES; j++) h[j] = (h[j] ^ u[k + j]) * prime;
  for (; k < n; k++) h[0] = (h[0] ^ u[k]) * prime;
  uint64_t f = (uint64_t)n;
  for (int j = 0; j < LANES; j++) f = f * prime + h[j];
  return f;
}

static void drop_weight_copies(void) {
  for (int i = 0; i < n_weight_copies; i++) free(weight_copies[i].buf);
  n_weight_copies = 0;
}

int pirf_dnnl_bf16_supported(void) {
  /* the ISA enum orders by capability: avx512_core is the least oneDNN's bf16 kernels need */
  return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
}

static int ok(dnnl_status_t s, const char *what) {
  PIRF_CHECK(s == dnnl_success, "oneDNN failed to %s (status %d)", what, (int)s);
  return 0;
}

static int init(void) {
  if (engine) return 0;
  omp_set_num_threads(openblas_get_num_threads());
  PIRF_TRY(ok(dnnl_engine_create(&engine, dnnl_cpu, 0), "create its CPU engine"));
  PIRF_TRY(ok(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "create a stream"));
  return 0;
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static int plain_md(dnnl_memory_desc_t *md, int64_t n0, int64_t n1, int64_t n2, int64_t n3,
                    dnnl_format_tag_t tag) {
  const dnnl_dims_t d = {n0, n1, n2, n3};
  return ok(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag), "describe a tensor");
}

/* The user's side of one of the entry's tensors i and, if oneDNN wants another layout, the
 * reorder (to = 1: user -> convolution; 0: convolution -> user, with `sum` accumulating). */
static int attach(conv_entry *e, int i, const dnnl_memory_desc_t *user_md,
                  const dnnl_memory_desc_t *conv_md, int to, int sum) {
  PIRF_TRY(ok(dnnl_memory_create(&e->user[i], user_md, engine, DNNL_MEMORY_NONE), "wrap a buffer"));
  if (!sum && dnnl_memory_desc_equal(user_md, conv_md)) return 0;
  e->bytes[i] = round64(dnnl_memory_desc_get_size(conv_md));
  PIRF_TRY(ok(dnnl_memory_create(&e->mine[i], conv_md, engine, DNNL_MEMORY_NONE), "wrap a buffer"));
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  if (sum) {
    PIRF_TRY(ok(dnnl_primitive_attr_create(&attr), "create attributes"));
    PIRF_TRY(ok(dnnl_post_ops_create(&po), "create post-ops"));
    PIRF_TRY(ok(dnnl_post_ops_append_sum(po, 1.0f), "append a sum"));
    PIRF_TRY(ok(dnnl_primitive_attr_set_post_ops(attr, po), "set post-ops"));
  }
  dnnl_primitive_desc_t pd;
  PIRF_TRY(ok(to ? dnnl_reorder_primitive_desc_create(&pd, user_md, engine, conv_md, engine, attr)
                 : dnnl_reorder_primitive_desc_create(&pd, conv_md, engine, user_md, engine, attr),
              "set up a reorder"));
  PIRF_TRY(ok(dnnl_primitive_create(&e->reorder[i], pd), "create a reorder"));
  dnnl_primitive_desc_destroy(pd);
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return 0;
}

static int build(conv_entry *e, const conv_key *k) {
  memset(e, 0, sizeof *e);
  e->key = *k;
  const int ym = k->Hp - k->k + 1, xm = k->Wp - k->k + 1;
  const dnnl_data_type_t in_t = k->kind == KIND_FWD_BF16 ? dnnl_bf16 : dnnl_f32;
  dnnl_memory_desc_t u_x, u_w, u_y, a_x, a_w, a_y, u_b;
  PIRF_TRY(plain_md(&u_x, k->B, k->Cin, k->Hp, k->Wp, dnnl_nchw));
  PIRF_TRY(plain_md(&u_w, k->Cout, k->Cin, k->k, k->k, dnnl_oihw));
  PIRF_TRY(plain_md(&u_y, k->B, k->Cout, ym, xm, dnnl_nchw));
  const dnnl_dims_t dx = {k->B, k->Cin, k->Hp, k->Wp}, dw = {k->Cout, k->Cin, k->k, k->k},
                    dy = {k->B, k->Cout, ym, xm}, db = {k->Cout};
  PIRF_TRY(ok(dnnl_memory_desc_init_by_tag(&a_x, 4, dx, in_t, dnnl_format_tag_any), "describe"));
  PIRF_TRY(ok(dnnl_memory_desc_init_by_tag(&a_w, 4, dw, in_t, dnnl_format_tag_any), "describe"));
  PIRF_TRY(ok(dnnl_memory_desc_init_by_tag(&a_y, 4, dy, dnnl_f32, dnnl_format_tag_any), "describe"));
  PIRF_TRY(ok(dnnl_memory_desc_init_by_tag(&u_b, 1, db, dnnl_f32, dnnl_x), "describe"));
  const dnnl_dims_t strides = {1, 1}, pad = {0, 0};

  dnnl_primitive_attr_t attr;
  PIRF_TRY(ok(dnnl_primitive_attr_create(&attr), "create attributes"));
  PIRF_TRY(ok(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
              "ask for a user scratchpad"));
  /* the forward descriptor: the primitive itself, or the hint the backward ones need */
  dnnl_convolution_desc_t fd, cd;
  const int is_fwd = k->kind <= KIND_FWD_WINOGRAD;
  PIRF_TRY(ok(dnnl_convolution_forward_desc_init(
                  &fd, is_fwd ? dnnl_forward_inference : dnnl_forward_training,
                  k->kind == KIND_FWD_WINOGRAD ? dnnl_convolution_winograd
                                               : dnnl_convolution_direct,
                  &a_x, &a_w, is_fwd && k->bias ? &u_b : NULL, &a_y, strides, pad, pad),
              "describe a convolution"));
  dnnl_primitive_desc_t pd, hint = NULL;
  if (k->kind == KIND_FWD_WINOGRAD) {
    if (dnnl_primitive_desc_create(&pd, &fd, attr, engine, NULL) != dnnl_success) {
      /* no Winograd kernel for this shape or CPU (few channels, no AVX-512): the direct one */
      PIRF_TRY(ok(dnnl_convolution_forward_desc_init(
                      &fd, dnnl_forward_inference, dnnl_convolution_direct, &a_x, &a_w,
                      k->bias ? &u_b : NULL, &a_y, strides, pad, pad),
                  "describe a convolution"));
      PIRF_TRY(ok(dnnl_primitive_desc_create(&pd, &fd, attr, engine, NULL),
                  "set up a convolution"));
    }
  } else if (is_fwd) {
    PIRF_TRY(ok(dnnl_primitive_desc_create(&pd, &fd, attr, engine, NULL), "set up a convolution"));
  } else {
    PIRF_TRY(ok(dnnl_primitive_desc_create(&hint, &fd, NULL, engine, NULL), "set up a convolution"));
    if (k->kind == KIND_BWD_DATA)
      PIRF_TRY(ok(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &a_x, &a_w,
                                                           &a_y, strides, pad, pad),
                  "describe a backward-data convolution"));
    else
      PIRF_TRY(ok(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &a_x,
                                                              &a_w, NULL, &a_y, strides, pad, pad),
                  "describe a backward-weights convolution"));
    PIRF_TRY(ok(dnnl_primitive_desc_create(&pd, &cd, attr, engine, hint),
                "set up a backward convolution"));
  }
  const dnnl_memory_desc_t *q_x =
      dnnl_primitive_desc_query_md(pd, is_fwd || k->kind == KIND_BWD_WEIGHTS ? dnnl_query_src_md
                                                                              : dnnl_query_diff_src_md, 0);
  const dnnl_memory_desc_t *q_w = dnnl_primitive_desc_query_md(
      pd, k->kind == KIND_BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *q_y =
      dnnl_primitive_desc_query_md(pd, is_fwd ? dnnl_query_dst_md : dnnl_query_diff_dst_md, 0);
  switch (k->kind) {
  case KIND_FWD_F32:
  case KIND_FWD_BF16:
  case KIND_FWD_WINOGRAD:
    PIRF_TRY(attach(e, 0, &u_x, q_x, 1, 0));
    PIRF_TRY(attach(e, 1, &u_w, q_w, 1, 0));
    PIRF_TRY(attach(e, 2, &u_y, q_y, 0, 0));
    if (k->bias)
      PIRF_TRY(ok(dnnl_memory_create(&e->bias, &u_b, engine, DNNL_MEMORY_NONE), "wrap a buffer"));
    break;
  case KIND_BWD_DATA:
    PIRF_TRY(attach(e, 0, &u_y, q_y, 1, 0));
    PIRF_TRY(attach(e, 1, &u_w, q_w, 1, 0));
    PIRF_TRY(attach(e, 2, &u_x, q_x, 0, 0));
    break;
  default:
    PIRF_TRY(attach(e, 0, &u_y, q_y, 1, 0));
    PIRF_TRY(attach(e, 1, &u_x, q_x, 1, 0));
    PIRF_TRY(attach(e, 2, &u_w, q_w, 0, 1));
  }
  const dnnl_memory_desc_t *q_s = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  e->scratch_bytes = round64(dnnl_memory_desc_get_size(q_s));
  PIRF_TRY(ok(dnnl_memory_create(&e->scratchpad, q_s, engine, DNNL_MEMORY_NONE), "wrap a buffer"));
  PIRF_TRY(ok(dnnl_primitive_create(&e->conv, pd), "create a convolution"));
  dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  dnnl_primitive_attr_destroy(attr);
  return 0;
}

static int lookup(const conv_key *k, conv_entry **out) {
  PIRF_TRY(init());
  for (int i = 0; i < n_cached; i++)
    if (!memcmp(&cache[i].key, k, sizeof *k)) return *out = &cache[i], 0;
  PIRF_CHECK(n_cached < MAX_ENTRIES, "more than %d distinct convolution shapes", MAX_ENTRIES);
  PIRF_TRY(build(&cache[n_cached], k));
  *out = &cache[n_cached++];
  return 0;
}

static int reserve(size_t bytes) {
  if (bytes <= workspace_size) return 0;
  free(workspace);
  workspace = aligned_alloc(64, bytes);
  workspace_size = workspace ? bytes : 0;
  PIRF_CHECK(workspace, "out of memory for oneDNN's workspace (%zu bytes)", bytes);
  return 0;
}

/* The kept bf16 copy of weights w in entry e's layout, and whether the reorder must (re)fill it. */
static int weight_copy_for(const conv_entry *e, const float *w, weight_copy **out, int *stale) {
  const dnnl_memory_desc_t *md;
  PIRF_TRY(ok(dnnl_memory_get_memory_desc(e->mine[1], &md), "query a layout"));
  const uint64_t f =
      fingerprint(w, (size_t)e->key.Cout * (size_t)e->key.Cin * (size_t)(e->key.k * e->key.k));
  for (int i = 0; i < n_weight_copies; i++)
    if (weight_copies[i].src == w && dnnl_memory_desc_equal(&weight_copies[i].md, md)) {
      *out = &weight_copies[i];
      *stale = weight_copies[i].fingerprint != f;
      weight_copies[i].fingerprint = f;
      return 0;
    }
  /* a full table means many weight arrays came and went (tests, reloads): start afresh */
  if (n_weight_copies == MAX_WEIGHT_COPIES) drop_weight_copies();
  weight_copy *c = &weight_copies[n_weight_copies];
  c->buf = aligned_alloc(64, e->bytes[1]);
  PIRF_CHECK(c->buf, "out of memory for oneDNN's reordered weights (%zu bytes)", e->bytes[1]);
  c->src = w;
  c->md = *md;
  c->fingerprint = f;
  n_weight_copies++;
  *out = c;
  *stale = 1;
  return 0;
}

/* Runs entry e on the user's buffers a, b (inputs), out (output) and bias. */
static int run(conv_entry *e, const float *a, const float *b, float *out, const float *bias,
               int arg_a, int arg_b, int arg_out) {
  size_t total = e->scratch_bytes;
  for (int i = 0; i < 3; i++) total += e->bytes[i];
  PIRF_TRY(reserve(total));
  char *p = workspace;
  void *user[3] = {(void *)a, (void *)b, out};
  dnnl_memory_t conv_mem[3];
  for (int i = 0; i < 3; i++) {
    PIRF_TRY(ok(dnnl_memory_set_data_handle(e->user[i], user[i]), "attach a buffer"));
    conv_mem[i] = e->user[i];
    if (e->mine[i]) {
      PIRF_TRY(ok(dnnl_memory_set_data_handle(e->mine[i], p), "attach a buffer"));
      conv_mem[i] = e->mine[i];
      p += e->bytes[i];
    }
  }
  PIRF_TRY(ok(dnnl_memory_set_data_handle(e->scratchpad, p), "attach a buffer"));
  int reorder_b = e->reorder[1] != NULL;
  if (reorder_b && (e->key.kind == KIND_FWD_BF16 || e->key.kind == KIND_FWD_WINOGRAD)) {
    weight_copy *c;
    PIRF_TRY(weight_copy_for(e, b, &c, &reorder_b));
    PIRF_TRY(ok(dnnl_memory_set_data_handle(e->mine[1], c->buf), "attach a buffer"));
  }
  for (int i = 0; i < 2; i++)
    if (e->reorder[i] && (i == 0 || reorder_b)) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, e->user[i]}, {DNNL_ARG_TO, e->mine[i]}};
      PIRF_TRY(ok(dnnl_primitive_execute(e->reorder[i], stream, 2, args), "reorder an input"));
    }
  dnnl_exec_arg_t args[5] = {{arg_a, conv_mem[0]},
                             {arg_b, conv_mem[1]},
                             {arg_out, conv_mem[2]},
                             {DNNL_ARG_SCRATCHPAD, e->scratchpad}};
  int nargs = 4;
  if (e->bias) {
    PIRF_TRY(ok(dnnl_memory_set_data_handle(e->bias, (void *)bias), "attach a buffer"));
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
  }
  PIRF_TRY(ok(dnnl_primitive_execute(e->conv, stream, nargs, args), "run a convolution"));
  if (e->reorder[2]) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->mine[2]}, {DNNL_ARG_TO, e->user[2]}};
    PIRF_TRY(ok(dnnl_primitive_execute(e->reorder[2], stream, 2, r), "reorder the output"));
  }
  return ok(dnnl_stream_wait(stream), "finish a convolution");
}

int pirf_dnnl_conv_forward(float *y, const float *xp, const float *w, const float *bias, int B,
                           int Cin, int Cout, int Hp, int Wp, int k, pirf_conv_fwd mode) {
  const int kind = mode == PIRF_CONV_FWD_BF16                 ? KIND_FWD_BF16
                   : mode == PIRF_CONV_FWD_WINOGRAD && k == 3 ? KIND_FWD_WINOGRAD
                                                              : KIND_FWD_F32;
  const conv_key key = {kind, B, Cin, Cout, Hp, Wp, bias != NULL, k};
  conv_entry *e;
  PIRF_TRY(lookup(&key, &e));
  return run(e, xp, w, y, bias, DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST);
}

int pirf_dnnl_conv3_backward_data(float *dxp, const float *dy, const float *w, int B, int Cin,
                                  int Cout, int Hp, int Wp) {
  const conv_key k = {KIND_BWD_DATA, B, Cin, Cout, Hp, Wp, 0, 3};
  conv_entry *e;
  PIRF_TRY(lookup(&k, &e));
  return run(e, dy, w, dxp, NULL, DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC);
}

int pirf_dnnl_conv3_backward_weights(float *dw, const float *dy, const float *xp, int B, int Cin,
                                     int Cout, int Hp, int Wp) {
  const conv_key k = {KIND_BWD_WEIGHTS, B, Cin, Cout, Hp, Wp, 0, 3};
  conv_entry *e;
  PIRF_TRY(lookup(&k, &e));
  return run(e, dy, xp, dw, NULL, DNNL_ARG_DIFF_DST, DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS);
}
