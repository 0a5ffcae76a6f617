# Fixtures shared by the robust groups (inputs.cases, io.cases): a tiny Darcy data set and a tiny
# pretrained model (48,130 parameters, 2 steps), made once per group run under $CORPUS_ROOT/.fx
# at $NP ranks. $DECK plus "${TINY[@]}" is the tiny configuration every case uses.
DECK=$SRC/input/quickstart.yaml
FX=$CORPUS_ROOT/.fx
TINY=(grid.resolution=16 data.samples=8 model.channels=8 'model.channel_mult=[1,2]'
      'model.attn_resolutions=[8]' model.num_blocks=1 pretrain.batch=4 pretrain.kimg=0.008
      pretrain.checkpoint_kimg=0.004 pretrain.log_kimg=0.004 pretrain.lr_rampup_kimg=0
      pretrain.seed=5 finetune.batch=2 finetune.iterations=1 finetune.steps=4 finetune.k=1
      finetune.log_iterations=1 finetune.eval_samples=0 sample.samples=2 sample.batch=2
      sample.steps=4 output.verbosity=0)

corpus_fixtures() {
  [ -f "$FX/run/base.h5" ] && return 0
  mkdir -p "$FX"
  if ! timeout 300 "$MPIEXEC" -n "$NP" "$PIRF" generate "$DECK" "${TINY[@]}" data.path="$FX/data.h5" \
         >"$FX/log.txt" 2>&1 ||
     ! timeout 300 "$MPIEXEC" -n "$NP" "$PIRF" pretrain "$DECK" "${TINY[@]}" data.path="$FX/data.h5" \
         output.dir="$FX/run" >>"$FX/log.txt" 2>&1; then
    echo "corpus: could not make the fixtures (a tiny data set and model):"
    tail -20 "$FX/log.txt"
    return 1
  fi
}
corpus_fixtures || exit 1
