/* unet_denoiser_grad_matches_finite_difference: the backward of the whole preconditioned network
 * D(x; sigma) = c_skip x + c_out F(c_in x; c_noise) (tiny SongUNet with every module kind, dropout
 * on, two samples with different sigma) agrees with central finite differences of
 * L = <r, D> for a random cotangent r, with EDM's 9 augmentation labels fed through map_augment
 * (random labels per sample, as pretraining with pretrain.augment gives them):
 *   - along a random direction of the input x;
 *   - along a random direction of EVERY parameter tensor separately (all weights and biases of
 *     every conv, linear, GroupNorm, attention and embedding layer, map_augment included),
 * each to a relative tolerance that a single wrong term in any backward fails. Also: a truncated
 * backward (only the full-resolution decoder level, no input gradient, as layer-wise truncation
 * runs it) gives the same gradients for that level as the full backward, from the full tape, from a
 * tape truncated to that level and from a tape of aux_conv alone.
 * Runs on the world decomposition: tiles [np, 1]. */
#include "pirf/augment.h"
#include "pirf/check.h"
#include "pirf/precond.h"
#include "pirf/unet_eval.h"
#include "model_harness.h"
#include "testing.h"

#include <string.h>

#define RTOL 1e-2
#define ATOL 1e-3

typedef struct {
  pirf_unet net;
  pirf_decomp dc;
  pirf_level L0;
  pirf_unet_work *work;
  pirf_unet_tape *tape;
  float *params, *x, *r, *D;
  float aug[2 * PIRF_AUGMENT_DIM];
  double sigma[2];
  pirf_unet_dropout drop;
  int B;
  size_t nx;
} ctx;

/* Fourth-order central difference from f(-2h), f(-h), f(h), f(2h): float32 rounding in the
 * network makes small steps noisy, and the O(h^4) error allows steps large enough to drown it. */
static const double steps[4] = {-2, -1, 1, 2};
static double fd4(const double f[4], double h) { return (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h); }
static double direction(int i, size_t e) {
  return model_rand(77, (uint32_t)i, 1, (uint32_t)e) > 0 ? 1.0 : -1.0;
}

static int denoise(ctx *c, pirf_unet_tape *tape, const float *params, const float *x, float *D) {
  return pirf_edm_denoise_with(&c->net, c->work, tape, params, x, c->sigma, c->B, &c->drop, NULL,
                               c->aug, D);
}

static double loss(ctx *c, const float *params, const float *x) {
  if (denoise(c, NULL, params, x, c->D)) MPI_Abort(MPI_COMM_WORLD, 1);
  return model_dot(MPI_COMM_WORLD, c->nx, c->r, c->D);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  ctx c;
  memset(&c, 0, sizeof c);
  c.B = 2;
  c.sigma[0] = 0.6;
  c.sigma[1] = 3.0;
  c.drop = (pirf_unet_dropout){.seed = 7, .step = 3, .sample0 = 0};
  pirf_unet_config uc = model_tiny_config(0.2);
  uc.augment_dim = PIRF_AUGMENT_DIM;
  for (int k = 0; k < 2 * PIRF_AUGMENT_DIM; k++) c.aug[k] = 0.5f * (float)model_rand(78, (uint32_t)k, 0, 0);
  if (pirf_unet_create(&uc, &c.net) || pirf_decomp_create(MPI_COMM_WORLD, 16, 16, np, 1, 2, &c.dc) ||
      pirf_unet_work_create(&c.net, &c.dc, c.B, 1, &c.work) ||
      pirf_unet_tape_create(&c.net, &c.dc, c.B, &c.tape))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level_init(&c.L0, &c.dc, 0);
  const size_t P = c.net.table.total;
  c.nx = (size_t)c.B * 2 * c.dc.xm * c.dc.ym;
  c.params = model_alloc(P);
  model_random_params(&c.net, 5, c.params);
  c.x = model_alloc(c.nx);
  c.r = model_alloc(c.nx);
  c.D = model_alloc(c.nx);
  model_fill_tile(&c.L0, c.B, 0, 2, 1, c.x);
  model_fill_tile(&c.L0, c.B, 0, 2, 2, c.r);

  /* analytic gradients */
  float *g = model_alloc(P), *dx = model_alloc(c.nx);
  TEST_CHECK(!denoise(&c, c.tape, c.params, c.x, c.D), "taped forward");
  TEST_CHECK(!pirf_edm_denoise_backward(&c.net, c.work, c.tape, c.params, c.r, g, 0, c.net.table.n,
                                        dx),
             "backward");
  TEST_CHECK(!pirf_unet_grad_allreduce(&c.dc, g, 0, P), "gradient reduction");

  /* the labels reach the network; no labels is the same as zero labels (map_augment has no bias) */
  {
    float *Dn = model_alloc(c.nx), *Dz = model_alloc(c.nx), zeros[2 * PIRF_AUGMENT_DIM] = {0};
    TEST_CHECK(!pirf_edm_denoise(&c.net, c.work, NULL, c.params, c.x, c.sigma, c.B, &c.drop, Dn) &&
                   !pirf_edm_denoise_with(&c.net, c.work, NULL, c.params, c.x, c.sigma, c.B,
                                          &c.drop, NULL, zeros, Dz),
               "forwards without labels");
    double dl = 0;
    for (size_t k = 0; k < c.nx; k++) dl = fmax(dl, fabs((double)Dn[k] - c.D[k]));
    MPI_Allreduce(MPI_IN_PLACE, &dl, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    TEST_CHECK(dl > 1e-4, "the augmentation labels change D by only %.3g", dl);
    TEST_CHECK(!memcmp(Dn, Dz, c.nx * sizeof *Dn), "zero labels differ from no labels");
    free(Dn), free(Dz);
  }

  /* input direction */
  float *v = model_alloc(c.nx), *xp = model_alloc(c.nx);
  model_fill_tile(&c.L0, c.B, 0, 2, 3, v);
  const double hx = 2e-2;
  double lx[4];
  for (int j = 0; j < 4; j++) {
    for (size_t k = 0; k < c.nx; k++) xp[k] = c.x[k] + (float)(steps[j] * hx) * v[k];
    lx[j] = loss(&c, c.params, xp);
  }
  double fd = fd4(lx, hx), an = model_dot(MPI_COMM_WORLD, c.nx, dx, v);
  TEST_CLOSE(an, fd, RTOL, ATOL, "d<r,D>/dx along a random direction");

  /* every parameter tensor along its own random direction, scaled to the tensor's size */
  float *pp = model_alloc(P);
  double worst = 0;
  const char *worst_name = "";
  for (int i = 0; i < c.net.table.n; i++) {
    const pirf_param *p = &c.net.table.p[i];
    double rms = 0;
    for (size_t e = 0; e < p->count; e++) rms += (double)c.params[p->offset + e] * c.params[p->offset + e];
    rms = sqrt(rms / (double)p->count);
    const double h = 2e-2 * (rms > 0.05 ? rms : 0.05);
    double an_i = 0, lp[4];
    memcpy(pp, c.params, P * sizeof *pp);
    for (size_t e = 0; e < p->count; e++) an_i += g[p->offset + e] * direction(i, e);
    for (int j = 0; j < 4; j++) {
      for (size_t e = 0; e < p->count; e++)
        pp[p->offset + e] = (float)(c.params[p->offset + e] + steps[j] * h * direction(i, e));
      lp[j] = loss(&c, pp, c.x);
    }
    double fd_i = fd4(lp, h);
    double err = fabs(fd_i - an_i) / (fabs(fd_i) + 1e-4);
    if (err > worst) {
      worst = err;
      worst_name = p->name;
    }
    TEST_CLOSE(an_i, fd_i, RTOL, ATOL, p->name);
  }
  if (test_rank_() == 0)
    printf("worst relative difference over %d tensors: %.3g (%s)\n", c.net.table.n, worst, worst_name);

  /* truncated backward: decoder level 0 only, no dx */
  int first, end;
  pirf_unet_decoder_level_range(&c.net, 0, &first, &end);
  float *gt = model_alloc(P);
  TEST_CHECK(!denoise(&c, c.tape, c.params, c.x, c.D), "taped forward");
  TEST_CHECK(!pirf_edm_denoise_backward(&c.net, c.work, c.tape, c.params, c.r, gt, first, end, NULL),
             "truncated backward");
  TEST_CHECK(!pirf_unet_grad_allreduce(&c.dc, gt, 0, P), "gradient reduction");
  size_t o0 = c.net.table.p[first].offset, bad = 0, outside = 0;
  for (size_t k = 0; k < P; k++) {
    if (k < o0 && gt[k] != 0.0f) outside++;
    if (k >= o0 && fabs(gt[k] - g[k]) > 1e-6 * (fabs(g[k]) + 1e-3)) bad++;
  }
  TEST_CHECK(bad == 0, "truncated backward differs from the full one in %zu entries", bad);
  TEST_CHECK(outside == 0, "truncated backward wrote %zu gradients outside its range", outside);

  /* the same from a tape that recorded only the full-resolution decoder level */
  pirf_unet_tape *t0;
  float *D0 = model_alloc(c.nx);
  TEST_CHECK(!pirf_unet_tape_create_from(&c.net, &c.dc, c.B, first, &t0), "truncated tape");
  TEST_CHECK(pirf_unet_tape_bytes(t0) < pirf_unet_tape_bytes(c.tape) / 2,
             "truncated tape %zu bytes vs full %zu", pirf_unet_tape_bytes(t0),
             pirf_unet_tape_bytes(c.tape));
  memset(gt, 0, P * sizeof *gt);
  TEST_CHECK(!denoise(&c, t0, c.params, c.x, D0), "forward with a truncated tape");
  TEST_CHECK(!memcmp(D0, c.D, c.nx * sizeof *D0), "a truncated tape changes D");
  TEST_CHECK(!pirf_edm_denoise_backward(&c.net, c.work, t0, c.params, c.r, gt, first, end, NULL),
             "backward from a truncated tape");
  TEST_CHECK(!pirf_unet_grad_allreduce(&c.dc, gt, 0, P), "gradient reduction");
  bad = outside = 0;
  for (size_t k = 0; k < P; k++) {
    if (k < o0 && gt[k] != 0.0f) outside++;
    if (k >= o0 && fabs(gt[k] - g[k]) > 1e-6 * (fabs(g[k]) + 1e-3)) bad++;
  }
  TEST_CHECK(bad == 0, "backward from a truncated tape differs in %zu entries", bad);
  TEST_CHECK(outside == 0, "backward from a truncated tape wrote %zu gradients outside", outside);
  pirf_error_set_trace(0);
  TEST_CHECK(pirf_edm_denoise_backward(&c.net, c.work, t0, c.params, c.r, gt, first, end, dx) != 0,
             "a truncated tape accepted a request for dx");
  pirf_error_set_trace(1);
  pirf_unet_tape_destroy(&t0);

  /* a tape from aux_conv alone: its backward rebuilds aux_norm's output, whose input and
   * statistics the tape must still hold */
  const pirf_unet_module *aux = &c.net.mod[c.net.nmod - 1];
  TEST_CHECK(aux->kind == PIRF_UNET_AUX_CONV, "the last module is aux_conv");
  TEST_CHECK(!pirf_unet_tape_create_from(&c.net, &c.dc, c.B, aux->p_first, &t0), "aux_conv tape");
  memset(gt, 0, P * sizeof *gt);
  TEST_CHECK(!denoise(&c, t0, c.params, c.x, D0), "forward with an aux_conv tape");
  TEST_CHECK(!pirf_edm_denoise_backward(&c.net, c.work, t0, c.params, c.r, gt, aux->p_first,
                                        aux->p_end, NULL),
             "backward from an aux_conv tape");
  TEST_CHECK(!pirf_unet_grad_allreduce(&c.dc, gt, 0, P), "gradient reduction");
  const size_t oa = c.net.table.p[aux->p_first].offset;
  bad = outside = 0;
  for (size_t k = 0; k < P; k++) {
    if (k < oa && gt[k] != 0.0f) outside++;
    if (k >= oa && fabs(gt[k] - g[k]) > 1e-6 * (fabs(g[k]) + 1e-3)) bad++;
  }
  TEST_CHECK(bad == 0, "backward from an aux_conv tape differs in %zu entries", bad);
  TEST_CHECK(outside == 0, "backward from an aux_conv tape wrote %zu gradients outside", outside);
  free(D0);
  pirf_unet_tape_destroy(&t0);

  free(g); free(dx); free(v); free(xp); free(pp); free(gt);
  free(c.params); free(c.x); free(c.r); free(c.D);
  pirf_unet_tape_destroy(&c.tape);
  pirf_unet_work_destroy(&c.work);
  pirf_decomp_destroy(&c.dc);
  pirf_unet_destroy(&c.net);
  int rc = test_finish("unet_denoiser_grad_matches_finite_difference");
  MPI_Finalize();
  return rc;
}
