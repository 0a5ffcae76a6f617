/* The subcommands of the pirf executable. Each pirf_cmd_* takes the deck path and the remaining
 * arguments (overrides key=value and PETSc options) and returns 0 or an error code; each
 * pirf_stage_* runs one pipeline stage on an already loaded deck (pirf run chains them). */
#ifndef PIRF_APP_H
#define PIRF_APP_H

#include "pirf/config.h"
#include "pirf/finetune.h"
#include "pirf/training_run.h"

#include <stddef.h>

int pirf_cmd_run(const char *deck, int nargs, char **args);
int pirf_cmd_info(const char *deck, int nargs, char **args);
int pirf_cmd_bench(const char *deck, int nargs, char **args);
int pirf_cmd_denoise(const char *deck, int nargs, char **args); /* deck unused: see cmd_denoise.c */

int pirf_stage_generate(pirf_config *cfg);
/* pirf generate's work; resumable = 0 (evaluate's held-out data): no partial file is resumed or
 * kept after a stop. */
int pirf_generate_data(pirf_config *cfg, int resumable);
int pirf_stage_pretrain(pirf_config *cfg);
int pirf_stage_finetune(pirf_config *cfg);
int pirf_stage_sample(pirf_config *cfg);
int pirf_stage_evaluate(pirf_config *cfg);
/* pirf value-error: output.dir/value_error.json (docs/value-error.md). */
int pirf_stage_value_error(pirf_config *cfg);
/* output.dir/evaluation.json: marks evaluation done. */
const char *pirf_evaluate_output(const pirf_config *cfg, char *buf, size_t len);
/* The file that marks pretraining done: output.dir/base.h5. */
const char *pirf_pretrain_output(const pirf_config *cfg, char *buf, size_t len);

/* The finetune.* keys of a deck as pirf_ft_config (the dropout flag is set by the caller, from
 * the network it builds). */
int pirf_ft_config_from_deck(const pirf_config *cfg, uint32_t seed, pirf_ft_config *fc);
/* The fine-tuned model: output.dir/pirf.h5 (finetune.method = pidm: output.dir/pidm.h5). */
const char *pirf_finetune_output(const pirf_config *cfg, char *buf, size_t len);
/* The start of every fine-tuning method (cmd_finetune.c): make output.dir (unless bench), resume
 * from the state when there is one, else load the base checkpoint (its path into base[len]) into
 * r->params, r->ema and r->ref (when allocated). */
int pirf_finetune_start(const pirf_config *cfg, pirf_training_run *r, int bench, char *base,
                        size_t len);
/* finetune.method = pidm: the PIDM baseline's fine-tuning on the data set (cmd_finetune_pidm.c). */
int pirf_finetune_pidm(pirf_config *cfg);

extern const pirf_cfg_spec pirf_pretrain_schema[];
extern const pirf_cfg_spec pirf_sample_schema[], pirf_evaluate_schema[];
extern const pirf_cfg_spec pirf_finetune_schema[];
extern const pirf_cfg_spec pirf_value_error_schema[];

#endif
