/* Single-head self-attention core on tiles (see pirf/attention.h for the contract).
 *
 * Per sample, with Q the own tile's queries [C][nq] (read in place from the interleaved qkv: q of
 * channel c is qkv channel 3c, so Q is a [C][nq] matrix with leading dimension 3*nq) and K, V the
 * gathered keys and values [C][N] in global token order:
 *   forward   S = Q^T K / sqrt(C) [nq][N],  P = softmax_rows(S),  A = V P^T [C][nq]
 *   backward  dV = dA P,  dP = dA^T V,  dS = P .* (dP - rowsum(P .* dP)),
 *             dQ += K dS^T / sqrt(C) (own rows),  dK = Q dS / sqrt(C)  (all tokens, partial)
 * dK and dV of all B samples go back to their owners in one MPI_Reduce_scatter.
 *
 * Scratch (bytes, carved in this order, each piece 64-byte aligned):
 *   counts, displs  int [nspace]     per-rank element counts of the packed k,v blocks
 *   mine            float [B][2][C][nq]   own k,v packed for the allgather; own dk,dv received
 *   gath            float [B][2][C][N]    rank-major gathered k,v; rank-major packed dk,dv
 *   kv              float [B][2][C][N]    k,v in global token order
 *   dkv             float [2][C][N]       one sample's dk,dv in global token order
 *   P, dP           float [nq][N] each    weights (when not saved) and their cotangent */
#include "pirf/attention.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>

typedef struct {
  int *counts, *displs;
  float *mine, *gath, *kv, *dkv, *P, *dP;
} att_scratch;

static size_t align64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

static size_t carve(int B, int C, const pirf_level *L, void *base, att_scratch *s) {
  const size_t nq = (size_t)L->xm * L->ym, N = (size_t)L->H * L->W;
  const size_t nspace = (size_t)L->dc->nspace;
  size_t sizes[8] = {nspace * sizeof(int),
                     nspace * sizeof(int),
                     (size_t)B * 2 * C * nq * sizeof(float),
                     (size_t)B * 2 * C * N * sizeof(float),
                     (size_t)B * 2 * C * N * sizeof(float),
                     2 * (size_t)C * N * sizeof(float),
                     nq * N * sizeof(float),
                     nq * N * sizeof(float)};
  size_t off = 0;
  char *p = base;
  void *ptr[8];
  for (int i = 0; i < 8; i++) {
    ptr[i] = p ? p + off : NULL;
    off += align64(sizes[i]);
  }
  if (s) {
    s->counts = ptr[0];
    s->displs = ptr[1];
    s->mine = ptr[2];
    s->gath = ptr[3];
    s->kv = ptr[4];
    s->dkv = ptr[5];
    s->P = ptr[6];
    s->dP = ptr[7];
  }
  return off;
}

size_t pirf_attention_scratch_bytes(int B, int C, const pirf_level *L) {
  return carve(B, C, L, NULL, NULL);
}

size_t pirf_attention_att_size(int B, const pirf_level *L) {
  return (size_t)B * L->xm * L->ym * (size_t)L->H * L->W;
}

/* Per-rank counts and displacements of the packed [B][2][C][nq_r] blocks. */
static int fill_counts(int B, int C, const pirf_level *L, att_scratch *s) {
  int off = 0;
  for (int r = 0; r < L->dc->nspace; r++) {
    int xs, xm, ys, ym;
    pirf_level_tile_of(L, r, &xs, &xm, &ys, &ym);
    size_t cnt = (size_t)B * 2 * C * xm * ym;
    PIRF_CHECK(cnt + (size_t)off <= INT32_MAX,
               "attention: %zu gathered values exceed MPI's int counts; use fewer samples per rank",
               cnt + (size_t)off);
    s->counts[r] = (int)cnt;
    s->displs[r] = off;
    off += (int)cnt;
  }
  return 0;
}

/* k, v of the own tile -> mine [B][2][C][nq] (qkv channel 3c+1 is k, 3c+2 is v). */
static void pack_own_kv(const float *qkv, int B, int C, size_t nq, float *mine) {
  for (int b = 0; b < B; b++)
    for (int j = 0; j < 2; j++)
      for (int c = 0; c < C; c++) {
        const float *src = qkv + ((size_t)b * 3 * C + 3 * (size_t)c + 1 + j) * nq;
        float *dst = mine + (((size_t)b * 2 + j) * C + c) * nq;
        for (size_t t = 0; t < nq; t++) dst[t] = src[t];
      }
}

/* Moves one sample's [2][C][tokens] block between the rank-major gathered layout and global token
 * order; to_global = 1 unpacks gathered -> global, 0 packs global -> gathered. */
static void permute_sample(float *gath, float *glob, int b, int C, const pirf_level *L,
                           const att_scratch *s, int to_global) {
  const size_t N = (size_t)L->H * L->W;
  for (int r = 0; r < L->dc->nspace; r++) {
    int xs, xm, ys, ym;
    pirf_level_tile_of(L, r, &xs, &xm, &ys, &ym);
    const size_t nr = (size_t)xm * ym;
    float *blk = gath + s->displs[r] + (size_t)b * 2 * C * nr; /* this rank's [B][2][C][nr] */
    for (int jc = 0; jc < 2 * C; jc++)
      for (int y = 0; y < ym; y++) {
        float *loc = blk + (size_t)jc * nr + (size_t)y * xm;
        float *gl = glob + (size_t)jc * N + (size_t)(ys + y) * L->W + xs;
        if (to_global)
          for (int x = 0; x < xm; x++) gl[x] = loc[x];
        else
          for (int x = 0; x < xm; x++) loc[x] = gl[x];
      }
  }
}

/* Allgathers every rank's k, v into s->kv [B][2][C][N] in global token order. */
static int gather_kv(const float *qkv, int B, int C, const pirf_level *L, att_scratch *s) {
  const size_t nq = (size_t)L->xm * L->ym, N = (size_t)L->H * L->W;
  PIRF_TRY(fill_counts(B, C, L, s));
  pack_own_kv(qkv, B, C, nq, s->mine);
  pirf_prof_begin(PIRF_EV_ATTENTION_GATHER);
  PIRF_MPI(MPI_Allgatherv(s->mine, (int)((size_t)B * 2 * C * nq), MPI_FLOAT, s->gath, s->counts,
                          s->displs, MPI_FLOAT, L->comm));
  pirf_prof_end(PIRF_EV_ATTENTION_GATHER, 0);
  for (int b = 0; b < B; b++) permute_sample(s->gath, s->kv + (size_t)b * 2 * C * N, b, C, L, s, 1);
  return 0;
}

/* Flops of this rank's queries: the forward is two GEMMs (Q^T K and V P^T, 2 C nq N each) and the
 * softmax (~5 per weight); the backward four GEMMs and the softmax's adjoint (~4 per weight), plus
 * the forward's weights again when they were not kept (recompute). */
static double attention_flops(int B, int C, size_t nq, size_t N, int backward, int recompute) {
  const double w = (double)nq * N, fwd = 4.0 * C * w + 5.0 * w;
  return B * (backward ? 8.0 * C * w + 4.0 * w + (recompute ? fwd : 0.0) : fwd);
}

/* P [nq][N] = softmax_rows(Q^T K / sqrt(C)) for sample b. */
static void attention_weights(float *P, const float *qkv_b, const float *K, int C, size_t nq,
                              size_t N) {
  const float scale = 1.0f / sqrtf((float)C);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nq, (int)N, C, scale, qkv_b,
              (int)(3 * nq), K, (int)N, 0.0f, P, (int)N);
  for (size_t q = 0; q < nq; q++) {
    float *row = P + q * N;
    float mx = row[0];
    for (size_t k = 1; k < N; k++) mx = row[k] > mx ? row[k] : mx;
    double sum = 0.0;
    for (size_t k = 0; k < N; k++) {
      row[k] = expf(row[k] - mx); /* <= 1: no overflow whatever the logits */
      sum += row[k];
    }
    const float inv = (float)(1.0 / sum);
    for (size_t k = 0; k < N; k++) row[k] *= inv;
  }
}

int pirf_attention_forward(float *a, float *att, const float *qkv, int B, int C,
                           const pirf_level *L, void *scratch) {
  att_scratch s;
  carve(B, C, L, scratch, &s);
  const size_t nq = (size_t)L->xm * L->ym, N = (size_t)L->H * L->W;
  pirf_prof_begin(PIRF_EV_ATTENTION_FWD);
  PIRF_TRY(gather_kv(qkv, B, C, L, &s));
  for (int b = 0; b < B; b++) {
    const float *K = s.kv + (size_t)b * 2 * C * N, *V = K + (size_t)C * N;
    float *P = att ? att + (size_t)b * nq * N : s.P;
    attention_weights(P, qkv + (size_t)b * 3 * C * nq, K, C, nq, N);
    /* A [C][nq] = V [C][N] P^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, (int)nq, (int)N, 1.0f, V, (int)N, P,
                (int)N, 0.0f, a + (size_t)b * C * nq, (int)nq);
  }
  pirf_prof_end(PIRF_EV_ATTENTION_FWD, attention_flops(B, C, nq, N, 0, 0));
  return 0;
}

int pirf_attention_backward(float *dqkv, const float *da, const float *qkv, const float *att, int B,
                            int C, const pirf_level *L, void *scratch) {
  att_scratch s;
  carve(B, C, L, scratch, &s);
  const size_t nq = (size_t)L->xm * L->ym, N = (size_t)L->H * L->W;
  const float scale = 1.0f / sqrtf((float)C);
  pirf_prof_begin(PIRF_EV_ATTENTION_BWD);
  PIRF_TRY(gather_kv(qkv, B, C, L, &s));
  for (int b = 0; b < B; b++) {
    const float *K = s.kv + (size_t)b * 2 * C * N, *V = K + (size_t)C * N;
    const float *Q = qkv + (size_t)b * 3 * C * nq, *dA = da + (size_t)b * C * nq;
    const float *P = att ? att + (size_t)b * nq * N : s.P;
    if (!att) attention_weights(s.P, Q, K, C, nq, N);
    float *dK = s.dkv, *dV = s.dkv + (size_t)C * N, *dS = s.dP;
    /* dV [C][N] = dA [C][nq] P [nq][N]: this rank's queries' share of every token's dv */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, (int)N, (int)nq, 1.0f, dA, (int)nq, P,
                (int)N, 0.0f, dV, (int)N);
    /* dP [nq][N] = dA^T V */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nq, (int)N, C, 1.0f, dA, (int)nq, V,
                (int)N, 0.0f, dS, (int)N);
    /* softmax backward, row by row: dS = P .* (dP - <P, dP>) */
    for (size_t q = 0; q < nq; q++) {
      const float *p = P + q * N;
      float *d = dS + q * N;
      double dot = 0.0;
      for (size_t k = 0; k < N; k++) dot += (double)p[k] * d[k];
      for (size_t k = 0; k < N; k++) d[k] = p[k] * (d[k] - (float)dot);
    }
    /* dQ [C][nq] += K dS^T / sqrt(C), straight into the interleaved q channels of dqkv */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, (int)nq, (int)N, scale, K, (int)N, dS,
                (int)N, 1.0f, dqkv + (size_t)b * 3 * C * nq, (int)(3 * nq));
    /* dK [C][N] = Q dS / sqrt(C): this rank's queries' share of every token's dk */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, (int)N, (int)nq, scale, Q,
                (int)(3 * nq), dS, (int)N, 0.0f, dK, (int)N);
    permute_sample(s.gath, s.dkv, b, C, L, &s, 0);
  }
  /* sum every rank's dk, dv shares onto the token owners (counts as in the gather) */
  pirf_prof_begin(PIRF_EV_ATTENTION_SCATTER);
  PIRF_MPI(MPI_Reduce_scatter(s.gath, s.mine, s.counts, MPI_FLOAT, MPI_SUM, L->comm));
  pirf_prof_end(PIRF_EV_ATTENTION_SCATTER, 0);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < 2; j++)
      for (int c = 0; c < C; c++) {
        const float *src = s.mine + (((size_t)b * 2 + j) * C + c) * nq;
        float *dst = dqkv + ((size_t)b * 3 * C + 3 * (size_t)c + 1 + j) * nq;
        for (size_t t = 0; t < nq; t++) dst[t] += src[t];
      }
  pirf_prof_end(PIRF_EV_ATTENTION_BWD, attention_flops(B, C, nq, N, 1, !att));
  return 0;
}
