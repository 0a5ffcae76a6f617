#!/usr/bin/python3
"""pytorch_doc_snippets_run: the Python snippets of docs/checkpoints.md and docs/verify-pytorch.md
run as written.

usage: test_doc_snippets.py PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR

The ```python blocks of each page are taken from the Markdown and run in order, in one process per
page, in a scratch directory laid out as the pages assume (a checkpoint of a small quickstart-deck
network with its deck at runs/quickstart/pirf.h5 and runs/darcy/base.h5; x.h5, g.h5 and pirf
denoise's y.h5; pirf's tests/ beside them). Then:
* checkpoints.md: the state dict has the resample_filter buffers and loads into EDM's network with
  strict=True (block 2), and the file written back by block 3 is read by `pirf denoise` and holds
  the checkpoint's weights bit for bit;
* verify-pytorch.md: the float64 comparison runs and its printed differences are below 1e-4.
Blocks that need EDM's source (they read PIRF_EDM_SOURCE) are skipped with a message when it is
not set; exit 77 (skipped) without torch.
"""
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

pirf, mkck, mpiexec, src = sys.argv[1:5]
pirf, mkck, src = (os.path.abspath(p) for p in (pirf, mkck, src))
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none",
           OPENBLAS_NUM_THREADS="1")
SMALL = ["grid.resolution=16", "model.channels=8", "model.channel_mult=[1,2]", "model.num_blocks=1",
         "model.attn_resolutions=[8]"]
DECK_YAML = ("pde: {name: darcy}\ngrid: {resolution: 16}\nmodel: {channels: 8, channel_mult: [1, 2], "
             "num_blocks: 1, attn_resolutions: [8], dropout: 0.0}\n")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print(("ok: " if ok else "FAIL: ") + name + ("" if ok else f" {detail}"))


def run(cmd, cwd):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    return p.returncode, p.stdout + p.stderr


def snippets(page):
    text = open(os.path.join(src, "docs", page)).read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


try:
    import torch  # noqa: F401
except ImportError:
    print("SKIP: pytorch_doc_snippets_run needs torch (Debian: apt-get install python3-torch)")
    sys.exit(77)
edm = os.environ.get("PIRF_EDM_SOURCE", "")
have_edm = bool(edm) and os.path.isfile(os.path.join(edm, "training", "networks.py"))
if not have_edm:
    print("SKIP (part): blocks that need EDM's source: set PIRF_EDM_SOURCE to a checkout of NVlabs/edm")

w = tempfile.mkdtemp(prefix="doc_snippets_")
os.symlink(os.path.join(src, "tests"), os.path.join(w, "tests"))
for d in ("runs/quickstart", "runs/darcy"):
    os.makedirs(os.path.join(w, d))
for path, seed in (("runs/quickstart/pirf.h5", "5"), ("runs/darcy/base.h5", "6")):
    rc, out = run([mpiexec, "-n", "1", mkck, os.path.join(src, "input", "quickstart.yaml"),
                   os.path.join(w, path), seed] + SMALL, w)
    check(f"a checkpoint at {path}", rc == 0, out)
    with h5py.File(os.path.join(w, path), "r+") as f:
        f.attrs["deck"] = DECK_YAML

# ---- docs/checkpoints.md ---------------------------------------------------------------------
blocks = snippets("checkpoints.md")
check("checkpoints.md has its three Python snippets", len(blocks) == 3, len(blocks))
code = []
for b in blocks:
    if "PIRF_EDM_SOURCE" in b and not have_edm:
        print("skipped a checkpoints.md block that needs EDM's source")
        continue
    code.append(b)
code.append("assert sum(k.endswith('resample_filter') for k in sd) == 4, sorted(sd)\n")
if have_edm:
    code.append("print('loaded into EDM strict=True:', type(net).__name__)\n")
with open(os.path.join(w, "checkpoints_snippets.py"), "w") as f:
    f.write("\n".join(code))
rc, out = run([sys.executable, "checkpoints_snippets.py"], w)
check("checkpoints.md's snippets run", rc == 0, out)
if have_edm:
    check("the state dict loads into EDM's EDMPrecond with strict=True",
          "loaded into EDM strict=True: EDMPrecond" in out, out)
back = os.path.join(w, "runs/quickstart/from_torch.h5")
if rc == 0:
    with h5py.File(os.path.join(w, "runs/quickstart/pirf.h5")) as a, h5py.File(back) as b:
        same = sorted(a["ema"]) == sorted(b["ema"]) and all(
            np.array_equal(a["ema"][k][...], b["ema"][k][...]) for k in a["ema"])
    check("the file written back holds the checkpoint's weights, without the buffers", same)
    with h5py.File(os.path.join(w, "x.h5"), "w") as f:
        f["fields"] = np.random.default_rng(0).standard_normal((2, 2, 16, 16)).astype(np.float32)
        f.attrs["format_version"] = 1  # pirf reads field files of its own format (docs/data-format.md)
    rc2, out2 = run([mpiexec, "-n", "1", pirf, "denoise", "--checkpoint", back, "--input", "x.h5",
                     "--sigma", "0.5", "--output", "y_back.h5"] + SMALL[1:], w)
    check("pirf reads the file written back (pirf denoise)", rc2 == 0, out2)

# ---- docs/verify-pytorch.md ------------------------------------------------------------------
blocks = snippets("verify-pytorch.md")
check("verify-pytorch.md has its Python snippet", len(blocks) == 1, len(blocks))
if not have_edm:
    print("skipped verify-pytorch.md's snippet: it needs EDM's source")
else:
    rng = np.random.default_rng(1)
    for name in ("x.h5", "g.h5"):
        with h5py.File(os.path.join(w, name), "w") as f:
            f["fields"] = rng.standard_normal((2, 2, 16, 16)).astype(np.float32)
    rc, out = run([mpiexec, "-n", "2", pirf, "denoise", "--checkpoint", "runs/darcy/base.h5",
                   "--input", "x.h5", "--sigma", "0.5", "--output", "y.h5", "--cotangent", "g.h5"], w)
    check("the page's pirf denoise command", rc == 0, out)
    with open(os.path.join(w, "verify_snippet.py"), "w") as f:
        f.write(blocks[0])
    rc, out = run([sys.executable, "verify_snippet.py"], w)
    check("verify-pytorch.md's snippet runs", rc == 0, out)
    print(out.strip())
    nums = [float(v) for v in re.findall(r"^(?:D  |dx ) ([0-9.e+-]+)$", out, flags=re.M)]
    worst = re.search(r"worst tensor \(([0-9.e+-]+),", out)
    if worst:
        nums.append(float(worst.group(1)))
    check("the float64 comparison agrees to 1e-4 (D, dx, worst parameter vjp)",
          len(nums) == 3 and max(nums) < 1e-4, nums)

print(f"pytorch_doc_snippets_run: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
