#!/usr/bin/env bash
# run_reuses_only_matching_outputs: `pirf run` on a tiny whole-pipeline deck at NP ranks.
#   - an unchanged deck skips every stage and changes no file; so do keys that do not determine
#     the outputs (output.verbosity, pretrain.log_kimg, the rank layout);
#   - a changed determining key (finetune.lr) is refused with exit 2 and a message naming the key,
#     both values and the file, and nothing is rewritten; with run.force=true every stage is redone
#     and the new record then matches; a changed generator key is refused at the data set;
#   - a Poisson deck over this Darcy run directory is refused naming pde.name;
#   - an output without a provenance record (an older pirf) is refused, not reused;
#   - --dry-run prints the resolved deck and each stage's verdict, and runs and writes nothing;
#   - log.txt has a header per invocation and timestamped lines of every stage and of the error;
#   - every HDF5 output carries the run attributes and its provenance (checked with h5py);
#   - resuming pretraining/fine-tuning with a changed learning rate is refused naming the key,
#     accepted with run.allow_changed_resume=true, and a longer run (pretrain.kimg) resumes freely.
# usage: test_run_provenance.sh PIRF MPIEXEC SOURCE_DIR NP
set -uo pipefail
pirf=$1; mpiexec=$2; src=$3; np=$4
source "$src/tests/run/lib.sh"
r=$work/r

check "the pipeline runs" "expect 0 $np run $deck $tiny"
check "no lock is left after success" "[ ! -e $r/pirf.lock ]"
for f in $work/d.h5 $r/base.h5 $r/pirf.h5 $r/evaluation.json $r/evaluation.json.provenance; do
  check "$(basename $f) written" "[ -f $f ]"
done
sums >"$work/sums0"
check "an unchanged deck skips every stage" "expect 0 $np run $deck $tiny && [ \$(grep -c 'matches this deck' $work/out.txt) = 4 ]"
check "an output.verbosity change skips" "expect 0 $np run $deck $tiny output.verbosity=2 && [ \$(grep -c 'matches this deck' $work/out.txt) = 4 ]"
check "a logging-interval change skips" "expect 0 $np run $deck $tiny pretrain.log_kimg=0.001 finetune.log_iterations=2 && says 'generate skipped pretrain skipped finetune skipped evaluate skipped'"
if [ "$np" -ge 2 ]; then
  check "a rank-layout change skips" "expect 0 $np run $deck $tiny parallel.tiles=[2,1] && says 'evaluate skipped'"
fi
check "skipping rewrote nothing" "sums | cmp -s - $work/sums0"

check "a changed finetune.lr is refused with exit 2" "expect 2 $np run $deck $tiny finetune.lr=1e-3"
check "... naming the key, both values and the file" "says 'pirf.h5.*finetune.lr = 0.0003 in the file, 0.001 in this deck'"
check "... and run.force" "says 'run.force=true'"
check "... the earlier stages were skipped" "says 'pretrain: .* skipped'"
check "a refusal rewrote nothing" "sums | cmp -s - $work/sums0"
check "a changed data.seed is refused at the data set" "expect 2 $np run $deck $tiny data.seed=7 && says 'd.h5.*data.seed = 1 in the file, 7 in this deck'"
check "run.force=true redoes every stage" "expect 0 $np run $deck $tiny finetune.lr=1e-3 run.force=true && [ \$(grep -c 'run.force=true: from scratch' $work/out.txt) = 4 ] && ! says 'skipped' 2>/dev/null"
check "... and pirf.h5 changed" "! cmp -s <(grep r/pirf.h5 $work/sums0) <(sums | grep r/pirf.h5)"
check "the redone outputs match the new deck" "expect 0 $np run $deck $tiny finetune.lr=1e-3 && [ \$(grep -c 'matches this deck' $work/out.txt) = 4 ]"
check "... and no longer the old one" "expect 2 $np run $deck $tiny && says 'finetune.lr = 0.001 in the file, 0.0003 in this deck'"

check "a Poisson deck over the Darcy run directory is refused" "expect 2 $np run $src/input/poisson_quickstart.yaml $tiny data.path=$work/p.h5 finetune.lr=1e-3"
check "... naming pde.name and base.h5" "says 'base.h5.*pde.name = darcy in the file, poisson in this deck'"

cp "$r/base.h5" "$work/base_copy.h5"
$py - "$r/base.h5" <<'PY' || echo "FAIL: could not strip the record"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    for k in [k for k in f.attrs if k.startswith("provenance_")]:
        del f.attrs[k]
PY
check "an output without a record is refused" "expect 2 $np run $deck $tiny finetune.lr=1e-3 && says 'base.h5.*no provenance record'"
cp "$work/base_copy.h5" "$r/base.h5"

sums >"$work/sums1"
cp "$r/log.txt" "$work/log_before"
check "--dry-run exits 0" "expect 0 $np run --dry-run $deck $tiny finetune.lr=2e-3"
check "... prints the resolved deck" "says '# resolved pirf deck' && says '^  lr: 2e-3'"
check "... says which stages would be skipped" "[ \$(grep -c 'would skip: the output exists and its record matches' $work/out.txt) = 2 ]"
check "... and which would stop, and why" "says 'would stop .*finetune.lr = 0.001 in the file, 0.002 in this deck'"
check "--dry-run with run.force says forced" "expect 0 $np run --dry-run $deck $tiny run.force=true && [ \$(grep -c 'would run: forced' $work/out.txt) = 4 ]"
check "--dry-run on an empty directory says missing" "expect 0 $np run --dry-run $deck $tiny output.dir=$work/none data.path=$work/none.h5 && [ \$(grep -c 'would run: the output is missing' $work/out.txt) = 4 ]"
check "--dry-run ran and wrote nothing" "sums | cmp -s - $work/sums1 && cmp -s $r/log.txt $work/log_before && [ ! -e $work/none ]"

# log.txt: one header per locked invocation (the dry runs take none), every stage, the errors
ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z  '
invocations=$([ "$np" -ge 2 ] && echo 12 || echo 11)
headers=$(grep -Ec "${ts}==== pirf run: .*/pirf run " $r/log.txt)
check "log.txt has a header per invocation ($headers, expected $invocations)" "[ $headers = $invocations ]"
for stage in generate pretrain finetune evaluate; do
  check "log.txt has timestamped $stage lines" "grep -Eq \"${ts}\\[$stage\\] \" $r/log.txt"
done
check "log.txt has the refusals" "grep -Eq \"${ts}pirf: error: .*finetune.lr = 0.0003 in the file\" $r/log.txt"
check "log.txt has each invocation's end" "grep -Eq \"${ts}==== pirf run: failed \\(exit status 2\\)\" $r/log.txt && grep -Eq \"${ts}==== pirf run: finished \\(exit status 0\\)\" $r/log.txt"
check "every line of log.txt is timestamped" "! grep -Evq \"${ts}\" $r/log.txt"

check "every HDF5 output carries the run attributes" "$py $src/tests/run/check_run_attributes.py $np run $work/d.h5 $r/*.h5"

# the resume guard, on a separate run directory
g="output.dir=$work/g pretrain.checkpoint_kimg=0.002"
check "pretrain 2 steps" "expect 0 $np pretrain $deck $tiny $g"
check "resuming with another pretrain.lr is refused" "expect 2 $np pretrain $deck $tiny $g pretrain.kimg=0.006 pretrain.lr=2e-3 && says 'refusing to resume from .*pretrain-state.h5.*pretrain.lr = 0.001 in the file, 0.002 in this deck'"
check "... and says how to confirm" "says 'run.allow_changed_resume=true'"
check "a longer run (pretrain.kimg) resumes" "expect 0 $np pretrain $deck $tiny $g pretrain.kimg=0.006 && says 'resuming from'"
check "run.allow_changed_resume=true confirms it" "expect 0 $np pretrain $deck $tiny $g pretrain.kimg=0.008 pretrain.lr=2e-3 run.allow_changed_resume=true && says 'resuming from .* although pretrain.lr = 0.001' && says 'step 4'"
check "finetune 2 iterations" "expect 0 $np finetune $deck $tiny $g finetune.base=$r/base.h5"
check "resuming fine-tuning with another finetune.lr is refused" "expect 2 $np finetune $deck $tiny $g finetune.base=$r/base.h5 finetune.iterations=3 finetune.lr=1e-2 && says 'pirf-state.h5.*finetune.lr = 0.0003 in the file, 0.01 in this deck'"
check "more finetune.iterations resume" "expect 0 $np finetune $deck $tiny $g finetune.base=$r/base.h5 finetune.iterations=3 && says 'resuming from'"
check "no lock is left after a refusal" "[ ! -e $work/g/pirf.lock ] && [ ! -e $r/pirf.lock ]"

echo "run_reuses_only_matching_outputs (np $np): $pass passed, $fail failed"
[ $fail = 0 ]
