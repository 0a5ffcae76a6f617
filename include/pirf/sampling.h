/* Drawing a set of samples from a network with the (optionally guided) Heun sampler, for
 * `pirf sample` and `pirf evaluate`.
 *
 * The unit of work is a batch of `batch` samples: batch k holds global samples
 * [k*batch, min((k+1)*batch, samples)) and goes to data group k mod ndata, whole. Guidance's
 * objective is one norm over a batch, so keeping batches whole makes the result independent of the
 * rank layout. Latents are x_0[s][c][p] = sigma_max * Philox normal (seed, PIRF_STREAM_LATENT,
 * step 0, global sample s, channel c, global pixel p): the same samples at any layout. Karras
 * schedule with sigma_min = 0.002, sigma_max = 80, rho = 7 (docs/algorithm.md §2.3).
 *
 * The reported residual is the deck's (Darcy: pde.darcy.discretize_a); guidance uses the
 * continuous one (pirf/guidance.h). All functions are collective over the world communicator. */
#ifndef PIRF_SAMPLING_H
#define PIRF_SAMPLING_H

#include "pirf/config.h"
#include "pirf/fidelity.h"
#include "pirf/guidance.h"
#include "pirf/unet.h"

#define PIRF_SIGMA_MIN 0.002
#define PIRF_SIGMA_MAX 80.0
#define PIRF_RHO 7.0
/* The denoiser keeps one sigma per sample of a batch (pirf_edm_denoiser). */
#define PIRF_SAMPLE_MAX_BATCH 64

typedef struct {
  pirf_guidance g;
  int steps;
  long samples;
  int batch;
  uint32_t seed;
  const char *path;       /* samples file to write, or NULL */
  const char *checkpoint; /* recorded in the file's attributes */
  const char *weights;    /* "ema" | "net" */
  const char *label;      /* progress line label */
} pirf_sample_opts;

typedef struct {
  double mse, mae;            /* residual over all samples and pixels, physical units */
  double mse_se, mae_se;      /* their standard errors over samples: sd(per-sample) / sqrt(n) */
  double seconds;             /* wall time of the sampling (without file output) */
  double seconds_per_sample;  /* seconds / samples: this job's throughput */
  long nfe, vjps, residual_grads; /* per sampling trajectory (one batch) */
} pirf_sample_stats;

/* Draw o->samples samples with `params` of `net`; write them to o->path (when not NULL) and add
 * them to fid's generated set (when not NULL). */
int pirf_sample_set(const pirf_config *cfg, const pirf_decomp *dc, pirf_physics *ph,
                    const pirf_unet *net, const float *params, const pirf_sample_opts *o,
                    pirf_fidelity *fid, pirf_sample_stats *st);

/* x_0 = smax * Philox normal of global samples [first, first+B) on this rank's tile (the latents
 * of every sampling command, so trajectories of the same seed are the same samples). Local. */
void pirf_sample_latents(const pirf_decomp *dc, uint32_t seed, long first, int B, int C,
                         double smax, float *x);

/* Build the deck's network for this decomposition and read `group` ("ema" | "net") of the
 * checkpoint `path` into a new arena (*params, malloc'd). */
int pirf_sample_load_network(const pirf_config *cfg, const pirf_decomp *dc, int channels,
                             const char *path, const char *group, pirf_unet *net, float **params);
/* The same with the physics-gradient branch whatever model.physics_gradient says: a PG-Diffusion
 * checkpoint evaluated beside the deck's base model (pirf evaluate). */
int pirf_sample_load_pg_network(const pirf_config *cfg, const pirf_decomp *dc, int channels,
                                const char *path, const char *group, pirf_unet *net,
                                float **params);

#endif
