#!/usr/bin/python3
"""Convert a pirf checkpoint's weights into a PyTorch EDM state dict (docs/checkpoints.md).

usage: export_edm.py CHECKPOINT.h5 OUT.pt [--group ema|net|ref] [--precond]
                     [--pickle OUT.pkl --edm-source PATH]

OUT.pt is a `torch.save`d state dict of EDM's SongUNet, with the `resample_filter` buffers of its
up/down-sampling convolutions (the fixed [1, 1] filter, which pirf does not store) regenerated, so
that `SongUNet.load_state_dict(torch.load(OUT.pt), strict=True)` works; with --precond the keys
carry EDMPrecond's `model.` prefix (`EDMPrecond.load_state_dict(..., strict=True)`). Tensors are
float32, in PyTorch layouts, named as in EDM's `state_dict`.

With --pickle and EDM's source (a checkout of NVlabs/edm; also `PIRF_EDM_SOURCE`), it also builds
EDM's EDMPrecond from the checkpoint's stored deck (model.* keys, grid.resolution, the PDE's
channels), loads the weights with strict=True and pickles {"ema": net} the way EDM's training
loop does, for EDM's and DiffusionPDE's generate scripts. Needs h5py, numpy, torch (Debian's
python3-torch) and, for --pickle, yaml.
"""
import argparse
import os
import sys

import h5py
import numpy as np

RESAMPLED = ("_down.conv0.weight", "_down.skip.weight", "_up.conv0.weight", "_up.skip.weight")


def die(msg):
    sys.exit(f"export_edm: {msg}")


def pirf_arrays(path, group="ema"):
    """name -> float32 array of one checkpoint group."""
    try:
        with h5py.File(path, "r") as f:
            if group not in f:
                die(f"{path} has no group /{group} (it has {sorted(f)}); choose one with --group")
            return {k: f[group][k][...] for k in f[group]}, (f.attrs.get("deck", "") or "")
    except OSError as e:
        die(f"cannot read the checkpoint {path}: {e}")


def resample_filters(names):
    """EDM's resample_filter buffer of every up/down-sampling convolution among the tensor names:
    name -> the normalized [1, 1] filter, shape (1, 1, 2, 2)."""
    return {k[: -len("weight")] + "resample_filter": np.full((1, 1, 2, 2), 0.25, dtype=np.float32)
            for k in names if k.endswith(RESAMPLED)}


def edm_state_dict(path, group="ema", prefix=""):
    """A SongUNet state dict (torch tensors) of a pirf checkpoint, buffers included."""
    import torch
    arrays, _ = pirf_arrays(path, group)
    arrays.update(resample_filters(list(arrays)))
    return {prefix + k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
            for k, v in sorted(arrays.items())}


def edm_network(deck_yaml, channels=None):
    """EDM's EDMPrecond for a pirf deck (the DDPM++ SongUNet settings pirf implements)."""
    import yaml
    from training.networks import EDMPrecond  # EDM's code, from its checkout on the Python path
    deck = yaml.safe_load(deck_yaml) if deck_yaml else None
    if not deck:
        die("the checkpoint stores no deck; --pickle needs the model.* keys from it")
    m = deck["model"]
    if channels is None:
        channels = {"darcy": 2, "poisson": 2, "helmholtz": 2, "burgers": 1,
                    "kolmogorov": 3}[deck["pde"]["name"]]
    return EDMPrecond(img_resolution=deck["grid"]["resolution"], img_channels=channels,
                      model_type="SongUNet", model_channels=m["channels"],
                      channel_mult=m["channel_mult"], num_blocks=m["num_blocks"],
                      attn_resolutions=m["attn_resolutions"], dropout=m["dropout"],
                      channel_mult_noise=1, embedding_type="positional", encoder_type="standard",
                      decoder_type="standard", resample_filter=[1, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--group", default="ema", choices=("ema", "net", "ref"))
    ap.add_argument("--precond", action="store_true", help="EDMPrecond keys (model. prefix)")
    ap.add_argument("--pickle", help="also write an EDM network pickle {'ema': EDMPrecond}")
    ap.add_argument("--edm-source", default=os.environ.get("PIRF_EDM_SOURCE", ""),
                    help="a checkout of NVlabs/edm (for --pickle)")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        die("needs torch (Debian: apt-get install python3-torch)")
    sd = edm_state_dict(a.checkpoint, a.group, "model." if a.precond else "")
    torch.save(sd, a.output)
    nbuf = sum(k.endswith("resample_filter") for k in sd)
    print(f"export_edm: wrote {a.output}: {len(sd)} tensors of /{a.group} ({nbuf} regenerated "
          f"resample_filter buffers){' with the model. prefix' if a.precond else ''}")
    if a.pickle:
        if not a.edm_source or not os.path.isdir(os.path.join(a.edm_source, "training")):
            die("--pickle needs EDM's source: --edm-source PATH or PIRF_EDM_SOURCE (a checkout of "
                "NVlabs/edm)")
        sys.path.insert(0, a.edm_source)
        import pickle
        _, deck = pirf_arrays(a.checkpoint, a.group)
        net = edm_network(deck.decode() if isinstance(deck, bytes) else deck)
        net.model.load_state_dict(edm_state_dict(a.checkpoint, a.group), strict=True)
        with open(a.pickle, "wb") as f:
            pickle.dump({"ema": net.eval().requires_grad_(False)}, f)
        print(f"export_edm: wrote {a.pickle} (EDM network pickle, key 'ema')")


if __name__ == "__main__":
    main()
