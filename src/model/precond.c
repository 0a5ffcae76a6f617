/* EDM preconditioning around the SongUNet, forward and backward (see pirf/precond.h), with
 * PG-Diffusion's physics-gradient branch in front of the SongUNet when the network has one. */
#include "pirf/precond.h"

#include "pirf/check.h"
#include "pirf/pg_branch.h"
#include "unet_internal.h"

#include <math.h>
#include <string.h>

pirf_edm_coeffs pirf_edm_coefficients(double sigma, double sigma_data) {
  const double s2 = sigma * sigma, d2 = sigma_data * sigma_data;
  pirf_edm_coeffs c;
  c.c_skip = d2 / (s2 + d2);
  c.c_out = sigma * sigma_data / sqrt(s2 + d2);
  c.c_in = 1.0 / sqrt(d2 + s2);
  c.c_noise = log(sigma) / 4.0;
  return c;
}

static const float *P(const pirf_unet *net, const float *params, int i) {
  return params + net->table.p[i].offset;
}
static float *dP(const pirf_unet *net, float *dparams, int i) {
  return dparams + net->table.p[i].offset;
}

/* The branch's output e = branch(grad or 0) into channels [C, 2C) of each sample of xin
 * [B][2C][n]; records grad and h in a full tape. */
static int branch_forward(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                          const float *params, const float *grad, int B, float *xin) {
  const int C = net->cfg.in_channels, Hc = net->cfg.model_channels;
  const size_t n = unet_work_pixels(w), plane = (size_t)C * n;
  const int rec = tape && unet_tape_full(tape);
  const float *dx = grad;
  if (!dx) {
    memset(unet_work_pg(w, 3), 0, (size_t)B * plane * sizeof(float));
    dx = unet_work_pg(w, 3);
  }
  if (rec) {
    memcpy(unet_tape_pg(tape, 0), dx, (size_t)B * plane * sizeof *dx);
    dx = unet_tape_pg(tape, 0);
  }
  float *h = rec ? unet_tape_pg(tape, 1) : unet_work_pg(w, 2), *e = unet_work_io(w, 2);
  PIRF_TRY(pirf_pg_branch_forward(unet_work_level0(w), e, h, unet_work_pg(w, 0), dx,
                                  P(net, params, net->pg_layer1), P(net, params, net->pg_layer1 + 1),
                                  P(net, params, net->pg_layer2), P(net, params, net->pg_layer2 + 1),
                                  B, C, Hc, unet_work_conv_scratch(w)));
  for (int b = 0; b < B; b++)
    memcpy(xin + ((size_t)2 * b + 1) * plane, e + (size_t)b * plane, plane * sizeof *e);
  return 0;
}

int pirf_edm_denoise_with(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                          const float *params, const float *x, const double *sigma, int B,
                          const pirf_unet_dropout *drop, const float *grad, const float *aug,
                          float *D) {
  PIRF_CHECK(net->cfg.in_channels == net->cfg.out_channels,
             "the denoiser needs as many output channels as input channels (%d vs %d)",
             net->cfg.in_channels, net->cfg.out_channels);
  const int pg = net->pg_layer1 >= 0;
  PIRF_CHECK(pg || !grad, "a physics gradient was given to a network without the "
             "physics-gradient branch (model.physics_gradient: false)");
  const size_t plane = (size_t)net->cfg.in_channels * unet_work_pixels(w);
  const size_t in_plane = pg ? 2 * plane : plane; /* [c_in x, branch(grad)] per sample */
  float *xin = unet_work_io(w, 0), *F = unet_work_io(w, 1);
  float *c_noise = unet_work_io(w, 4);
  for (int b = 0; b < B; b++) {
    PIRF_CHECK(sigma[b] > 0, "the denoiser needs sigma > 0 (sample %d has %g)", b, sigma[b]);
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    c_noise[b] = (float)c.c_noise;
    for (size_t i = 0; i < plane; i++) xin[b * in_plane + i] = (float)(c.c_in * x[b * plane + i]);
  }
  if (pg) PIRF_TRY(branch_forward(net, w, tape, params, grad, B, xin));
  if (tape) memcpy(unet_tape_sigma(tape), sigma, (size_t)B * sizeof *sigma);
  PIRF_TRY(pirf_unet_forward(net, w, tape, params, xin, c_noise, aug, B, drop, F));
  for (int b = 0; b < B; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    for (size_t i = 0; i < plane; i++)
      D[b * plane + i] = (float)(c.c_skip * x[b * plane + i] + c.c_out * F[b * plane + i]);
  }
  return 0;
}

int pirf_edm_denoise(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                     const float *params, const float *x, const double *sigma, int B,
                     const pirf_unet_dropout *drop, float *D) {
  return pirf_edm_denoise_with(net, w, tape, params, x, sigma, B, drop, NULL, NULL, D);
}

int pirf_edm_denoise_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                              const float *params, const float *dD, float *dparams, int pfirst,
                              int pend, float *dx) {
  const int B = unet_tape_batch(tape);
  const double *sigma = unet_tape_sigma(tape);
  const int pg = net->pg_layer1 >= 0;
  const size_t plane = (size_t)net->cfg.in_channels * unet_work_pixels(w);
  const size_t in_plane = pg ? 2 * plane : plane;
  /* the branch's tensors are the table's last four: wanted when the range reaches them */
  const int want_branch = pg && dparams && pfirst <= net->pg_layer1 && pend >= net->pg_layer2 + 2;
  PIRF_CHECK(!want_branch || unet_tape_full(tape),
             "the physics-gradient branch's gradient needs a full tape, not a truncated one");
  float *dF = unet_work_io(w, 2), *dxin = unet_work_io(w, 3);
  /* dL/dF = c_out dD; dL/dx = c_skip dD + c_in dL/d(c_in x) */
  for (int b = 0; b < B; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    for (size_t i = 0; i < plane; i++) dF[b * plane + i] = (float)(c.c_out * dD[b * plane + i]);
  }
  const int need_in = dx || want_branch;
  if (need_in) memset(dxin, 0, (size_t)B * in_plane * sizeof *dxin);
  PIRF_TRY(pirf_unet_backward(net, w, tape, params, dF, dparams, pfirst, pend,
                              need_in ? dxin : NULL));
  if (dx)
    for (int b = 0; b < B; b++) {
      pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
      for (size_t i = 0; i < plane; i++)
        dx[b * plane + i] += (float)(c.c_skip * dD[b * plane + i] + c.c_in * dxin[b * in_plane + i]);
    }
  if (want_branch) {
    /* dL/de: channels [C, 2C) of the SongUNet input's cotangent, gathered into dF (consumed) */
    float *de = dF;
    for (int b = 0; b < B; b++)
      memcpy(de + (size_t)b * plane, dxin + (size_t)b * in_plane + plane, plane * sizeof *de);
    const int C = net->cfg.in_channels, Hc = net->cfg.model_channels;
    PIRF_TRY(pirf_pg_branch_backward(
        unet_work_level0(w), NULL, dP(net, dparams, net->pg_layer1),
        dP(net, dparams, net->pg_layer1 + 1), dP(net, dparams, net->pg_layer2),
        dP(net, dparams, net->pg_layer2 + 1), de, unet_tape_pg(tape, 0), unet_tape_pg(tape, 1),
        unet_work_pg(w, 0), unet_work_pg(w, 1), P(net, params, net->pg_layer1),
        P(net, params, net->pg_layer2), B, C, Hc, unet_work_conv_scratch(w)));
  }
  return 0;
}
