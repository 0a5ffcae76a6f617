/* The training data of a run that learns from the data set: pretraining (EDM loss) and the PIDM
 * baseline's fine-tuning (EDM loss + residual loss, docs/algorithm.md §7.4) read it the same way.
 *
 * The data set is data.path of the deck (pirf/dataset.h), checked against the deck: its fields must
 * have grid.resolution and the PDE's channels (fine-tuning and sampling build the network from the
 * PDE, so a model trained on other fields could not be loaded). Which data sample fills global slot
 * s of step t is floor(N * Philox(seed, SCHEDULE, t, s)), so the data order does not depend on the
 * rank layout and a resumed run continues it. */
#ifndef PIRF_TRAINING_DATA_H
#define PIRF_TRAINING_DATA_H

#include "pirf/config.h"
#include "pirf/dataset.h"
#include "pirf/decomp.h"

#include <stdint.h>

/* Open data.path (its path into path[len]) and check it against the deck: collective user errors
 * (status 2) naming data.path. On success the caller closes ds. */
int pirf_training_data_open(const pirf_config *cfg, const pirf_decomp *dc, pirf_dataset *ds,
                            char *path, size_t len);
/* The data sample that fills global slot `slot` of step `step`, of N. */
long pirf_training_data_index(uint32_t seed, long step, long slot, long N);
/* This rank's tiles of the nb samples in global slots [slot0, slot0+nb) of step `step` into
 * y[nb][C][ym][xm]. Polls the stop signals between reads (may return PIRF_STOPPED); every rank of
 * the job must call it with the same nb (equal shares), so the collective reads line up. */
int pirf_training_data_read(pirf_dataset *ds, const pirf_decomp *dc, uint32_t seed, long step,
                            long slot0, long nb, float *y);

#endif
