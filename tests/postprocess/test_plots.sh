#!/usr/bin/env bash
# The postprocessing scripts draw PNGs from files in pirf's formats (a small synthetic run
# directory made here with h5py), describe what they drew on standard output, and reject bad input
# with a message. Checked: finetune.jsonl's evaluation records are their own series (never mixed
# into the training curves) and the training keys (loss, lr, reg, s/iteration) all get panels;
# pretrain.jsonl is drawn against kimg with a log loss axis and readable titles, and `nonfinite`
# gets a panel only when it is non-zero; samples.png has a headline with PDE, resolution and N, a
# held-out data row first, rows naming method, N, zeta and weights, and each residual panel's MSE
# equal to the file's residual_mse of that sample.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "$@"; then pass=$((pass+1)); else echo "FAIL: $*"; fail=$((fail+1)); fi; }
has() { grep -qE -- "$1" "$2" || { echo "no line matching '$1' in:"; cat "$2"; return 1; }; }
hasnt() { ! grep -qE -- "$1" "$2" || { echo "a line matches '$1' in:"; cat "$2"; return 1; }; }
/usr/bin/python3 - "$tmp" <<'PY'
import sys, json, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
def attrs(f, **kw):
    f.attrs.update(dict(pde="darcy", resolution=16, channel_names="a,u", centring="cell",
                        grid_spacing=1 / 16, norm_scale=[0.2, 50.0], norm_shift=[-1.5, -0.5], **kw))
for name, scale, method, zeta in (("base", 1.0, "heun", 0.0), ("pirf", 0.1, "heun", 0.0),
                                  ("dps", 0.5, "dps", 1e-3)):
    with h5py.File(f"{d}/samples_{name}.h5", "w") as f:
        f["physical"] = rng.random((3, 2, 16, 16)).astype("f4")
        f["fields"] = f["physical"][...]
        r = (scale * rng.standard_normal((3, 1, 16, 16))).astype("f4")
        f["residual"] = r
        f["residual_mse"] = np.mean(r.astype("f8") ** 2, axis=(1, 2, 3))
        attrs(f, method=method, steps=20, zeta=zeta, checkpoint=f"run/{name}.h5", weights="ema")
with h5py.File(f"{d}/holdout.h5", "w") as f:
    f["fields"] = rng.random((4, 2, 16, 16)).astype("f4")
    attrs(f, residual_mse=1e-4, seed=2)
with open(f"{d}/finetune.jsonl", "w") as f:
    f.write(json.dumps({"eval": "base", "iter": 0, "residual_mse": 50.0, "level_offset": 0.1}) + "\n")
    for i in range(1, 21):
        f.write(json.dumps({"iter": i * 10, "loss": 10.0 / i, "residual_mse": 9.0 / i, "reg": 0.01 * i,
                            "lr": 3e-4, "N": 20, "K": 2, "nonfinite": 0, "sec_per_iter": 0.5}) + "\n")
    for w, v in (("net", 5.0), ("ema", 6.0)):
        f.write(json.dumps({"eval": w, "iter": 200, "residual_mse": v, "level_offset": 0.05}) + "\n")
for name, bad in (("pretrain", 0), ("pretrain_bad", 3)):
    with open(f"{d}/{name}.jsonl", "w") as f:
        for i in range(1, 31):
            f.write(json.dumps({"step": 32 * i, "kimg": i * 1.024, "loss": 1.0 / i, "lr": 1e-3,
                                "ema_beta": 0.9, "nonfinite": bad if i == 7 else 0,
                                "sec_per_step": 0.8}) + "\n")
with open(f"{d}/bad.jsonl", "w") as f:
    f.write("{not json\n")
PY
t=$tmp
check /usr/bin/python3 "$src/postprocess/plot_training.py" "$t/ft.png" "$t/finetune.jsonl" --title darcy
check test -s "$t/ft.png"
/usr/bin/python3 "$src/postprocess/plot_training.py" "$t/ft.png" "$t/finetune.jsonl" > "$t/ft.txt"
check has "PIRF loss .* \| x: fine-tuning iteration \| y: loss \(log\) \| series: training\(20\)$" "$t/ft.txt"
check has "learning rate \(constant: 0.0003\) .* series: training\(20\)$" "$t/ft.txt"
check has "regularization .* series: training\(20\)$" "$t/ft.txt"
check has "wall time per iteration .* y: s / iteration .* series: training\(20\)$" "$t/ft.txt"
check has "residual .* \(log\) \| series: training\(20\), eval base\(1\), eval net\(1\), eval ema\(1\)$" "$t/ft.txt"
check hasnt "loss .*eval" "$t/ft.txt"
check hasnt "nonfinite|panel: .*: N |panel: .*: K " "$t/ft.txt"
check has "note: .*N = 20 sampler steps.*no steps skipped" "$t/ft.txt"
/usr/bin/python3 "$src/postprocess/plot_training.py" "$t/pt.png" "$t/pretrain.jsonl" > "$t/pt.txt"
check test -s "$t/pt.png"
check has "EDM denoising loss .* \| x: training images \(kimg = 1000 images\) \| y: loss \(log\)" "$t/pt.txt"
check hasnt "nonfinite|jsonl: (loss|lr|ema_beta|sec_per_step) \|" "$t/pt.txt"
check has "note: pretrain.jsonl: no steps skipped for non-finite gradients" "$t/pt.txt"
/usr/bin/python3 "$src/postprocess/plot_training.py" "$t/pb.png" "$t/pretrain_bad.jsonl" > "$t/pb.txt"
check has "steps skipped for non-finite gradients \| .* series: training\(30\)$" "$t/pb.txt"
/usr/bin/python3 "$src/postprocess/plot_samples.py" "$t/s.png" base="$t/samples_base.h5" \
  pirf="$t/samples_pirf.h5" dps="$t/samples_dps.h5" --data "$t/holdout.h5" --count 2 > "$t/s.txt"
check test -s "$t/s.png"
check has "^title: darcy 16x16: base, pirf, dps at N = 20 sampler steps; first rows: held-out data \(holdout.h5, 4 samples\)" "$t/s.txt"
check has "^row 0: held-out data #0$" "$t/s.txt"
check has "^row 1: held-out data #1$" "$t/s.txt"
check has "^row 2: base #0, heun, N=20, ema of base.h5 \|" "$t/s.txt"
check has "^row 6: dps #0, dps, N=20, zeta=0.001, ema of dps.h5 \|" "$t/s.txt"
/usr/bin/python3 - "$t" > "$t/mse.txt" <<'PY'
import sys, h5py
for i, m in enumerate(("base", "pirf", "dps")):
    with h5py.File(f"{sys.argv[1]}/samples_{m}.h5") as f:
        for n in range(2):
            print(f"row {2 + 2 * i + n}: {f['residual_mse'][n]:.6g}")
PY
check diff <(sed -E 's/^(row [0-9]+): .*residual MSE (.*)$/\1: \2/;/held-out/d;/^title/d;/wrote/d' "$t/s.txt") "$t/mse.txt"
out=$(/usr/bin/python3 "$src/postprocess/plot_training.py" "$t/x.png" "$t/bad.jsonl" 2>&1); rc=$?
check test "$rc" -ne 0
check grep -q "bad.jsonl:1: not JSON" <<< "$out"
out=$(/usr/bin/python3 "$src/postprocess/plot_samples.py" "$t/y.png" base="$t/missing.h5" 2>&1); rc=$?
check test "$rc" -ne 0
check grep -q "cannot read" <<< "$out"
echo "plots: $pass passed, $fail failed"
[ $fail = 0 ]
