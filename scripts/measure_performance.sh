#!/usr/bin/env bash
# The before/after table of docs/performance.md ("A PIRF iteration against the official code"):
# one DRaFT-K iteration (K = 2, N = 20, Darcy) at three network sizes, every parameter trainable
# and layer-wise (decoder0), timed for
#   official  the official PyTorch code (scripts/bench_official.py; torch threads = ranks)
#   before    a pirf binary to compare with (BEFORE=..., e.g. an older commit's build)
#   fp32      this checkout's build/pirf
#   bf16      the same with model.nograd_precision=bf16
#   winograd  the same with model.nograd_precision=winograd
# all on the same cores, one after another, and writes one JSON line per run to $OUT/runs.jsonl
# and the table to $OUT/table.md (with the machine's load before and after).
#
#   OFFICIAL=/path/to/PIRF BEFORE=/path/to/old/build/pirf bash scripts/measure_performance.sh
#   CONFIGS="a b" ...    only configurations a and b (c, the paper network, takes ~45 minutes)
#   RUNS="fp32 bf16" ... only some columns; REPS=3 timed iterations per run (c: 1)
#   postprocess/performance_table.py A/runs.jsonl B/runs.jsonl  joins the runs of two sittings
#
# Configurations: a = 32^2, 32 channels x [1,2,2], 2 blocks, attention at 8, batch 8;
# b = 64^2, 64 x [1,2,2], 2 blocks, attention at 16, batch 4; c = input/darcy.yaml's network
# (128^2, 128 x [2,2,2], 4 blocks, 54.4 M parameters), batch 1. pirf runs NP ranks (default 2,
# one per core): a and b as NP data groups, c as one sample in NP tiles; the official code runs
# one process with NP threads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
NP=${NP:-2}
OUT=${OUT:-runs/performance}
CONFIGS=${CONFIGS:-a b c}
RUNS=${RUNS:-official before fp32 bf16 winograd}
AFTER=${AFTER:-build/pirf}
mkdir -p "$OUT"
: >"$OUT/runs.jsonl"
echo "load before: $(uptime)" >"$OUT/load.txt"

net_args() { # pirf deck overrides and bench_official.py arguments of configuration $1
  case $1 in
  a) pirf="grid.resolution=32 model.channels=32 model.channel_mult=[1,2,2] model.num_blocks=2
           model.attn_resolutions=[8] finetune.batch=8 finetune.micro_batch=$((8 / NP))
           parallel.tiles=[1,1]"
     official="--resolution 32 --channels 32 --mult 1,2,2 --blocks 2 --attn 8 --batch 8" ;;
  b) pirf="grid.resolution=64 model.channels=64 model.channel_mult=[1,2,2] model.num_blocks=2
           model.attn_resolutions=[16] finetune.batch=4 finetune.micro_batch=$((4 / NP))
           parallel.tiles=[1,1]"
     official="--resolution 64 --channels 64 --mult 1,2,2 --blocks 2 --attn 16 --batch 4" ;;
  c) pirf="finetune.batch=1 finetune.micro_batch=1 parallel.tiles=[$NP,1]"
     official="--resolution 128 --channels 128 --mult 2,2,2 --blocks 4 --attn 16 --batch 1" ;;
  *) echo "measure_performance.sh: unknown configuration '$1' in CONFIGS (a, b, c)" >&2; exit 2 ;;
  esac
}

pirf_run() { # binary, label, config, trainable, extra overrides...
  local bin=$1 label=$2 cfg=$3 trainable=$4
  shift 4
  local reps=${REPS:-3}
  [ "$cfg" = c ] && reps=${REPS:-1}
  local log="$OUT/$cfg-$trainable-$label.log"
  # shellcheck disable=SC2086
  OPENBLAS_NUM_THREADS=1 mpiexec -n "$NP" "$bin" bench input/darcy.yaml $pirf \
    finetune.trainable="$trainable" "$@" -bench_conv 0 -bench_network 0 -bench_pirf 1 \
    -bench_reps "$reps" >"$log" 2>&1
  /usr/bin/python3 - "$log" "$label" "$cfg" "$trainable" >>"$OUT/runs.jsonl" <<'EOF'
import json, re, sys
log, label, cfg, trainable = sys.argv[1:]
text = open(log).read()
row = re.search(r"^PIRF iteration .*?\s([\d.]+)\s+[\d.]+-[\d.]+\s+[\d.]+\s+([\d.]+)%", text, re.M)
rss = re.search(r"PIRF iteration: .*?max RSS, max over ranks\) ([\d.]+) MiB", text)
prefix = re.search(r"no-grad prefix ([\d.e+-]+)", text)
if not (row and rss):
    sys.exit(f"measure_performance.sh: no PIRF row in {log}")
print(json.dumps({"run": label, "config": cfg, "trainable": trainable,
                  "s": float(row.group(1)) / 1e3, "peak_pct": float(row.group(2)),
                  "prefix_s": float(prefix.group(1)) if prefix else None,
                  "rss_mib": float(rss.group(1))}))
EOF
}

for cfg in $CONFIGS; do
  net_args "$cfg"
  for trainable in all decoder0; do
    for run in $RUNS; do
      echo "[measure] $cfg $trainable $run ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
      case $run in
      official)
        : "${OFFICIAL:?set OFFICIAL to a checkout of github.com/mingze-yuan/PIRF}"
        reps=${REPS:-3}
        warm=1
        if [ "$cfg" = c ]; then reps=${REPS:-1}; warm=0; fi
        # shellcheck disable=SC2086
        /usr/bin/python3 scripts/bench_official.py --official "$OFFICIAL" --threads "$NP" $official \
          --trainable "$trainable" --warmup "$warm" --reps "$reps" 2>"$OUT/$cfg-$trainable-official.log" |
          /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"run": "official",
            "config": sys.argv[1], "trainable": sys.argv[2], "s": d["median_s"],
            "rss_mib": d["peak_rss_mib"]}))' "$cfg" "$trainable" >>"$OUT/runs.jsonl" ;;
      before) pirf_run "${BEFORE:?set BEFORE to the pirf binary to compare with}" before "$cfg" "$trainable" ;;
      fp32) pirf_run "$AFTER" fp32 "$cfg" "$trainable" ;;
      bf16) pirf_run "$AFTER" bf16 "$cfg" "$trainable" model.nograd_precision=bf16 ;;
      winograd) pirf_run "$AFTER" winograd "$cfg" "$trainable" model.nograd_precision=winograd ;;
      *) echo "measure_performance.sh: unknown run '$run' in RUNS" >&2; exit 2 ;;
      esac
    done
  done
done
echo "load after: $(uptime)" >>"$OUT/load.txt"
/usr/bin/python3 postprocess/performance_table.py "$OUT/runs.jsonl" --load "$OUT/load.txt" \
  --np "$NP" >"$OUT/table.md"
cat "$OUT/table.md"
