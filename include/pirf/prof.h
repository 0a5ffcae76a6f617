/* Profiling with PETSc's own logging: one log stage per pipeline stage and one log event per
 * kernel, collective and I/O path of pirf, so that `-log_view` (and its :file, XML and flame-graph
 * formats, `-log_view :prof.xml:ascii_xml`, `-log_view :prof.txt:ascii_flamegraph`) reads as the
 * profile of a pirf run: time, flops (PetscLogFlops) and MPI messages and reductions per event and
 * per stage. docs/scaling.md lists the events and what each one includes.
 *
 * Events nest (a halo exchange inside a convolution inside a network evaluation inside a sampler
 * step): PETSc reports inclusive times, so the percentages of nested events add to more than 100.
 * Message counts come from PETSc's own MPI wrappers: petscsys.h (included here) redefines
 * MPI_Isend, MPI_Allreduce, MPI_Allgatherv, ... as counting macros in every file that includes
 * this header before it calls MPI.
 *
 * Outside a PETSc run (before pirf_prof_init, or in a unit test without PetscInitialize) every
 * call is a no-op; inside one without -log_view it costs one branch in PETSc's macro. */
#ifndef PIRF_PROF_H
#define PIRF_PROF_H

#include <petscsys.h>

/* PETSc wraps MPI_Reduce_scatter_block but not MPI_Reduce_scatter (Adam's and attention's): count
 * it as PETSc counts the block variant, one reduction on a communicator of more than one rank. */
#if defined(PETSC_USE_LOG) && !defined(MPI_Reduce_scatter)
#define MPI_Reduce_scatter(sendbuf, recvbuf, recvcounts, datatype, op, comm)                       \
  ((petsc_allreduce_ct += PetscMPIParallelComm((comm)), 0) ||                                      \
   MPI_Reduce_scatter((sendbuf), (recvbuf), (recvcounts), (datatype), (op), (comm)))
#endif

typedef enum {
  /* nn: convolutions (flops 2 Cin Cout k^2 H W per sample and direction) */
  PIRF_EV_CONV3_FWD,
  PIRF_EV_CONV3_BWD_DATA,
  PIRF_EV_CONV3_BWD_WEIGHTS,
  PIRF_EV_CONV1_FWD,
  PIRF_EV_CONV1_BWD_DATA,
  PIRF_EV_CONV1_BWD_WEIGHTS,
  PIRF_EV_GROUPNORM_FWD,
  PIRF_EV_GROUPNORM_BWD,
  PIRF_EV_GROUPNORM_REDUCE, /* the Allreduce of a group's sums over the tiles of a sample */
  PIRF_EV_ATTENTION_FWD,
  PIRF_EV_ATTENTION_BWD,
  PIRF_EV_ATTENTION_GATHER,  /* Allgatherv of K and V over the tiles of a sample */
  PIRF_EV_ATTENTION_SCATTER, /* Reduce_scatter of dK and dV back to their owners */
  /* par */
  PIRF_EV_HALO,         /* padding with the neighbours' edges (the exchange itself on > 1 tile) */
  PIRF_EV_HALO_ADJOINT, /* the padded gradient's frame returned to and added at its owners */
  /* model */
  PIRF_EV_UNET_FWD, /* one network evaluation (all its layers), taped or not */
  PIRF_EV_UNET_BWD,
  PIRF_EV_GRAD_REDUCE, /* pirf denoise: the gradient Allreduce over all ranks */
  /* diffusion */
  PIRF_EV_SAMPLER_STEP,      /* one Heun/Euler step without a tape (the no-grad prefix, sampling) */
  PIRF_EV_SAMPLER_STEP_TAPE, /* one taped step (the last K of a PIRF iteration) */
  PIRF_EV_SAMPLER_STEP_BWD,  /* the adjoint of one taped step */
  PIRF_EV_RESIDUAL,          /* the PDE residual of the reward (and of the evaluation) */
  PIRF_EV_RESIDUAL_ADJOINT,  /* its adjoint (the reward's gradient with respect to the sample) */
  /* optim */
  PIRF_EV_ADAM_REDUCE, /* Reduce_scatter of the gradient over the data groups (sharded Adam) */
  PIRF_EV_ADAM_UPDATE, /* the update of this rank's shard (flops ~12 per parameter) */
  PIRF_EV_ADAM_GATHER, /* Allgatherv of the updated shards */
  PIRF_EV_EMA,         /* the EMA of the weights (3 flops per parameter) */
  /* io */
  PIRF_EV_CHECKPOINT_WRITE,
  PIRF_EV_CHECKPOINT_READ,
  PIRF_EV_DATA_READ,  /* a block of fields from a data set */
  PIRF_EV_DATA_WRITE, /* a block of fields into a data set (generate, sample) */
  /* physics */
  PIRF_EV_FFT,           /* a 2-D real FFT of the Kolmogorov solver, transposes included */
  PIRF_EV_FFT_TRANSPOSE, /* the Alltoallv between pirf's tiles and FFTW's slabs */
  PIRF_EV_PDE_SOLVE,     /* generate: one chunk of samples (data.chunk) solved by the PDE solver */
  /* app: the unit of work of a training stage, for per-step times */
  PIRF_EV_TRAIN_STEP, /* one pretraining step or one fine-tuning iteration, optimizer included */
  PIRF_EV_COUNT
} pirf_event;

typedef enum {
  PIRF_STAGE_GENERATE,
  PIRF_STAGE_PRETRAIN,
  PIRF_STAGE_FINETUNE,
  PIRF_STAGE_SAMPLE,
  PIRF_STAGE_EVALUATE,
  PIRF_STAGE_COUNT
} pirf_stage;

/* The names -log_view prints ("Conv3x3Fwd", "pirf finetune"). */
const char *pirf_event_name(pirf_event e);
const char *pirf_stage_name(pirf_stage s);

/* Registers the stages and events with PETSc; after PetscInitialize, once per process (later
 * calls do nothing). Without it every call below is a no-op. */
int pirf_prof_init(void);

extern int pirf_prof_on;
extern PetscLogEvent pirf_prof_event[PIRF_EV_COUNT];

static inline void pirf_prof_begin(pirf_event e) {
  if (pirf_prof_on) (void)PetscLogEventBegin(pirf_prof_event[e], 0, 0, 0, 0);
}
/* flops: what the event computed since its begin (0 for communication and I/O). */
static inline void pirf_prof_end(pirf_event e, double flops) {
  if (!pirf_prof_on) return;
  if (flops > 0) (void)PetscLogFlops(flops);
  (void)PetscLogEventEnd(pirf_prof_event[e], 0, 0, 0, 0);
}

/* Starts PETSc's default logging if -log_view did not (pirf bench reads event times). */
int pirf_prof_start(void);
/* This rank's totals of event e in the current stage so far: seconds, flops and calls (all 0
 * without logging). A caller takes differences around the work it times. */
void pirf_prof_totals(pirf_event e, double *seconds, double *flops, int *count);
/* This rank's flops counted so far (PetscLogFlops), all events together. */
double pirf_prof_flops(void);

/* A pipeline stage: everything between push and pop is reported under "pirf <stage>" (pirf run
 * pushes each stage in turn). Pop the stage that was pushed, on every path out. */
void pirf_prof_stage_push(pirf_stage s);
void pirf_prof_stage_pop(pirf_stage s);

#endif
