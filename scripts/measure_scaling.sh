#!/usr/bin/env bash
# The measurements docs/scaling.md quotes, by one rerunnable command: the weak and strong scaling
# studies (jobscripts/local/scaling.sh), the 1-rank profile of the paper network, the 1024^2
# fine-tuning step's memory at 1, 2 and 4 ranks, a 1024^2 Kolmogorov generation on 4 ranks, and the
# performance model's validation and projections (postprocess/perf_model.py).
#
#   bash scripts/measure_scaling.sh [STUDY ...]   # all studies, or the named ones (see below)
#   MEASURE_DIR=DIR bash scripts/measure_scaling.sh   # where (default runs/scaling-<UTC date>)
#
# Studies: overhead weak64 strong256 strong64 kolmo256 paper tilesize mem1024 kolmo1024 model. A
# study whose output exists in DIR is not run again (delete its directory to redo it). About an
# hour on 2 idle cores; 4-rank runs oversubscribe them (said in every table). Quote the load this
# prints. PIRF_BASELINE=path/to/pirf adds an uninstrumented build to the overhead study.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x build/pirf ] || { echo "build/pirf is missing: run bash scripts/setup.sh first" >&2; exit 2; }
source scripts/env.sh
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
dir=$(realpath -m "${MEASURE_DIR:-runs/scaling-$(date -u +%Y%m%d-%H%M)}")
mkdir -p "$dir"
want=${*:-overhead weak64 strong256 strong64 kolmo256 paper tilesize mem1024 kolmo1024 model}
py=/usr/bin/python3
harness=jobscripts/local/scaling.sh
darcy=input/darcy.yaml
# the issue-12 network at 64^2 (docs/performance.md), and a 256^2 network of the same shape
net64=(grid.resolution=64 model.channels=64 'model.channel_mult=[1,2,2]' model.num_blocks=2
       'model.attn_resolutions=[16]')
net256=(grid.resolution=256 model.channels=32 'model.channel_mult=[1,2,2]' model.num_blocks=1
        'model.attn_resolutions=[64]')
# a 1024^2 network that fits one rank of this 24 GiB machine: 4 levels of 16 x [1,2,2,2] channels,
# no attention (no level is 16^2; at 1024^2 even the 128^2 level's attention would need 1 GiB a
# sample)
net1024=(grid.resolution=1024 model.channels=16 'model.channel_mult=[1,2,2,2]' model.num_blocks=1
         'model.attn_resolutions=[16]')
log() { echo "[measure_scaling] $*"; }
# logged FILE COMMAND...: runs it with its output in FILE; on failure shows FILE's end and stops
logged() {
  local f=$1; shift
  "$@" > "$f" 2>&1 && return 0
  log "failed: $* (its output: $f)"; tail -20 "$f"; exit 1
}
on() { [[ " $want " == *" $1 "* ]] && [ ! -e "$dir/$1/done" ]; }
finish() { touch "$dir/$1/done"; }
log "$(date -u +%FT%TZ) on $(hostname), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), commit $(git rev-parse --short HEAD); load: $(uptime)"

if on overhead; then # the cost of profiling: the quickstart's fine-tuning (its 16^2 network, the
  # finest-grained events per flop of any deck), with and without -log_view, and against the build
  # PIRF_BASELINE (a pirf binary without the instrumentation) when given; 3 alternating rounds
  o="$dir/overhead"
  mkdir -p "$o"
  q=(input/quickstart.yaml "data.path=$o/data.h5" data.samples=16)
  [ -f "$o/base.h5" ] || { build/pirf generate "${q[@]}" "output.dir=$o" > "$o/generate.txt" 2>&1 &&
    build/pirf pretrain "${q[@]}" "output.dir=$o" pretrain.kimg=0.032 > "$o/pretrain.txt" 2>&1; }
  variants="new newlog${PIRF_BASELINE:+ old}"
  for round in 1 2 3; do
    for v in $variants; do
      bin=build/pirf; extra=()
      [ $v = old ] && bin=$PIRF_BASELINE
      [ $v = newlog ] && extra=(-log_view ":$o/log_view.txt")
      mpiexec -n 2 $bin finetune "${q[@]}" finetune.iterations=40 finetune.log_iterations=40 \
        finetune.eval_samples=0 finetune.resume=false "output.dir=$o/$v" "finetune.base=$o/base.h5" \
        "${extra[@]}" > "$o/$v-$round.txt" 2>&1
      echo "$v $round $(sed -n 's/.*"sec_per_iter": \([0-9.e-]*\).*/\1/p' "$o/$v/finetune.jsonl" | tail -1)" >> "$o/results.txt"
    done
  done
  log "profiling overhead (s per iteration, 2 ranks, quickstart network; median of 3):"
  for v in $variants; do
    echo "$v $(awk -v v=$v '$1 == v { print $3 }' "$o/results.txt" | sort -g | sed -n 2p)"
  done | tee "$o/summary.txt"
  finish overhead
fi
if on weak64; then # weak scaling of fine-tuning over data groups: 2 samples a rank
  bash $harness $darcy --ranks 1,2,4 --mode weak --layout groups --steps 3 --out "$dir/weak64" \
    "${net64[@]}" finetune.batch=2
  finish weak64
fi
if on strong256; then # one 256^2 sample split over 1, 2, 4 tiles
  bash $harness $darcy --ranks 1,2,4 --mode strong --layout tiles --steps 3 --out "$dir/strong256" \
    "${net256[@]}" finetune.batch=1
  finish strong256
fi
if on strong64; then # two 64^2 samples split over 1, 2, 4 tiles
  bash $harness $darcy --ranks 1,2,4 --mode strong --layout tiles --steps 3 --out "$dir/strong64" \
    "${net64[@]}" finetune.batch=2
  finish strong64
fi
if on kolmo256; then # Kolmogorov generation at 256^2: 1 rank against 2 tiles
  bash $harness input/kolmogorov.yaml --ranks 1,2 --mode strong --layout tiles --stage generate \
    --out "$dir/kolmo256" data.samples=2 pde.kolmogorov.samples_per_trajectory=2 \
    pde.kolmogorov.spinup=1
  finish kolmo256
fi
if on paper; then # the paper network (54.4 M) at 128^2 on 1 and 2 tiles, N = 4: the profiles
  bash $harness $darcy --ranks 1,2 --layout tiles --steps 2 --out "$dir/paper" finetune.batch=1 \
    finetune.steps=4
  bash $harness $darcy --ranks 1,2 --layout tiles --stage pretrain --steps 3 --out "$dir/paperpre" \
    pretrain.batch=1 pretrain.micro_batch=0
  build/pirf info $darcy 'parallel.tiles=[1,1]' > "$dir/paper/info.txt" 2>&1
  finish paper
fi
if on tilesize; then # the paper network's 1-rank step on 64^2, 32^2 and 16^2 fields: the compute
  # rate of the small tiles that many-tile layouts of a 128^2 sample give each rank
  for g in 64 32 16; do
    [ -f "$dir/tilesize/$g/scaling.json" ] || bash $harness $darcy --ranks 1 --steps 3 \
      --out "$dir/tilesize/$g" grid.resolution=$g finetune.batch=1 finetune.steps=4
  done
  finish tilesize
fi
if on mem1024; then # a PIRF step on a 1024^2 field over 1, 2, 4 ranks: memory per rank
  mkdir -p "$dir/mem1024"
  m="$dir/mem1024"
  build/pirf info $darcy "${net1024[@]}" 'parallel.tiles=[1,1]' > "$m/info.txt" 2>&1
  [ -f "$m/data.h5" ] || logged "$m/generate.txt" mpiexec -n 2 build/pirf generate $darcy \
    "${net1024[@]}" 'parallel.tiles=[1,1]' data.samples=2 "data.path=$m/data.h5" "output.dir=$m"
  [ -f "$m/base.h5" ] || logged "$m/pretrain.txt" mpiexec -n 2 build/pirf pretrain $darcy \
    "${net1024[@]}" "data.path=$m/data.h5" "output.dir=$m" 'parallel.tiles=[2,1]' pretrain.batch=1 \
    pretrain.kimg=0.001 pretrain.micro_batch=0
  for t in 1,1 2,1 2,2; do
    P=$(( ${t%,*} * ${t#*,} ))
    s=$(date +%s.%N)
    logged "$m/finetune_$P.txt" mpiexec -n $P build/pirf finetune $darcy "${net1024[@]}" \
      "data.path=$m/data.h5" "output.dir=$m" "parallel.tiles=[$t]" finetune.batch=1 \
      finetune.steps=4 finetune.eval_samples=0 finetune.bench=true "finetune.base=$m/base.h5" \
      -log_view ":$m/log_view_$P.txt"
    e=$(date +%s.%N)
    echo "$P [$t] $(awk "BEGIN { print $e - $s }") $(sed -n 's/.*after one iteration.*maxrss \([0-9.]*\) MiB.*/\1/p' "$m/finetune_$P.txt")" >> "$m/results.txt"
  done
  log "1024^2 step (ranks, tiles, wall s, peak RSS MiB per rank, the largest over the ranks):"
  cat "$m/results.txt"
  finish mem1024
fi
if on kolmo1024; then # Kolmogorov at 1024^2 on 4 ranks: generation and the data's residual
  mkdir -p "$dir/kolmo1024"
  k="$dir/kolmo1024"
  s=$(date +%s.%N)
  logged "$k/generate.txt" mpiexec -n 4 build/pirf generate input/kolmogorov_1024.yaml \
    'parallel.tiles=[2,2]' data.samples=3 pde.kolmogorov.samples_per_trajectory=3 \
    pde.kolmogorov.spinup=0.25 "data.path=$k/data.h5" "output.dir=$k" -log_view ":$k/log_view.txt"
  e=$(date +%s.%N)
  log "Kolmogorov 1024^2, 4 ranks [2,2], 3 frames after 0.25 time units: $(awk "BEGIN { print $e - $s }") s"
  grep -E "residual floor|RSS" "$k/generate.txt" | tail -2
  finish kolmo1024
fi
if on model; then
  mkdir -p "$dir/model"
  $py postprocess/perf_model.py project "$dir/weak64/scaling.json" "$dir/strong256/scaling.json" \
    "$dir/strong64/scaling.json" --check "$dir/paper/scaling.json" "$dir/paperpre/scaling.json" \
    --paper "$dir/paper/scaling.json" --paper-n 4 \
    --paper-pretrain "$dir/paperpre/scaling.json" --info "$dir/paper/info.txt" \
    --tile-rates "$dir"/tilesize/*/scaling.json \
    --mem-info "$dir/mem1024/info.txt" --mem-results "$dir/mem1024/results.txt" \
    --json "$dir/model/model.json" | tee "$dir/model/model.md"
fi
log "done $(date -u +%FT%TZ); load: $(uptime)"
