/* EDM preconditioning around the SongUNet, forward and backward (see pirf/precond.h). */
#include "pirf/precond.h"

#include "pirf/check.h"
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

int pirf_edm_denoise(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                     const float *params, const float *x, const double *sigma, int B,
                     const pirf_unet_dropout *drop, float *D) {
  PIRF_CHECK(net->cfg.in_channels == net->cfg.out_channels,
             "the denoiser needs as many output channels as input channels (%d vs %d)",
             net->cfg.in_channels, net->cfg.out_channels);
  const size_t plane = (size_t)net->cfg.in_channels * unet_work_pixels(w);
  float *xin = unet_work_io(w, 0), *F = unet_work_io(w, 1);
  float *c_noise = unet_work_io(w, 4);
  for (int b = 0; b < B; b++) {
    PIRF_CHECK(sigma[b] > 0, "the denoiser needs sigma > 0 (sample %d has %g)", b, sigma[b]);
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    c_noise[b] = (float)c.c_noise;
    for (size_t i = 0; i < plane; i++) xin[b * plane + i] = (float)(c.c_in * x[b * plane + i]);
  }
  if (tape) memcpy(unet_tape_sigma(tape), sigma, (size_t)B * sizeof *sigma);
  PIRF_TRY(pirf_unet_forward(net, w, tape, params, xin, c_noise, B, drop, F));
  for (int b = 0; b < B; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    for (size_t i = 0; i < plane; i++)
      D[b * plane + i] = (float)(c.c_skip * x[b * plane + i] + c.c_out * F[b * plane + i]);
  }
  return 0;
}

int pirf_edm_denoise_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                              const float *params, const float *dD, float *dparams, int pfirst,
                              int pend, float *dx) {
  const int B = unet_tape_batch(tape);
  const double *sigma = unet_tape_sigma((pirf_unet_tape *)tape);
  const size_t plane = (size_t)net->cfg.in_channels * unet_work_pixels(w);
  float *dF = unet_work_io(w, 2), *dxin = unet_work_io(w, 3);
  /* dL/dF = c_out dD; dL/dx = c_skip dD + c_in dL/d(c_in x) */
  for (int b = 0; b < B; b++) {
    pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
    for (size_t i = 0; i < plane; i++) dF[b * plane + i] = (float)(c.c_out * dD[b * plane + i]);
  }
  if (dx) memset(dxin, 0, (size_t)B * plane * sizeof *dxin);
  PIRF_TRY(pirf_unet_backward(net, w, tape, params, dF, dparams, pfirst, pend, dx ? dxin : NULL));
  if (dx)
    for (int b = 0; b < B; b++) {
      pirf_edm_coeffs c = pirf_edm_coefficients(sigma[b], PIRF_SIGMA_DATA);
      for (size_t i = 0; i < plane; i++)
        dx[b * plane + i] += (float)(c.c_skip * dD[b * plane + i] + c.c_in * dxin[b * plane + i]);
    }
  return 0;
}
