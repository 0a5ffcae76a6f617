#!/usr/bin/env bash
# The study of the paper's claims (docs/results.md), one command:
#
#   bash scripts/study.sh [DECK] [key=value ...]     # default input/study_darcy.yaml
#   NP=2 bash scripts/study.sh ...                   # ranks of every stage (default 2)
#   VARIANTS=FILE bash scripts/study.sh ...          # another variants file
#   PIRF=PATH bash scripts/study.sh ...              # another pirf binary (default build/pirf)
#
# DECK is an ordinary pirf deck; its variants file (DECK with .yaml replaced by .variants) lists the
# fine-tuning ablation, one "label | key=value ..." line per variant, and the settings of the two
# trained baselines on the lines labelled baseline:pidm and baseline:pg-diffusion. Precedence, for
# a key set in several places: the study's own (output.dir, finetune.base, the evaluation's method
# settings) over the variants file's line over the command line's key=value over the deck. Into
# output.dir (D):
#   generate, pretrain                 D/data.h5 (data.path), D/base.h5: the base model, once
#   pretrain model.physics_gradient    D/pg/base.h5: the PG-Diffusion baseline, from scratch
#   finetune finetune.method=pidm      D/pidm.h5: the PIDM baseline
#   per variant V: finetune, evaluate  D/variants/V/{pirf.h5, evaluation.json} (evaluated at the
#                                      first of evaluate.steps, no guidance: base and V on the same
#                                      latents and held-out data)
#   evaluate                           D/evaluation.{json,md}: base, the first variant (PIRF), PIDM,
#                                      PG-Diffusion, DPS and CoCoGen (evaluate.zetas) at evaluate.steps
#   value-error                        D/value_error.json (base), D/variants/<first>/value_error.json
#   tables and figures                 D/study.md, D/study_*.png (postprocess/study.py)
# Extra key=value arguments apply to every stage (e.g. output.dir=runs/s2 data.path=runs/s2/data.h5).
# Every step is skipped when its output exists (times in D/study_times.tsv): a study that was
# stopped continues where it stopped when rerun with the same arguments; the pirf stages resume
# from their own state files. Remove D/variants/V to redo variant V.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deck=input/study_darcy.yaml
if [ $# -gt 0 ] && [ "${1#*=}" = "$1" ]; then deck=$1; shift; fi
variants=${VARIANTS:-${deck%.yaml}.variants}
[ -f "$deck" ] || { echo "study: the deck $deck does not exist" >&2; exit 2; }
[ -f "$variants" ] || { echo "study: the variants file $variants (one 'label | key=value ...' line per fine-tuning) does not exist; create it beside the deck" >&2; exit 2; }
PIRF=${PIRF:-$PWD/build/pirf}
[ -x "$PIRF" ] || { echo "study: $PIRF is missing: run bash scripts/setup.sh first" >&2; exit 2; }
source scripts/env.sh 2>/dev/null || export OMPI_ALLOW_RUN_AS_ROOT=1 \
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
  OMPI_MCA_hwloc_base_binding_policy=none
export OPENBLAS_NUM_THREADS=1
NP=${NP:-2}
over=("$@")

# pirf refuses a key given twice: run_pirf LABEL OUTPUT LOG COMMAND KEY=VALUE... runs `pirf COMMAND
# DECK` with the study's arguments, where a later KEY=VALUE replaces an earlier one for the same key
# (a variant's overrides and the study's own settings win over the command line's).
run_pirf() {
  local label=$1 out=$2 log=$3 cmd=$4 a k i
  shift 4
  local -a kv=()
  for a in "${over[@]}" "$@"; do
    k=${a%%=*}
    for i in "${!kv[@]}"; do [ "${kv[$i]%%=*}" != "$k" ] || unset "kv[$i]"; done
    kv+=("$a")
  done
  timed "$label" "$out" "$log" "$cmd" "$deck" "${kv[@]}"
}

# A key of the resolved deck (the deck's value, an override's or the default), from pirf itself.
deck_key() {
  "$PIRF" run --dry-run "$deck" "${over[@]}" 2>/dev/null | sed -n '/^# resolved/,/^$/p' |
    /usr/bin/python3 -c 'import sys, yaml
d = yaml.safe_load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d[0] if isinstance(d, list) else d)' "$1"
}
dir=$(deck_key output.dir) ||
  { echo "study: $deck does not resolve (run: build/pirf run --dry-run $deck to see why)" >&2; exit 2; }

# The variants: labels and their overrides, checked before anything runs.
labels=() ; args=() ; pidm_args="" ; pg_args=""
while IFS= read -r line; do
  line=${line%%#*}
  [ -n "${line//[[:space:]]/}" ] || continue
  label=$(echo "${line%%|*}" | xargs)
  [[ "$line" == *"|"* ]] || { echo "study: $variants: the line '$line' has no '|' (label | key=value ...)" >&2; exit 2; }
  case $label in
    baseline:pidm) pidm_args=$(echo "${line#*|}" | xargs); continue ;;
    baseline:pg-diffusion) pg_args=$(echo "${line#*|}" | xargs); continue ;;
    baseline:*) echo "study: $variants: unknown baseline '$label' (baseline:pidm or baseline:pg-diffusion)" >&2; exit 2 ;;
  esac
  [[ "$label" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "study: $variants: the label '$label' may hold only letters, digits, '.', '_' and '-'" >&2; exit 2; }
  for l in "${labels[@]}"; do [ "$l" != "$label" ] || { echo "study: $variants: the label '$label' appears twice" >&2; exit 2; }; done
  labels+=("$label"); args+=("$(echo "${line#*|}" | xargs)")
done < "$variants"
[ ${#labels[@]} -gt 0 ] || { echo "study: $variants lists no variant" >&2; exit 2; }
# each variant's overrides must make a valid deck (a typo stops the study now, not after an hour)
for v in "${!labels[@]}"; do
  # shellcheck disable=SC2086
  (timed() { "$PIRF" run --dry-run "${@:5}" > /dev/null; }
   run_pirf check - - - ${args[$v]} output.dir="$dir/variants/${labels[$v]}") 2> "/tmp/study_check.$$" ||
    { echo "study: $variants: variant '${labels[$v]}' ($(head -1 /tmp/study_check.$$))" >&2; rm -f /tmp/study_check.$$; exit 2; }
done
check_baseline() { # NAME ARGS...: the baseline's line makes a valid deck
  local name=$1; shift
  (timed() { "$PIRF" run --dry-run "${@:5}" > /dev/null; }; run_pirf check - - - "$@") \
    2> "/tmp/study_check.$$" ||
    { echo "study: $variants: baseline:$name ($(head -1 /tmp/study_check.$$))" >&2; rm -f /tmp/study_check.$$; exit 2; }
}
# shellcheck disable=SC2086
check_baseline pidm $pidm_args finetune.method=pidm
# shellcheck disable=SC2086
check_baseline pg-diffusion $pg_args model.physics_gradient=true
rm -f /tmp/study_check.$$

mkdir -p "$dir/variants" "$dir/logs"
TIMES=$dir/study_times.tsv
source scripts/timed.sh
{ [ -s "$dir/study_started" ] || { date -u '+%Y-%m-%d %H:%M UTC'; uptime | sed 's/.*load average: //'
  git rev-parse --short HEAD 2>/dev/null || echo unknown; } > "$dir/study_started"; }
echo "[study] $deck: ${#labels[@]} variants into $dir on $NP ranks" >&2

base=$dir/base.h5
run_pirf generate "$(deck_key data.path)" "$dir/logs/generate.log" generate
run_pirf pretrain "$base" "$dir/logs/pretrain.log" pretrain
# shellcheck disable=SC2086
run_pirf pg-pretrain "$dir/pg/base.h5" "$dir/logs/pg-pretrain.log" pretrain $pg_args \
  model.physics_gradient=true output.dir="$dir/pg"
# shellcheck disable=SC2086
run_pirf pidm "$dir/pidm.h5" "$dir/logs/pidm.log" finetune $pidm_args finetune.method=pidm

steps=$(deck_key evaluate.steps) # the first N
for v in "${!labels[@]}"; do
  L=${labels[$v]} V=$dir/variants/${labels[$v]}
  mkdir -p "$V"
  ln -sf "$(realpath "$base")" "$V/base.h5"
  # shellcheck disable=SC2086
  run_pirf "finetune:$L" "$V/pirf.h5" "$V/finetune.log" finetune ${args[$v]} \
    output.dir="$V" finetune.base="$base"
  [ -e "$V/holdout.h5" ] || [ ! -e "$dir/holdout.h5" ] || ln -s "$(realpath "$dir/holdout.h5")" "$V/holdout.h5"
  # shellcheck disable=SC2086
  run_pirf "evaluate:$L" "$V/evaluation.json" "$V/evaluate.log" evaluate ${args[$v]} \
    output.dir="$V" "evaluate.steps=[$steps]" "evaluate.zetas=[0]" \
    evaluate.selection_samples=2 evaluate.cocogen=false
  # the first variant's evaluation made the held-out set: every other variant shares it
  [ -e "$dir/holdout.h5" ] || ln -sf "$(realpath "$V/holdout.h5")" "$dir/holdout.h5"
done
first=$dir/variants/${labels[0]}
run_pirf evaluate "$dir/evaluation.json" "$dir/logs/evaluate.log" evaluate \
  evaluate.pirf_checkpoint="$first/pirf.h5" evaluate.pg_checkpoint="$dir/pg/base.h5" \
  evaluate.cocogen=true
run_pirf value-error:base "$dir/value_error.json" "$dir/logs/value-error-base.log" value-error \
  value_error.model=base
run_pirf "value-error:${labels[0]}" "$first/value_error.json" "$first/value-error.log" value-error \
  ${args[0]} output.dir="$first" value_error.model=pirf
[ -n "$(sed -n 4p "$dir/study_started")" ] || uptime | sed 's/.*load average: //' >> "$dir/study_started"

/usr/bin/python3 postprocess/study.py "$dir" "$variants"
