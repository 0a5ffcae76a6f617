/* One training run: what pretraining (cmd_pretrain.c) and PIRF fine-tuning (cmd_finetune.c) share.
 *
 * The decomposition, the network and its arenas (net, EMA and, for fine-tuning, the reference
 * weights), the sharded Adam state, the checkpoint (write, resume, the seed check), the JSONL log
 * (wall-clock time and peak RSS on every line; trimmed to the checkpoint's step on resume), the
 * progress line (also inside a long step), the stop signals with bounded latency, and the guard
 * against runs of non-finite steps. The commands keep what differs: what one step computes (the
 * EDM loss on data, or the reward through the sampler) and what their log lines say.
 *
 * A command's loop, in order:
 *   pirf_training_init, _decomp, (build uc) _network, _optimizer, mkdir, _resume, _open_log,
 *   _loop_begin; then per step: compute (may return PIRF_STOPPED mid-step, all ranks alike, with
 *   nothing changed), Adam + EMA, r->step++, _step_end (the non-finite guard), its own log line
 *   through _jsonl, _after_step (periodic checkpoint, stop check); on PIRF_STOPPED: _stop (writes
 *   the state of the last completed step), else _finish (the final file). _destroy always. */
#ifndef PIRF_TRAINING_RUN_H
#define PIRF_TRAINING_RUN_H

#include "pirf/config.h"
#include "pirf/decomp.h"
#include "pirf/log.h"
#include "pirf/optim.h"
#include "pirf/unet.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
  const pirf_config *cfg; /* the deck (the resume guard compares its provenance record) */
  const char *name;     /* "pretrain" | "finetune": the deck section and the log prefix */
  const char *step_key; /* the JSONL key of the step counter: "step" | "iter" */
  pirf_decomp dc;
  pirf_unet_config uc;
  pirf_unet net;
  pirf_adam opt;
  float *params, *ema, *ref; /* ref only when asked for (fine-tuning's theta_ref) */
  pirf_optim_settings os;
  uint32_t seed;
  long step, n_img; /* completed optimizer steps, images (samples) seen */
  int resumed;
  char state[4200], logpath[4200];
  char *deck_yaml;
  FILE *log; /* rank 0 */
  pirf_progress prog;
  double stop_latency, ckpt_seconds, t_step;
  long max_nonfinite, nonfinite_run, ckpt_step, fault_step;
  int have_dc, have_net, have_opt, have_prog, armed, warned;
} pirf_training_run;

/* name: "pretrain" or "finetune"; state_file/log_file: names inside output.dir. */
int pirf_training_init(pirf_training_run *r, const pirf_config *cfg, const char *name,
                       const char *step_key, const char *state_file, const char *log_file);
int pirf_training_decomp(pirf_training_run *r, const pirf_config *cfg);
/* Build r->net from r->uc and allocate the arenas (ref too when with_ref). */
int pirf_training_network(pirf_training_run *r, int with_ref);
/* Sharded Adam over the trainable range [first, first+count) of the arena. */
int pirf_training_optimizer(pirf_training_run *r, size_t first, size_t count);
/* If `allowed` and output.dir/<state_file> exists: load it (net, EMA, ref, moments, counters) and
 * check its seed (<name>.seed). Sets r->resumed. Collective. */
int pirf_training_resume(pirf_training_run *r, int allowed);
/* Open the JSONL log: a fresh file, or on resume the old one cut to the checkpoint's step (lines
 * of later steps, left by a run killed after its last checkpoint, and a torn last line go). */
int pirf_training_open_log(pirf_training_run *r);
/* Start the progress line (counting `total` units from `done`) and arm the in-step stop poll. */
int pirf_training_loop_begin(pirf_training_run *r, const char *unit, long total, long done);
/* After a completed step (r->step already advanced): the non-finite guard. nonfinite: gradient
 * values the Adam guard replaced in this step; loss: its (global) loss. Collective verdict: a user
 * error (status 2) after <name>.max_nonfinite consecutive non-finite steps. */
int pirf_training_step_end(pirf_training_run *r, long nonfinite, double loss);
/* Fault injection (tests): with PIRF_FAULT_NONFINITE_STEP=k in the environment, from step k on
 * rank 0 puts a NaN into its gradient before the Adam step (which the guard counts). */
void pirf_training_fault(pirf_training_run *r, float *grad);
/* Collective: one JSONL line {"<step_key>": step, <fields>, "time": ..., "unix_time": ...,
 * "rss_mib": peak RSS max over ranks} on rank 0 (fields: `"key": value, ...` without braces;
 * with_step = 0 for lines that carry their own counter, e.g. evaluations). */
int pirf_training_jsonl(pirf_training_run *r, int with_step, const char *fields);
/* Collective: write the state (or any path, e.g. the final file) of the current step; logs its
 * size and time. */
int pirf_training_checkpoint(pirf_training_run *r, const char *path);
/* Progress (units done so far, extra text), periodic checkpoint (if ckpt_now), and the stop check
 * between steps (if more steps follow): returns PIRF_STOPPED when asked to stop. */
int pirf_training_after_step(pirf_training_run *r, long done, const char *extra, int ckpt_now,
                             int more);
/* After PIRF_STOPPED (between steps or from inside one): disarm, write the state of the last
 * completed step, say how to resume; returns PIRF_STOPPED (or the write's error). */
int pirf_training_stop(pirf_training_run *r);
/* Disarm and close the progress line (collective). */
void pirf_training_loop_end(pirf_training_run *r, const char *extra);
/* How a training loop ends, given the loop's status err: a stop (PIRF_STOPPED) writes the state
 * and returns PIRF_STOPPED (pirf_training_stop); an error returns it; a finished loop closes the
 * progress line and writes the final checkpoint `final`. The caller writes its last log line for
 * a stop first. */
int pirf_training_finish(pirf_training_run *r, int err, const char *final);
void pirf_training_destroy(pirf_training_run *r);

#endif
