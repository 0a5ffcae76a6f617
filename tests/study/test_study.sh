#!/usr/bin/env bash
# scripts/study.sh on a tiny study (16x16 Darcy, an 8-channel network, two variants and both
# trained baselines, a few steps each): it writes every stage's output, the tables and the figures;
# each variant's overrides reach its fine-tuning and every variant is scored on the same latents
# (the base model's rows agree); a rerun skips every step; a bad variants file is refused with
# status 2 before anything runs, naming the line.
# usage: test_study.sh PIRF MPIEXEC SOURCE_DIR
set -u
pirf=$1; mpiexec=$2; src=$3; np=2
source "$src/tests/run/lib.sh"
export PIRF=$pirf NP=$np MPIEXEC=$mpiexec
t="output.dir=$work/s data.path=$work/s/data.h5 grid.resolution=16 data.samples=8 model.channels=8"
t+=" model.channel_mult=[1,2] model.attn_resolutions=[8] pretrain.batch=2 pretrain.kimg=0.004"
t+=" finetune.batch=2 finetune.iterations=2 finetune.steps=4 evaluate.samples=2 evaluate.batch=2"
t+=" evaluate.steps=[3] evaluate.zetas=[0,1e-3] evaluate.selection_samples=2"
t+=" evaluate.holdout_samples=4 value_error.samples=2 value_error.steps=[3] value_error.batch=2"
cat > "$work/v" <<'V'
# a comment line
pirf |
full | finetune.trainable=all   # a trailing comment
baseline:pidm | finetune.batch=2 finetune.iterations=2
baseline:pg-diffusion |
V
study() { VARIANTS=$1 bash "$src/scripts/study.sh" "$src/input/study_darcy.yaml" $t >"$work/out.txt" 2>&1; rc=$?; }
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
s=$work/s

study "$work/v"
check "the study runs (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
for f in base.h5 pg/base.h5 pidm.h5 evaluation.json value_error.json variants/pirf/pirf.h5 \
         variants/full/pirf.h5 variants/pirf/value_error.json study.md study_tradeoff.png \
         study_value_error.png study_samples.png; do
  check "$f is written" '[ -s "$s/$f" ]'
done
check "the figures are PNGs" 'png "$s/study_tradeoff.png" && png "$s/study_value_error.png" && png "$s/study_samples.png"'
check "the methods table has every method" 'for m in "| base |" "| pirf |" "| pidm |" "| pg-diffusion |" "| dps (zeta" "| cocogen (zeta"; do grep -qF -- "$m" "$s/study.md" || { echo "no row $m"; cat "$s/study.md"; exit 1; }; done'
check "the ablation table has a row per variant and the base model" 'grep -q "^| base model | N = 3 |" "$s/study.md" && grep -q "^| pirf | (the deck) | [0-9]" "$s/study.md" && grep -q "^| full | \`finetune.trainable=all\` | [0-9]" "$s/study.md"'
check "a variant's overrides reach its fine-tuning (the checkpoint's deck)" '"$py" -c "
import h5py, re, sys
d = lambda p: h5py.File(p, \"r\").attrs[\"deck\"]
d = [x.decode() if isinstance(x, bytes) else x for x in (d(\"$s/variants/full/pirf.h5\"), d(\"$s/variants/pirf/pirf.h5\"))]
t = [re.findall(r\"\\n +trainable: (\\w+)\", x) for x in d]
sys.exit(0 if t == [[\"all\"], [\"decoder0\"]] else 1)"'
check "every variant is scored on the same latents (equal base rows)" '"$py" -c "
import json, sys
b = [next(r for r in json.load(open(\"$s/variants/%s/evaluation.json\" % v))[\"records\"] if r[\"method\"] == \"base\") for v in (\"pirf\", \"full\")]
sys.exit(0 if b[0][\"residual_mse\"] == b[1][\"residual_mse\"] and b[0][\"fidelity\"] == b[1][\"fidelity\"] else 1)"'
check "the main evaluation scores the first variant as pirf (its residual, the same latents)" '"$py" -c "
import json, sys
rec = lambda f, m: next(r for r in json.load(open(f))[\"records\"] if r[\"method\"] == m)
p = [rec(f, \"pirf\")[\"residual_mse\"] for f in (\"$s/evaluation.json\", \"$s/variants/pirf/evaluation.json\", \"$s/variants/full/evaluation.json\")]
sys.exit(0 if p[0] == p[1] != p[2] else 1)"'
check "every step is timed" '[ "$(wc -l < "$s/study_times.tsv")" = 11 ]'

before=$(md5sum "$s/study_times.tsv" "$s/evaluation.json" "$s/variants/full/pirf.h5")
study "$work/v"
check "a rerun succeeds (exit $rc)" '[ "$rc" = 0 ] || cat "$work/out.txt"'
check "a rerun runs no step" '! grep -q "\] [^ ]* \.\.\.$" "$work/out.txt" || cat "$work/out.txt"'
check "a rerun changes no output" '[ "$before" = "$(md5sum "$s/study_times.tsv" "$s/evaluation.json" "$s/variants/full/pirf.h5")" ]'

# bad variants files: status 2, a message naming the line, nothing run
rm -rf "$s"
bad() { # NAME CONTENT PATTERN
  printf '%s\n' "$2" > "$work/bad"; pat=$3
  study "$work/bad"
  check "$1: exit 2 (got $rc)" '[ "$rc" = 2 ] || cat "$work/out.txt"'
  check "$1: the message names it" 'grep -Eq -- "$pat" "$work/out.txt" || cat "$work/out.txt"'
  check "$1: nothing was run" '[ ! -e "$s" ]'
}
bad "an unknown key" "x | finetune.kk=1" "variant 'x' .*unknown key 'finetune.kk'"
bad "a bad value" "x | finetune.k=0" "variant 'x' .*finetune.k"
bad "a duplicate label" $'a |\na | finetune.k=1' "the label 'a' appears twice"
bad "a line without |" "a finetune.k=1" "has no '\|'"
bad "a bad label" "a/b |" "the label 'a/b' may hold only"
bad "an unknown baseline" $'a |\nbaseline:dps |' "unknown baseline 'baseline:dps'"
bad "a bad baseline key" $'a |\nbaseline:pidm | finetune.pidm_mode=x' "baseline:pidm .*pidm_mode"
bad "no variant" "# only a comment" "lists no variant"
VARIANTS=$work/none bash "$src/scripts/study.sh" "$src/input/study_darcy.yaml" $t >"$work/out.txt" 2>&1; rc=$?
check "a missing variants file: exit 2 naming it" '[ "$rc" = 2 ] && grep -q "the variants file $work/none" "$work/out.txt"'
echo "study: $pass passed, $fail failed"
[ "$fail" = 0 ]
