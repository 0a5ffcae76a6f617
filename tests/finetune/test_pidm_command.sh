#!/usr/bin/env bash
# pidm_command_resume_sample_evaluate_and_errors: `pirf finetune finetune.method=pidm` (the PIDM
# baseline, docs/finetune.md) end to end on a tiny Darcy model (16x16, a 1-step pretrained base,
# 2 data samples per iteration, 3 iterations) on 2 ranks:
#   - 2 iterations, then a resume to 3 gives a pidm.h5 identical bit for bit (weights, EMA, Adam
#     moments) to 3 iterations in one go, and writes neither pirf.h5 nor finetune.jsonl;
#   - every parameter is trained (finetune.pidm_trainable = all moves the encoder), one finite
#     pidm.jsonl line per iteration with both loss terms; mode sample runs too;
#   - `pirf sample` draws from pidm.h5, and `pirf evaluate` lists a pidm row with its NFE and cost
#     beside base (evaluation.json and evaluation.md);
#   - user errors: a missing data set, an unknown mode, a missing base checkpoint, each exits with
#     status 2 and a message naming the key or file.
# usage: test_pidm_command.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" pidm
common="grid.resolution=16 data.path=$work/d16.h5 data.samples=4 model.channels=8"
common+=" model.channel_mult=[1,2] model.attn_resolutions=[8] pretrain.batch=2 pretrain.seed=3"
common+=" pretrain.lr_rampup_kimg=0 output.dir=$work/base"
ft="finetune.method=pidm finetune.batch=2 finetune.log_iterations=1 finetune.lr=1e-3"
ft+=" finetune.base=$work/base/base.h5 finetune.pidm_reward_loss_scaling=1e-2"

check "generate" "run 2 generate $deck $common"
check "pretrain one step" "run 2 pretrain $deck $common pretrain.kimg=0.002"
check "3 iterations" "run 2 finetune $deck $common $ft finetune.iterations=3 output.dir=$work/a"
check "2 iterations" "run 2 finetune $deck $common $ft finetune.iterations=2 output.dir=$work/b"
check "resume to 3 iterations" "run 2 finetune $deck $common $ft finetune.iterations=3 output.dir=$work/b"
check "the resumed run says so" "grep -q 'resuming from .*pidm-state.h5' $work/out.txt"
for g in net ema adam_m adam_v; do
  check "resumed /$g is identical" "h5diff -q $work/a/pidm.h5 $work/b/pidm.h5 /$g /$g"
done
check "no PIRF outputs" "[ ! -e $work/a/pirf.h5 ] && [ ! -e $work/a/finetune.jsonl ]"
enc=/net/enc.16x16_conv.weight
check "the encoder is trained" "! h5diff -q $work/a/pidm.h5 $work/base/base.h5 $enc /ema/enc.16x16_conv.weight"
check "one log line per iteration" "[ \$(grep -c '\"loss_res\"' $work/a/pidm.jsonl) = 3 ]"
check "finite losses" "! grep -Eq 'nan|inf' $work/a/pidm.jsonl"
check "mode sample" "run 2 finetune $deck $common $ft finetune.iterations=1 finetune.pidm_mode=sample finetune.pidm_weighting=variance output.dir=$work/s"
check "sample from pidm.h5" "run 2 sample $deck $common sample.checkpoint=$work/a/pidm.h5 sample.steps=2 sample.samples=2 sample.batch=1 output.dir=$work/a"
check "samples written" "[ -f $work/a/samples_heun.h5 ]"
cp $work/base/base.h5 $work/a/base.h5
ev="evaluate.samples=2 evaluate.batch=1 evaluate.steps=[2] evaluate.zetas=[0] evaluate.holdout_samples=2"
check "evaluate" "run 2 evaluate $deck $common $ev output.dir=$work/a"
check "evaluation.json has a pidm record with NFE 3 and its cost" "grep -q '\"method\": \"pidm\", \"steps\": 2, .*\"nfe\": 3, .*\"seconds_per_sample\"' $work/a/evaluation.json"
check "the table lists pidm beside base" "grep -q '^| pidm | ' $work/a/evaluation.md && grep -q '^| base | ' $work/a/evaluation.md"
check "error: missing data set" "user_error 1 'data.path' finetune $deck $common $ft data.path=$work/none.h5 output.dir=$work/e1"
check "error: unknown mode" "user_error 1 'finetune.pidm_mode' finetune $deck $common $ft finetune.pidm_mode=median output.dir=$work/e2"
check "error: missing base" "user_error 1 'finetune.base' finetune $deck $common $ft finetune.base=$work/none.h5 output.dir=$work/e3"
check "errors leave no checkpoint" "[ ! -e $work/e1/pidm-state.h5 ] && [ ! -e $work/e3/pidm.h5 ]"
echo "pidm_command_resume_sample_evaluate_and_errors: $pass passed, $fail failed"
[ $fail = 0 ]
