/* PETSc log stages and events for pirf's work (see pirf/prof.h). */
#include "pirf/prof.h"

/* At most 16 characters each: the width of -log_view's name column. */
static const char *const event_names[PIRF_EV_COUNT] = {
    [PIRF_EV_CONV3_FWD] = "Conv3x3Fwd",
    [PIRF_EV_CONV3_BWD_DATA] = "Conv3x3BwdData",
    [PIRF_EV_CONV3_BWD_WEIGHTS] = "Conv3x3BwdWeight",
    [PIRF_EV_CONV1_FWD] = "Conv1x1Fwd",
    [PIRF_EV_CONV1_BWD_DATA] = "Conv1x1BwdData",
    [PIRF_EV_CONV1_BWD_WEIGHTS] = "Conv1x1BwdWeight",
    [PIRF_EV_GROUPNORM_FWD] = "GroupNormFwd",
    [PIRF_EV_GROUPNORM_BWD] = "GroupNormBwd",
    [PIRF_EV_GROUPNORM_REDUCE] = "GroupNormAllred",
    [PIRF_EV_ATTENTION_FWD] = "AttentionFwd",
    [PIRF_EV_ATTENTION_BWD] = "AttentionBwd",
    [PIRF_EV_ATTENTION_GATHER] = "AttnGatherKV",
    [PIRF_EV_ATTENTION_SCATTER] = "AttnRedScatKV",
    [PIRF_EV_HALO] = "HaloExchange",
    [PIRF_EV_HALO_ADJOINT] = "HaloAdjoint",
    [PIRF_EV_UNET_FWD] = "UNetFwd",
    [PIRF_EV_UNET_BWD] = "UNetBwd",
    [PIRF_EV_GRAD_REDUCE] = "GradAllreduce",
    [PIRF_EV_SAMPLER_STEP] = "SamplerStep",
    [PIRF_EV_SAMPLER_STEP_TAPE] = "SamplerStepTape",
    [PIRF_EV_SAMPLER_STEP_BWD] = "SamplerStepBwd",
    [PIRF_EV_RESIDUAL] = "Residual",
    [PIRF_EV_RESIDUAL_ADJOINT] = "ResidualAdjoint",
    [PIRF_EV_ADAM_REDUCE] = "AdamRedScatter",
    [PIRF_EV_ADAM_UPDATE] = "AdamUpdate",
    [PIRF_EV_ADAM_GATHER] = "AdamAllgather",
    [PIRF_EV_EMA] = "EMAUpdate",
    [PIRF_EV_CHECKPOINT_WRITE] = "CheckpointWrite",
    [PIRF_EV_CHECKPOINT_READ] = "CheckpointRead",
    [PIRF_EV_DATA_READ] = "DataRead",
    [PIRF_EV_DATA_WRITE] = "DataWrite",
    [PIRF_EV_FFT] = "FFT",
    [PIRF_EV_FFT_TRANSPOSE] = "FFTTranspose",
    [PIRF_EV_PDE_SOLVE] = "PDESolve",
    [PIRF_EV_TRAIN_STEP] = "TrainStep",
};

static const char *const stage_names[PIRF_STAGE_COUNT] = {
    [PIRF_STAGE_GENERATE] = "pirf generate", [PIRF_STAGE_PRETRAIN] = "pirf pretrain",
    [PIRF_STAGE_FINETUNE] = "pirf finetune", [PIRF_STAGE_SAMPLE] = "pirf sample",
    [PIRF_STAGE_EVALUATE] = "pirf evaluate",
};

int pirf_prof_on = 0;
PetscLogEvent pirf_prof_event[PIRF_EV_COUNT];
/* Registered at their first push, so that -log_view lists only the stages a run went through (it
 * prints "Unknown" for a registered stage that never ran). Every rank pushes the same stages in
 * the same order, so their numbers agree across ranks. */
static PetscLogStage stages[PIRF_STAGE_COUNT];
static int stage_registered[PIRF_STAGE_COUNT];

const char *pirf_event_name(pirf_event e) { return event_names[e]; }
const char *pirf_stage_name(pirf_stage s) { return stage_names[s]; }

int pirf_prof_init(void) {
  PetscBool up = PETSC_FALSE;
  if (pirf_prof_on || PetscInitialized(&up) || !up) return 0;
  PetscClassId cls;
  if (PetscClassIdRegister("pirf", &cls)) return 1;
  for (int e = 0; e < PIRF_EV_COUNT; e++)
    if (PetscLogEventRegister(event_names[e], cls, &pirf_prof_event[e])) return 1;
  pirf_prof_on = 1;
  return 0;
}

void pirf_prof_stage_push(pirf_stage s) {
  if (!pirf_prof_on) return;
  if (!stage_registered[s] && PetscLogStageRegister(stage_names[s], &stages[s]) == 0)
    stage_registered[s] = 1;
  if (stage_registered[s]) (void)PetscLogStagePush(stages[s]);
}

void pirf_prof_stage_pop(pirf_stage s) {
  if (pirf_prof_on && stage_registered[s]) (void)PetscLogStagePop();
}

int pirf_prof_start(void) {
  if (!pirf_prof_on) return 0;
  PetscBool active = PETSC_FALSE;
  if (PetscLogIsActive(&active)) return 1;
  return active ? 0 : (PetscLogDefaultBegin() != 0);
}

void pirf_prof_totals(pirf_event e, double *seconds, double *flops, int *count) {
  *seconds = *flops = 0;
  *count = 0;
  PetscBool active = PETSC_FALSE;
  if (!pirf_prof_on || PetscLogIsActive(&active) || !active) return;
  PetscStageLog log;
  int stage;
  PetscEventPerfInfo info;
  if (PetscLogGetStageLog(&log) || PetscStageLogGetCurrent(log, &stage) || stage < 0 ||
      PetscLogEventGetPerfInfo(stage, pirf_prof_event[e], &info))
    return;
  *seconds = info.time;
  *flops = info.flops;
  *count = info.count;
}

double pirf_prof_flops(void) {
  PetscLogDouble f = 0;
  if (pirf_prof_on) (void)PetscGetFlops(&f);
  return f;
}
