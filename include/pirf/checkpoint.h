/* Checkpoints: the network weights, their EMA, the pretrained reference weights, Adam's moments and
 * the counters of a run, in one HDF5 file that PyTorch EDM can read with a few lines of h5py
 * (docs/checkpoints.md) and that any rank layout can read back.
 *
 * Layout (format_version 1):
 *   /net/<name>      float32, the tensor's PyTorch shape, for every entry of the parameter table;
 *                    <name> is the state_dict key itself ("enc.64x64_block0.conv0.weight": HDF5 allows
 *                    '.' in a name, so each group is flat, one data set per key)
 *   /ema/<name>      the same, when written
 *   /ref/<name>      the same, pretrained reference weights, when written
 *   /adam_m/<name>   Adam's first and second moments, PyTorch shapes, for the tensors of the
 *   /adam_v/<name>   trainable range only (attribute "step" on /adam_m: Adam's t)
 *   root attributes  format_version, kind = "pirf checkpoint", step, n_img (int64),
 *                    rng_counters (uint64[PIRF_CKPT_NRNG]), deck (the resolved deck, YAML text)
 *
 * Parallel I/O: every rank creates every data set (collective metadata), then writes or reads only
 * its own contiguous slice of the flattened arena (a union of hyperslabs per tensor; independent
 * MPI-IO transfers). For the replicated arenas (net, ema, ref) the slices are an even split of the
 * arena over the ranks and a read ends with an allgather; for the moments a rank's slice is its
 * optimizer shard, written straight from the shard and read straight into the new shard, so a
 * checkpoint written at one rank count loads at any other (the moments are re-sharded on the way).
 *
 * Every function here is collective over `comm`. A file is written as "<path>.partial" and renamed
 * to <path> only once it is complete and closed; its space is reserved first, and a failed write on
 * any rank makes every rank remove the .partial and return the same error (pirf/dataset.h). The
 * root also records `pde` and `channel_names` (what the deck expected) for the checks on reading. */
#ifndef PIRF_CHECKPOINT_H
#define PIRF_CHECKPOINT_H

#include "pirf/params.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define PIRF_CHECKPOINT_VERSION 1
#define PIRF_CKPT_NRNG 4

/* This rank's share of the optimizer state, in arena offsets. From a pirf_adam `opt`:
 *   (pirf_checkpoint_moments){opt.first, opt.count, opt.lo, opt.n, opt.m, opt.v, &opt.t}
 * The range must start and end at tensor boundaries (a contiguous run of whole tensors). */
typedef struct {
  size_t first, count; /* the trainable range [first, first+count) (the same on every rank) */
  size_t lo, n;        /* this rank's slice [lo, lo+n), inside the range; slices cover it once */
  float *m, *v;        /* n floats each */
  long *t;             /* Adam's step count */
} pirf_checkpoint_moments;

/* What a checkpoint holds. Arenas are table->total floats, identical on every rank. A NULL arena
 * (or NULL moments.m) is not written; on reading, a non-NULL one must be present in the file. */
typedef struct {
  float *net, *ema, *ref;
  pirf_checkpoint_moments moments;
  long step, n_img;                 /* optimizer steps and images seen */
  uint64_t rng[PIRF_CKPT_NRNG];     /* the caller's RNG counters (seed, Philox step, ...) */
} pirf_checkpoint;

/* Write `ck` to <path> (via <path>.partial). deck: the resolved deck YAML, or NULL. */
int pirf_checkpoint_write(const char *path, MPI_Comm comm, const pirf_param_table *table,
                          const pirf_checkpoint *ck, const char *deck);

/* Read <path> into the non-NULL arenas and moments of `ck` and its counters. deck: if not NULL,
 * receives a malloc'd copy of the stored deck text (the caller frees it).
 *
 * The file must hold, in every group read, exactly the table's tensors with the table's shapes, and
 * in /adam_m, /adam_v exactly the tensors of the moments' range; otherwise this is a user error
 * naming the tensor, both shapes and the file ("the checkpoint was written for a different model
 * configuration ..."). A missing file or group is a user error too, and so are: a format_version
 * other than 1..PIRF_CHECKPOINT_VERSION, a PDE or channel names (attributes `pde`,
 * `channel_names`, or pde.name of the stored deck) other than the deck's (pirf_io_expect), and a
 * non-finite value in any tensor read (the tensor is named). A read that fails on some ranks only
 * (a truncated file) is agreed on and reported once. */
int pirf_checkpoint_read(const char *path, MPI_Comm comm, const pirf_param_table *table,
                         pirf_checkpoint *ck, char **deck);

/* Read one group ("net", "ema" or "ref") of <path> into `arena`, with the same checks: loading a
 * pretrained model's EMA as the starting weights of a fine-tuning run, for example. */
int pirf_checkpoint_read_weights(const char *path, MPI_Comm comm, const pirf_param_table *table,
                                 const char *group, float *arena);

#endif
