#!/usr/bin/python3
"""edm_weights_both_ways: weights move between pirf and PyTorch EDM (postprocess/import_edm.py,
postprocess/export_edm.py).

usage: test_edm_weights.py PIRF MAKE_CHECKPOINT MPIEXEC SOURCE_DIR

Without EDM's source (torch only):
* pirf -> state dict -> pirf: a pirf checkpoint exported to a .pt state dict (with the 4(L-1)
  regenerated resample_filter buffers of an L-level U-Net) and imported back holds bit-identical
  weights; the EDMPrecond form (model. prefix) imports too;
* the importer refuses, with a message naming the tensor, a resample_filter other than [1, 1], a
  Fourier embedding (NCSN++) and a state dict that is not a SongUNet's.
With EDM's source (PIRF_EDM_SOURCE, a checkout of NVlabs/edm), on a network built with EDM's code:
* an EDM network pickle (EDM's persistence format) is imported by a process that does not have
  EDM's source on its path, and pirf accepts the checkpoint: `pirf denoise` on it matches EDM's
  own EDMPrecond run in float64 for real (tests/pytorch/edm64.py) to 1e-4;
* exported back, the state dict loads into EDM's SongUNet with strict=True and equals the original
  weights bit for bit; export_edm.py --pickle writes a pickle EDM unpickles.
Prints one line per check and "N passed, N failed"; exit 77 (skipped) without torch.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

pirf, mkck, mpiexec, src = sys.argv[1:5]
pirf, mkck, src = (os.path.abspath(p) for p in (pirf, mkck, src))
HERE = os.path.dirname(os.path.abspath(__file__))
IMPORT = os.path.join(src, "postprocess", "import_edm.py")
EXPORT = os.path.join(src, "postprocess", "export_edm.py")
DECK = os.path.join(src, "input", "quickstart.yaml")
SMALL = ["grid.resolution=16", "model.channels=8", "model.channel_mult=[1,2]", "model.num_blocks=1",
         "model.attn_resolutions=[8]"]
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none",
           OPENBLAS_NUM_THREADS="1")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def run(cmd, expect=0, cwd=None, extra_env=None):
    e = dict(env, **(extra_env or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=e)
    out = p.stdout + p.stderr
    if p.returncode != expect:
        print(f"command {' '.join(cmd)} exited {p.returncode}, expected {expect}:\n{out}")
    return p.returncode == expect, out


def groups(path):
    with h5py.File(path, "r") as f:
        return {g: {k: f[g][k][...] for k in f[g]} for g in f if isinstance(f[g], h5py.Group)}


w = tempfile.mkdtemp(prefix="edm_weights_")
# ---- a file with EDM's resample_filter buffers: pirf names them (h5py only) ---------------------
ckb = os.path.join(w, "buffers.h5")
ok, _ = run([mpiexec, "-n", "1", mkck, DECK, ckb, "4"] + SMALL)
with h5py.File(ckb, "r+") as f:
    for g in ("net", "ema"):
        f[g]["enc.8x8_down.conv0.resample_filter"] = np.full((1, 1, 2, 2), 0.25, dtype=np.float32)
    f.attrs["deck"] = ""
with h5py.File(os.path.join(w, "x0.h5"), "w") as f:
    f["fields"] = np.zeros((1, 2, 16, 16), dtype=np.float32)
    f.attrs["format_version"] = 1  # pirf reads field files of its own format (docs/data-format.md)
ok, out = run([mpiexec, "-n", "1", pirf, "denoise", "--checkpoint", ckb, "--input",
               os.path.join(w, "x0.h5"), "--sigma", "1", "--output", os.path.join(w, "y0.h5")]
              + SMALL[1:], expect=2)
check("pirf names EDM's resample_filter buffers in a checkpoint and says what to do",
      ok and "resample_filter buffers" in out and "import_edm.py" in out, out)

try:
    import torch
except ImportError:
    print("SKIP: the rest of edm_weights_both_ways needs torch (Debian: apt-get install "
          "python3-torch)")
    sys.exit(1 if failed else 77)

# ---- pirf -> state dict -> pirf --------------------------------------------------------------
ck = os.path.join(w, "pirf.h5")
ok, _ = run([mpiexec, "-n", "1", mkck, DECK, ck, "3"] + SMALL)
check("a pirf checkpoint", ok)
pt = os.path.join(w, "sd.pt")
ok, out = run([sys.executable, EXPORT, ck, pt, "--group", "ema"])
check("export_edm.py writes a state dict", ok, out)
sd = torch.load(pt)
filt = sorted(k for k in sd if k.endswith("resample_filter"))
check("4 resample_filter buffers for a 2-level U-Net (down and up blocks' conv0 and skip)",
      filt == ["dec.16x16_up.conv0.resample_filter", "dec.16x16_up.skip.resample_filter",
               "enc.8x8_down.conv0.resample_filter", "enc.8x8_down.skip.resample_filter"], filt)
check("the filter is EDM's normalized [1, 1]",
      all(torch.equal(sd[k], torch.full((1, 1, 2, 2), 0.25)) for k in filt))
back = os.path.join(w, "back.h5")
ok, out = run([sys.executable, IMPORT, pt, back, "--groups", "ema"])
check("import_edm.py reads the state dict back", ok, out)
orig, again = groups(ck), groups(back)
check("pirf -> PyTorch -> pirf is bit-identical",
      sorted(orig["ema"]) == sorted(again["ema"]) and
      all(np.array_equal(orig["ema"][k], again["ema"][k]) for k in orig["ema"]))
pre = os.path.join(w, "pre.pt")
run([sys.executable, EXPORT, ck, pre, "--precond"])
ok, out = run([sys.executable, IMPORT, pre, os.path.join(w, "pre.h5")])
check("an EDMPrecond state dict (model. prefix) imports", ok, out)
check("the imported file fills /net, /ema and /ref", sorted(groups(os.path.join(w, "pre.h5"))) ==
      ["ema", "net", "ref"])

# ---- refusals ----------------------------------------------------------------------------------
bad = dict(sd)
bad["enc.8x8_down.conv0.resample_filter"] = torch.full((1, 1, 4, 4), 1 / 16)
torch.save(bad, os.path.join(w, "bad1.pt"))
ok, out = run([sys.executable, IMPORT, os.path.join(w, "bad1.pt"), os.path.join(w, "x.h5")], expect=1)
check("another resample_filter is refused, naming the tensor",
      ok and "enc.8x8_down.conv0.resample_filter" in out and "[1, 1]" in out, out)
bad = dict(sd)
bad["map_noise.freqs"] = torch.randn(4)
torch.save(bad, os.path.join(w, "bad2.pt"))
ok, out = run([sys.executable, IMPORT, os.path.join(w, "bad2.pt"), os.path.join(w, "x.h5")], expect=1)
check("a Fourier embedding (NCSN++) is refused", ok and "Fourier" in out, out)
torch.save({"fc.weight": torch.zeros(2, 2)}, os.path.join(w, "bad3.pt"))
ok, out = run([sys.executable, IMPORT, os.path.join(w, "bad3.pt"), os.path.join(w, "x.h5")], expect=1)
check("a state dict that is not a SongUNet's is refused", ok and "SongUNet" in out, out)
check("nothing left under the output's name after a refusal", not os.path.exists(os.path.join(w, "x.h5")))

# ---- with EDM's code -------------------------------------------------------------------------
edm = os.environ.get("PIRF_EDM_SOURCE", "")
if not edm or not os.path.isfile(os.path.join(edm, "training", "networks.py")):
    print("SKIP (part): the EDM checks need EDM's source: set PIRF_EDM_SOURCE to a checkout of "
          "NVlabs/edm")
else:
    import pickle

    sys.path.insert(0, HERE)
    import edm64  # noqa: E402

    networks = edm64.load(edm)
    torch.manual_seed(0)
    net = edm64.ddpmpp(networks, 16, 2, 8, [1, 2], 1, [8])
    with torch.no_grad():  # EDM's init makes the output layers ~1e-5: perturb everything
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    pkl = os.path.join(w, "network-snapshot.pkl")
    with open(pkl, "wb") as f:
        pickle.dump({"ema": net, "augment_pipe": None, "dataset_kwargs": {"path": "x"}}, f)
    # the importer must not need EDM's code: run it from an empty directory with a clean path
    clean = {"PYTHONPATH": ""}
    ck2 = os.path.join(w, "from_edm.h5")
    ok, out = run([sys.executable, "-I", IMPORT, pkl, ck2], cwd=tempfile.mkdtemp(), extra_env=clean)
    check("an EDM network pickle imports without EDM's source on the path", ok, out)
    check("the importer prints the deck keys of the network",
          "model.channels=8 model.channel_mult=[1,2] model.num_blocks=1 model.attn_resolutions=[8]" in out, out)
    # pirf runs it: D(x; sigma) of pirf against EDM's own EDMPrecond in float64
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 16, 16)).astype(np.float32)
    with h5py.File(os.path.join(w, "x.h5"), "w") as f:
        f["fields"] = x
        f.attrs["format_version"] = 1  # a pirf field file (docs/data-format.md)
    y = os.path.join(w, "y.h5")
    ok, out = run([mpiexec, "-n", "2", pirf, "denoise", "--checkpoint", ck2, "--input",
                   os.path.join(w, "x.h5"), "--sigma", "0.7", "--output", y, "--batch", "2"] + SMALL[1:])
    check("pirf accepts the imported checkpoint (pirf denoise)", ok, out)
    edm64.patched_dtypes.clear()
    net64 = net.double().eval()
    with torch.no_grad():
        D = net64(torch.tensor(x, dtype=torch.float64), torch.full((3,), 0.7, dtype=torch.float64))
    check("EDM's reference ran in float64", edm64.patched_dtypes == {torch.float64} and
          D.dtype == torch.float64, edm64.patched_dtypes)
    if ok:
        with h5py.File(y, "r") as f:
            Dp = f["fields"][...].astype(np.float64)
        rel = float(np.abs(Dp - D.numpy()).max() / np.abs(D.numpy()).max())
        print(f"pirf (float32) against EDM (float64): max relative difference of D {rel:.2e}")
        check("pirf's D matches EDM's float64 D to 1e-4", rel < 1e-4, rel)
    # and back: strict=True into EDM's SongUNet, equal to the original weights
    pt2 = os.path.join(w, "back.pt")
    ok, out = run([sys.executable, EXPORT, ck2, pt2])
    check("export of the imported checkpoint", ok, out)
    fresh = edm64.ddpmpp(networks, 16, 2, 8, [1, 2], 1, [8])
    try:
        fresh.model.load_state_dict(torch.load(pt2), strict=True)
        loaded = True
    except RuntimeError as e:
        loaded, out = False, str(e)
    check("the exported state dict loads into EDM's SongUNet with strict=True", loaded, out)
    net32 = net.float()
    check("EDM -> pirf -> EDM is bit-identical", all(
        torch.equal(a, b) for a, b in zip(net32.model.state_dict().values(),
                                          fresh.model.state_dict().values())))
    with h5py.File(ck2, "r+") as f:  # --pickle builds the network from the stored deck
        f.attrs["deck"] = "pde: {name: darcy}\ngrid: {resolution: 16}\nmodel: {channels: 8, " \
                          "channel_mult: [1, 2], num_blocks: 1, attn_resolutions: [8], dropout: 0.0}\n"
    pkl2 = os.path.join(w, "exported.pkl")
    ok, out = run([sys.executable, EXPORT, ck2, os.path.join(w, "e.pt"), "--pickle", pkl2,
                   "--edm-source", edm])
    check("export_edm.py --pickle", ok, out)
    if ok:
        with open(pkl2, "rb") as f:
            again = pickle.load(f)["ema"]
        check("EDM unpickles the exported network with the same weights", all(
            torch.equal(a, b) for a, b in zip(net32.model.state_dict().values(),
                                              again.model.state_dict().values())))

print(f"edm_weights_both_ways: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
