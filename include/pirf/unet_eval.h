/* Evaluating the SongUNet F(x; c_noise) on the tile decomposition: forward, the tape, backward.
 *
 *   pirf_unet_work   scratch of one rank for batches of up to B samples on one decomposition: the
 *                    live tensors of a forward without tape (the skip stack, the decoder's current
 *                    output, block temporaries) and, when made with backward = 1, the gradient
 *                    buffers of a backward. One allocation, carved by a size table; shared by any
 *                    number of evaluations (one at a time).
 *   pirf_unet_tape   what one evaluation's backward needs (below). One allocation per tape; a DRaFT-K
 *                    step keeps one tape per differentiable network call.
 *
 * Nothing is allocated by forward or backward. Activations are float32 [B][C][ym][xm], this rank's
 * tile at each U-Net level (pirf_level); x and F are [B][C][ym][xm] at full resolution.
 *
 * What the tape records, per module (docs/model.md): the network input; every module's output (the
 * next module's input and the skip stack); per UNetBlock norm0's statistics, conv0's output plus
 * the affine term (norm1's input) and norm1's statistics; per attention block the pre-attention
 * output (norm2's input), norm2's statistics, qkv, the softmax weights and the attention output;
 * aux_norm's statistics; the embedding MLP's activations; the dropout key. The backward rebuilds
 * the rest from these with cheap elementwise work: every GroupNorm output from its input and
 * statistics (pirf_groupnorm_apply, the forward's own code, so the floats are the forward's), a
 * decoder block's [x, skip] input by concatenating the two recorded outputs again, SiLU outputs,
 * resampled tensors and dropout masks (Philox functions of the key).
 *
 * Collective: forward and backward are collective over dc->space (halo exchanges, GroupNorm
 * statistics, attention tokens); every rank of a space group calls them with the same B. */
#ifndef PIRF_UNET_EVAL_H
#define PIRF_UNET_EVAL_H

#include "pirf/decomp.h"
#include "pirf/level.h"
#include "pirf/unet.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pirf_unet_work pirf_unet_work;
typedef struct pirf_unet_tape pirf_unet_tape;

/* Dropout of a training-mode evaluation (EDM: before conv1 of every UNetBlock, p =
 * net->cfg.dropout). The mask of module k, sample b, channel c, global pixel is
 * pirf_dropout_keep({seed, step, layer = k, sample0}, ...), so it is the same at any layout. */
typedef struct {
  uint32_t seed, step, sample0; /* sample0: global index of this rank's sample b = 0 */
} pirf_unet_dropout;

/* backward = 0: forward-only scratch (sampling without gradient). */
int pirf_unet_work_create(const pirf_unet *net, const pirf_decomp *dc, int B, int backward,
                          pirf_unet_work **w);
void pirf_unet_work_destroy(pirf_unet_work **w);
size_t pirf_unet_work_bytes(const pirf_unet_work *w);

int pirf_unet_tape_create(const pirf_unet *net, const pirf_decomp *dc, int B, pirf_unet_tape **t);
/* A truncated tape: records only from the module whose parameters start at table entry pfirst
 * (e.g. the first of pirf_unet_decoder_level_range(net, 0)); the modules before it run as without
 * tape, and only the first recorded module's input, the encoder outputs its decoder blocks pop and
 * the embedding are kept. Its backward gives
 * the gradients of parameters [pfirst, ...) and no input gradient: layer-wise truncation with
 * K = 1 needs nothing more (docs/architecture.md, memory plan). pfirst = 0: the full tape. */
int pirf_unet_tape_create_from(const pirf_unet *net, const pirf_decomp *dc, int B, int pfirst,
                               pirf_unet_tape **t);
void pirf_unet_tape_destroy(pirf_unet_tape **t);
size_t pirf_unet_tape_bytes(const pirf_unet_tape *t);

/* F[B][out_channels] = SongUNet(x[B][in_channels]; c_noise[B], aug[B][augment_dim]) with
 * parameters `params` (the table's arena). aug: EDM's augmentation labels (pretraining with
 * pretrain.augment), or NULL for none (sampling, fine-tuning; the same as zeros), ignored by a
 * network without map_augment. tape = NULL keeps only live tensors; otherwise the tape records this evaluation
 * (it must have been created for at least B samples). drop = NULL: eval mode (no dropout).
 * B <= the work's (and tape's) capacity. F must not alias x. */
int pirf_unet_forward(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                      const float *params, const float *x, const float *c_noise,
                      const float *aug, int B, const pirf_unet_dropout *drop, float *F);

/* The backward of the taped evaluation for the cotangent dF[B][out_channels]:
 *   dparams[i] += dL/dparams for tensors i in [pfirst, pend) of the table (others untouched;
 *                 dparams = NULL for none), THIS RANK'S PARTIAL SUM over its tile and samples;
 *   dx          += dL/dx (NULL when not wanted).
 * params must be those of the forward. The backward stops early when nothing below is wanted
 * (layer-wise truncation with dx = NULL). The work must have been made with backward = 1. */
int pirf_unet_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                       const float *params, const float *dF, float *dparams, int pfirst, int pend,
                       float *dx);

/* Sum the per-rank partial parameter gradients grad[first, first+count) over the space
 * communicator and the data groups (all of dc->world), in place. */
int pirf_unet_grad_allreduce(const pirf_decomp *dc, float *grad, size_t first, size_t count);

/* Bytes per rank of a forward-only work, a forward-and-backward work, one full tape and one tape
 * truncated to the full-resolution decoder level, for B samples on decomposition dc, without
 * allocating them (plans only). */
int pirf_unet_memory(const pirf_unet *net, const pirf_decomp *dc, int B, size_t *work_forward,
                     size_t *work_backward, size_t *tape, size_t *tape_level0);

/* The size table of the last-created work or tape, for docs and `pirf info`: prints one line per
 * region (name, floats) to rank 0's log when verbose. */
void pirf_unet_work_print(const pirf_unet_work *w);
void pirf_unet_tape_print(const pirf_unet_tape *t);

#endif
