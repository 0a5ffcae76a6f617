#!/usr/bin/python3
"""Cross-check pirf's SongUNet denoiser against NVlabs/edm's own PyTorch EDMPrecond, in float64.

    build/export_unet /tmp/unet_export 32 16 2
    /usr/bin/python3 tests/model/crosscheck_edm.py [/path/to/edm] /tmp/unet_export

/path/to/edm (or the environment variable PIRF_EDM_SOURCE) is a checkout of github.com/NVlabs/edm
(not part of pirf). The script builds EDMPrecond(model_type='SongUNet') with the DDPM++ settings
pirf implements, loads pirf's weights by state_dict name (prefix "model."; pirf's table has no
resample_filter buffers, which EDM builds itself), runs D = EDMPrecond(x, sigma) in eval mode and
backpropagates L = <r, D>, and prints the relative differences of D, dL/dx and every parameter
gradient against pirf's (float32) values.

The reference is float64 in fact: EDM casts x and sigma to float32 in EDMPrecond.forward, computes
attention weights in float32 and builds its positional-embedding frequencies in float32, so
`net.double()` alone compares float32 with float32. tests/pytorch/edm64.py replaces those three
with the same formulas in the input's dtype (EDM's other code unchanged), and this script checks
that the attention did run in float64. EDM's unpatched float32 run is printed for comparison.
Needs Debian's python3-torch and python3-numpy. Exit status 1 if pirf differs from the float64
reference by more than 1e-4, 77 (skipped) if torch or EDM's source is missing.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    args = sys.argv[1:]
    edm_path = args.pop(0) if len(args) > 1 else os.environ.get("PIRF_EDM_SOURCE", "")
    if not args:
        sys.exit(__doc__)
    d = args[0]
    try:
        import torch
    except ImportError:
        print("SKIP: crosscheck_edm needs torch (Debian: apt-get install python3-torch)")
        return 77
    if not edm_path or not os.path.isfile(os.path.join(edm_path, "training", "networks.py")):
        print("SKIP: crosscheck_edm needs EDM's source: set PIRF_EDM_SOURCE to a checkout of "
              "NVlabs/edm")
        return 77
    sys.path.insert(0, os.path.join(HERE, "..", "pytorch"))
    import edm64  # noqa: E402
    networks = edm64.load(edm_path)

    cfg = {}
    for line in open(f"{d}/config.txt"):
        k, *v = line.split()
        cfg[k] = [float(t) for t in v]
    R, mc, nb, attn, B = (int(cfg[k][0]) for k in ("resolution", "channels", "num_blocks", "attn", "B"))
    sigma = np.array(cfg["sigma"])
    net = edm64.ddpmpp(networks, R, 2, mc, [1, 2, 2], nb, [attn])
    params = np.fromfile(f"{d}/params.bin", dtype=np.float32)
    grads = np.fromfile(f"{d}/grad.bin", dtype=np.float32)
    table = []
    for line in open(f"{d}/names.txt"):
        name, ndim, s0, s1, s2, s3, off, cnt = line.split()
        shape = [int(s) for s in (s0, s1, s2, s3)][: int(ndim)]
        table.append((name, shape, int(off), int(cnt)))
    sd = net.state_dict()
    pnames = {n for n, _ in net.named_parameters()}
    ours = {"model." + n for n, _, _, _ in table}
    missing, extra = sorted(pnames - ours), sorted(ours - pnames)
    print(f"{len(table)} tensors in pirf's table, {len(pnames)} parameters in EDM; "
          f"missing {missing[:5]}, extra {extra[:5]}")
    ok = not missing and not extra
    for name, shape, off, cnt in table:
        t = sd["model." + name]
        if list(t.shape) != shape:
            print(f"shape mismatch {name}: pirf {shape}, EDM {list(t.shape)}")
            ok = False
            continue
        sd["model." + name] = torch.from_numpy(params[off:off + cnt].reshape(shape).copy())
    net.load_state_dict(sd)
    x = np.fromfile(f"{d}/x.bin", dtype=np.float32).reshape(B, 2, R, R)
    r = np.fromfile(f"{d}/r.bin", dtype=np.float32).reshape(B, 2, R, R)
    D_c = np.fromfile(f"{d}/D.bin", dtype=np.float32).reshape(B, 2, R, R)
    dx_c = np.fromfile(f"{d}/dx.bin", dtype=np.float32).reshape(B, 2, R, R)
    for dtype in (torch.float64, torch.float32):
        net.eval().to(dtype)
        net.zero_grad()
        edm64.patched_dtypes.clear()
        xt = torch.tensor(x, dtype=dtype, requires_grad=True)
        D = net(xt, torch.tensor(sigma, dtype=dtype))
        (D * torch.tensor(r, dtype=dtype)).sum().backward()
        rel = lambda a, b: float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
        eD = rel(D_c, D.detach().double().numpy())
        ex = rel(dx_c, xt.grad.double().numpy())
        worst, wname = 0.0, ""
        named = dict(net.named_parameters())
        for name, shape, off, cnt in table:
            g = named["model." + name].grad
            gref = g.double().numpy().ravel() if g is not None else np.zeros(cnt)
            e = float(np.linalg.norm(grads[off:off + cnt] - gref) / max(np.linalg.norm(gref), 1e-30))
            if e > worst:
                worst, wname = e, name
        print(f"EDM in {dtype}: D {eD:.2e}, dx {ex:.2e}, parameter gradients {worst:.2e} (worst {wname})"
              f"; attention computed in {sorted(map(str, edm64.patched_dtypes))}, D is {D.dtype}")
        if dtype == torch.float64:
            if edm64.patched_dtypes != {torch.float64} or D.dtype != torch.float64:
                print("the float64 run did not compute in float64")
                ok = False
            ok = ok and eD < 1e-4 and ex < 1e-4 and worst < 1e-4
    print("agree" if ok else "DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
