/* PIRF fine-tuning (docs/algorithm.md §2.3-2.9): the loss of one iteration and its gradient with respect to
 * the trainable parameter range, by reverse mode through the last K steps of the Heun sampler.
 *
 * One iteration draws fresh latents x_0 = sigma_max * N(0, 1) for the global batch, runs steps
 * i < N - K without gradient (eval mode), the last K steps with a tape per network call (2K - 1
 * tapes; train mode, dropout on when asked), and takes
 *
 *     loss = loss_scaling * mean over the global batch of mean(R(post(x_N))^2)
 *            (DRaFT-LV: averaged with lv_inner re-noise/denoise terms at sigma_{N-1})
 *          + lambda * sum_p ||theta_p - theta_p^ref||_2      (weight regularization, §2.7)
 *
 * The gradient is left in this rank's gradient arena as a PARTIAL sum (its tiles and its data
 * group's samples), scaled so that the sum over all world ranks is d loss / d theta: exactly what
 * pirf_adam_step reduces, with scale 1. The regularization gradient is added on world rank 0 only,
 * so it enters the sum once.
 *
 * Layer-wise truncation: the gradient covers table entries [pfirst, pend) only. With K = 1 and
 * pfirst > 0 the single tape is truncated (pirf_unet_tape_create_from) and its backward stops at
 * the trainable range: no input gradient is needed because x_{N-1} is not differentiated.
 *
 * Every random number is keyed by the global sample: latents (PIRF_STREAM_LATENT, step =
 * iteration), ReFT's K and the random N (PIRF_STREAM_SCHEDULE, step = iteration), DRaFT-LV noise
 * (PIRF_STREAM_LV, step = iteration * lv_inner + j) and dropout (seed, step = iteration * 64 +
 * network call), so the result does not depend on the rank layout. */
#ifndef PIRF_FINETUNE_H
#define PIRF_FINETUNE_H

#include "pirf/edm_denoiser.h"
#include "pirf/physics.h"

#include <stdint.h>

typedef enum { PIRF_FT_DRAFT_K, PIRF_FT_DRAFT, PIRF_FT_REFT, PIRF_FT_DRAFT_LV } pirf_ft_method;

typedef struct {
  pirf_ft_method method;
  int k;               /* DRaFT-K: differentiable steps */
  int steps;           /* N */
  int random_schedule; /* N uniform from {20, 40, 80} per iteration */
  int lv_inner;        /* DRaFT-LV re-noise/denoise terms */
  double sigma_min, sigma_max, rho;
  double loss_scaling, lambda;
  int dropout;         /* taped calls in train mode (dropout at the network's rate) */
  int truncate;        /* K = 1 and pfirst > 0: truncated tape (no input gradient) */
  uint32_t seed;
  long batch;          /* samples per iteration over the whole job */
  long micro;          /* samples per data group per round (0 = the whole share) */
  int eval_only;       /* no tapes and no gradient: pirf_ft_loss only (monitoring) */
} pirf_ft_config;

/* Defaults of the reference (DRaFT-K, K = 2, N = 20, sigma 0.002..80, rho 7, ls 1, lambda 0). */
pirf_ft_config pirf_ft_defaults(void);
const char *pirf_ft_method_name(pirf_ft_method m);

typedef struct {
  const pirf_unet *net;
  const pirf_decomp *dc;
  pirf_physics *ph;
  pirf_ft_config cfg;
  int pfirst, pend;      /* trainable table entries */
  size_t first, count;   /* the same range in arena floats */
  long share, micro;     /* this group's samples per iteration and per round */
  int kmax, ntapes, lv_first; /* tapes: 2*kmax - 1 for the chain, then lv_inner for DRaFT-LV */
  int truncated;         /* slot 0 holds a truncated tape */
  pirf_unet_work *work;
  pirf_unet_tape *tapes[PIRF_MAX_TAPES];
  pirf_edm_denoiser den;
  float *x, *xbar, *scratch, *saved, *lv;
  float *grad;           /* the gradient arena (table.total floats; only the range is written) */
  /* optional: called with each round's final samples x_N (nb of them, this rank's tile), so a
   * caller can measure them without holding the whole batch at once */
  int (*on_samples)(void *ctx, const float *x, int nb);
  void *on_samples_ctx;
} pirf_ft;

/* Checks the configuration against the job (collective user errors: K > N, too many tapes, batch
 * not a multiple of the data groups) and allocates work, tapes and buffers for micro-batches. */
int pirf_ft_create(pirf_ft *ft, const pirf_unet *net, const pirf_decomp *dc, pirf_physics *ph,
                   const pirf_ft_config *cfg, int pfirst, int pend);
void pirf_ft_destroy(pirf_ft *ft);

/* N and K of iteration `iter` (random N, ReFT's K). */
void pirf_ft_schedule(const pirf_ft_config *c, long iter, int *N, int *K);

typedef struct {
  double loss;         /* the reward loss (loss_scaling included), global mean */
  double residual_mse; /* mean R(post(x_N))^2 over the global batch */
  double reg;          /* the weight regularization term */
  int N, K;
} pirf_ft_stats;

/* One iteration: ft->grad is zeroed on the range and receives this rank's partial gradient
 * (sum over world ranks = gradient). ref may be NULL when lambda = 0. Collective over dc->world. */
int pirf_ft_gradient(pirf_ft *ft, const float *params, const float *ref, long iter,
                     pirf_ft_stats *st);
/* The same loss without tapes or gradient (dropout off), for finite differences and monitoring.
 * prefix: the weights of the steps i < N - K that DRaFT-K does not differentiate (its
 * stop-gradient: the gradient above is the derivative of this loss with respect to params at
 * prefix = params); NULL runs every step with params (the plain sampler's loss). */
int pirf_ft_loss(pirf_ft *ft, const float *params, const float *prefix, const float *ref, long iter,
                 pirf_ft_stats *st);

/* Trainable range by name: "decoder0" (the full-resolution decoder level), "all", "freeze_late"
 * (the decoder levels below full resolution). Returns 0, or -1 for an unknown name. */
int pirf_ft_trainable_range(const pirf_unet *net, const char *which, int *pfirst, int *pend);

#endif
