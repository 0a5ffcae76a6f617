#!/usr/bin/env bash
# The postprocessing scripts draw PNGs from files in pirf's formats (made here with h5py), and
# reject bad input with a message.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "$@"; then pass=$((pass+1)); else echo "FAIL: $*"; fail=$((fail+1)); fi; }
/usr/bin/python3 - "$tmp" <<'PY'
import sys, json, h5py, numpy as np
d = sys.argv[1]
for name, scale in (("base", 1.0), ("pirf", 0.1)):
    with h5py.File(f"{d}/{name}.h5", "w") as f:
        f["physical"] = np.random.rand(3, 2, 16, 16).astype("f4")
        f["residual"] = (scale * np.random.randn(3, 1, 16, 16)).astype("f4")
        f.attrs["channel_names"] = "a,u"
with open(f"{d}/finetune.jsonl", "w") as f:
    for i in range(20):
        f.write(json.dumps({"iter": i, "loss": 10.0 / (i + 1), "residual_mse": 1e3 / (i + 1) ** 3}) + "\n")
with open(f"{d}/bad.jsonl", "w") as f:
    f.write("{not json\n")
PY
check /usr/bin/python3 "$src/postprocess/plot_samples.py" "$tmp/s.png" base="$tmp/base.h5" pirf="$tmp/pirf.h5"
check test -s "$tmp/s.png"
check /usr/bin/python3 "$src/postprocess/plot_training.py" "$tmp/t.png" "$tmp/finetune.jsonl"
check test -s "$tmp/t.png"
out=$(/usr/bin/python3 "$src/postprocess/plot_training.py" "$tmp/x.png" "$tmp/bad.jsonl" 2>&1); rc=$?
check test "$rc" -ne 0
check grep -q "bad.jsonl:1: not JSON" <<< "$out"
out=$(/usr/bin/python3 "$src/postprocess/plot_samples.py" "$tmp/y.png" base="$tmp/missing.h5" 2>&1); rc=$?
check test "$rc" -ne 0
check grep -q "cannot read" <<< "$out"
echo "plots: $pass passed, $fail failed"
[ $fail = 0 ]
