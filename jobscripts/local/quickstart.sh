#!/usr/bin/env bash
# The quickstart pipeline on this machine: install what is missing, build, then run every stage of
# input/quickstart.yaml with 2 MPI ranks (NP=... to change), skipping stages already done; then draw
# the pictures into output.dir (held-out data and samples of base, PIRF and DPS at N = 20; training
# curves) and print the evaluation table once (pirf evaluate prints it when it runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/setup.sh
export OPENBLAS_NUM_THREADS=1
deck=input/quickstart.yaml
# output.dir of the deck, or of an output.dir=... override on the command line
out=$(/usr/bin/python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["output"]["dir"])' "$deck")
for a in "$@"; do case $a in output.dir=*) out=${a#output.dir=} ;; esac; done
# pirf evaluate prints evaluation.md when it runs; print it here only when it did not (all done)
table_before=$(stat -c %Y "$out/evaluation.md" 2>/dev/null || echo none)
mpiexec -n "${NP:-2}" build/pirf run "$deck" "$@"

runs=()
for m in base pirf dps; do
  [ -f "$out/samples_$m.h5" ] && runs+=("$m=$out/samples_$m.h5")
done
held=()
[ -f "$out/holdout.h5" ] && held=(--data "$out/holdout.h5")
if ((${#runs[@]})); then
  /usr/bin/python3 postprocess/plot_samples.py "$out/samples.png" "${runs[@]}" --count 2 "${held[@]}" \
    --title "the quickstart ($deck): base = pretrained EMA weights, pirf = fine-tuned, dps = base + guidance at its best zeta"
fi
logs=()
for l in pretrain finetune; do
  [ -f "$out/$l.jsonl" ] && logs+=("$out/$l.jsonl")
done
for l in "${logs[@]}"; do
  /usr/bin/python3 postprocess/plot_training.py "${l%.jsonl}.png" "$l" --title "the quickstart ($deck)"
done
echo "pictures: $(ls "$out"/*.png 2>/dev/null | tr '\n' ' ')"
if [ -f "$out/evaluation.md" ] && [ "$(stat -c %Y "$out/evaluation.md")" = "$table_before" ]; then
  echo
  cat "$out/evaluation.md"
fi
