#!/usr/bin/env bash
# finetune_command_resume_layouts_and_errors: `pirf finetune` end to end on a tiny Darcy model
# (16x16, a 1-step pretrained base, N = 4, K = 2, 2 samples per iteration, 4 iterations):
#   - 2 iterations, stop, then resume to 4 at the same rank count gives a pirf.h5 identical bit for
#     bit (weights, EMA, reference, Adam moments) to 4 iterations in one go;
#   - 2x1 tiles on 2 ranks agree with 2 data groups to 1e-5 (float sums in another order);
#   - only the trainable level moves (the encoder equals the base), /ref is the base's EMA;
#   - finetune.jsonl has one finite line per iteration;
#   - the evaluation (finetune.eval_samples) runs in rounds of training's size: its work buffers
#     are the same for 64 samples as for 2;
#   - user errors: a missing base checkpoint, K > N, a batch not divisible by the data groups,
#     an empty trainable set; each exits with status 2 and a message naming the key.
# usage: test_finetune_command.sh PIRF MPIEXEC SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1" "$2" "$3" finetune
common="grid.resolution=16 data.path=$work/d16.h5 model.channels=8 model.channel_mult=[1,2]"
common+=" model.attn_resolutions=[8] pretrain.batch=2 pretrain.seed=3 pretrain.lr_rampup_kimg=0"
common+=" output.dir=$work/base"
ft="finetune.steps=4 finetune.k=2 finetune.batch=2 finetune.log_iterations=1 finetune.lr=1e-3"
ft+=" finetune.base=$work/base/base.h5 finetune.weight_reg=0.01 finetune.eval_samples=2"

check "generate" "run 2 generate $deck $common data.samples=4"
check "pretrain one step" "run 2 pretrain $deck $common pretrain.kimg=0.002"
check "4 iterations on 2 ranks" "run 2 finetune $deck $common $ft finetune.iterations=4 output.dir=$work/a"
check "base and fine-tuned evaluations are logged" "grep -q 'base: residual MSE' $work/out.txt && grep -q 'fine-tuned EMA' $work/out.txt"
check "2 iterations on 2 ranks" "run 2 finetune $deck $common $ft finetune.iterations=2 output.dir=$work/b"
check "resume to 4 iterations" "run 2 finetune $deck $common $ft finetune.iterations=4 output.dir=$work/b"
check "the resumed run says so" "grep -q resuming $work/out.txt"
for g in net ema ref adam_m adam_v; do
  check "resumed /$g is identical" "h5diff -q $work/a/pirf.h5 $work/b/pirf.h5 /$g /$g"
done
check "2x1 tiles on 2 ranks" "run 2 finetune $deck $common $ft finetune.iterations=4 output.dir=$work/c parallel.tiles=[2,1]"
check "2x1 tiles agree with 2 data groups to 1e-5" "h5diff -q -d 1e-5 $work/a/pirf.h5 $work/c/pirf.h5 /net /net"
enc=/net/enc.16x16_conv.weight
check "the encoder is frozen" "h5diff -q $work/a/pirf.h5 $work/base/base.h5 $enc /ema/enc.16x16_conv.weight"
check "/ref is the base EMA" "h5diff -q $work/a/pirf.h5 $work/base/base.h5 /ref /ema"
check "the output level moved" "! h5diff -q $work/a/pirf.h5 $work/base/base.h5 /net/dec.16x16_aux_conv.weight /ema/dec.16x16_aux_conv.weight"
check "one log line per iteration" "[ \$(grep -c '\"loss\"' $work/a/finetune.jsonl) = 4 ]"
check "finite losses" "! grep -Eq 'nan|inf' $work/a/finetune.jsonl"
# the evaluation runs in rounds of training's size: its work does not grow with eval_samples
evwork() { run 1 finetune $deck $common $ft finetune.bench=true finetune.eval_samples=$1 output.dir=$work/m$1 &&
  sed -n 's/.*after setup.*evaluation work \([0-9.]*\) MiB.*/\1/p' $work/out.txt; }
w2=$(evwork 2); w64=$(evwork 64)
check "evaluation work of 64 samples ($w64 MiB) is that of 2 ($w2 MiB)" "[ -n '$w2' ] && [ '$w2' = '$w64' ]"
check "error: missing base" "user_error 1 'finetune.base' finetune $deck $common $ft finetune.base=$work/none.h5 output.dir=$work/e1"
check "error: K > N" "user_error 1 'use k <= N' finetune $deck $common $ft finetune.k=5 output.dir=$work/e2"
check "error: batch vs data groups" "user_error 2 'finetune.batch = 3' finetune $deck $common $ft finetune.batch=3 output.dir=$work/e3"
check "error: empty trainable set" "user_error 1 'trainable set is empty' finetune $deck $common $ft model.channel_mult=[1] model.attn_resolutions=[16] finetune.trainable=freeze_late output.dir=$work/e4"
echo "finetune_command_resume_layouts_and_errors: $pass passed, $fail failed"
[ $fail = 0 ]
