#!/usr/bin/python3
"""Cross-check pirf's SongUNet denoiser against NVlabs/edm's own PyTorch EDMPrecond (optional).

    build/export_unet /tmp/unet_export 32 16 2
    /usr/bin/python3 tests/model/crosscheck_edm.py /path/to/edm /tmp/unet_export

/path/to/edm is a checkout of github.com/NVlabs/edm (not part of pirf). The script builds
EDMPrecond(model_type='SongUNet') with the DDPM++ settings pirf implements, loads pirf's weights
by state_dict name (prefix "model."; pirf's table has no resample_filter buffers, which EDM builds
itself), runs D = EDMPrecond(x, sigma) in eval mode in float64 and float32, backpropagates
L = <r, D>, and prints the relative differences of D, dL/dx and every parameter gradient.
Needs Debian's python3-torch and python3-numpy. Exit status 1 if any differs by more than 1e-4.
"""
import sys

import numpy as np
import torch


def main():
    edm_path, d = sys.argv[1], sys.argv[2]
    sys.path.insert(0, edm_path)
    from training.networks import EDMPrecond  # noqa: E402 (EDM's code, imported, not copied)

    cfg = {}
    for line in open(f"{d}/config.txt"):
        k, *v = line.split()
        cfg[k] = [float(t) for t in v]
    R, mc, nb, attn, B = (int(cfg[k][0]) for k in ("resolution", "channels", "num_blocks", "attn", "B"))
    sigma = np.array(cfg["sigma"])
    net = EDMPrecond(img_resolution=R, img_channels=2, model_type="SongUNet", model_channels=mc,
                     channel_mult=[1, 2, 2], num_blocks=nb, attn_resolutions=[attn], dropout=0.0,
                     channel_mult_noise=1, embedding_type="positional", encoder_type="standard",
                     decoder_type="standard", resample_filter=[1, 1])
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
        print(f"EDM in {dtype}: D {eD:.2e}, dx {ex:.2e}, parameter gradients {worst:.2e} (worst {wname})")
        if dtype == torch.float64:
            ok = ok and eD < 1e-4 and ex < 1e-4 and worst < 1e-4
    print("agree" if ok else "DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
