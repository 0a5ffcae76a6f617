#!/usr/bin/python3
"""Convert PyTorch EDM weights into a pirf checkpoint (docs/checkpoints.md).

usage: import_edm.py IN OUT.h5 [--key ema] [--groups net,ema,ref] [--deck DECK.yaml]

IN is one of
* an EDM or DiffusionPDE network pickle (`network-snapshot-*.pkl`, the form the paper's base models
  are published in): a dict whose --key entry (default `ema`) is an EDMPrecond with a SongUNet.
  EDM's `torch_utils.persistence` pickles carry their classes' source code; this script does not
  run that code and does not need EDM's source on the Python path: it rebuilds the tensors and the
  module tree (parameters, buffers, constructor arguments) with a restricted unpickler that only
  accepts torch's tensor and container classes;
* a PyTorch state dict saved with `torch.save` (`.pt`/`.pth`): of a SongUNet (`enc.…`, `dec.…`,
  `map_noise…` keys) or of an EDMPrecond (the same keys under `model.`), or a dict holding one under
  `state_dict`, `model`, `ema` or `net`.

The SongUNet's weights go to the groups named by --groups (default net,ema,ref: a pretrained model
that `pirf finetune` can start from). EDM's 4(L-1) `resample_filter` buffers (the fixed [1, 1]
up/down-sampling filter of the L-level U-Net's resampling convolutions) are constants that pirf
builds itself: they are checked to be the [1, 1] filter pirf implements, then dropped. Any other
buffer (FourierEmbedding's random `freqs`: NCSN++) or a non-SongUNet model (DhariwalUNet: ADM) is
refused with a message, since pirf implements DDPM++ only.

The checkpoint's `deck` attribute is the file given with --deck (the deck you will run it with), or
empty: pirf then takes the channels and resolution from the data and the model.* keys from the deck
or command line. For a pickle, the model.* keys that reproduce the network are printed (and stored
as the attribute `edm_init_kwargs`, JSON). Needs h5py, numpy and (for state dicts and tensors)
torch: Debian's python3-torch.
"""
import argparse
import collections
import json
import pickle
import sys

import h5py
import numpy as np

PIRF_FILTER = np.full((1, 1, 2, 2), 0.25)  # EDM's resample_filter=[1, 1]: outer([1,1],[1,1]) / 4


def die(msg):
    sys.exit(f"import_edm: {msg}")


# ---- reading an EDM pickle without EDM's code ----------------------------------------------

class PersistentStub:
    """What EDM's persistent_class pickles into: the class name, its module's source (not run) and
    the object's state (nn.Module.__dict__: _parameters, _buffers, _modules, _init_kwargs, ...)."""

    def __init__(self, meta):
        self.class_name = meta.get("class_name", "?")
        self.state = dict(meta.get("state") or {})


def _reconstruct_persistent_obj(meta):
    return PersistentStub(dict(meta))


class EasyDictStub(dict):
    """dnnlib.EasyDict, as a plain dict."""

    def __setstate__(self, state):
        self.update(state)


class OpaqueStub:
    """Any other class of the pickle (not needed for the weights): kept as its state only."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class EdmUnpickler(pickle.Unpickler):
    """Rebuild tensors and torch containers; never import or run code from the pickle."""

    SAFE_PREFIXES = ("torch", "collections", "numpy", "copyreg", "_codecs", "builtins")

    def find_class(self, module, name):
        if module == "torch_utils.persistence" and name == "_reconstruct_persistent_obj":
            return _reconstruct_persistent_obj
        if module.startswith("dnnlib") and name == "EasyDict":
            return EasyDictStub
        if module == "builtins" and name in ("eval", "exec", "compile", "__import__", "getattr",
                                             "open", "input"):
            die(f"the pickle asks for builtins.{name}; refusing to load it")
        if module.split(".")[0] in self.SAFE_PREFIXES:
            return super().find_class(module, name)
        return type(name, (OpaqueStub,), {"__module__": "import_edm.opaque." + module})


def _children(obj):
    """(parameters, buffers, non-persistent buffer names, submodules, class name) of a module."""
    d = obj.state if isinstance(obj, PersistentStub) else getattr(obj, "__dict__", {})
    name = obj.class_name if isinstance(obj, PersistentStub) else type(obj).__name__
    return (d.get("_parameters") or {}, d.get("_buffers") or {},
            set(d.get("_non_persistent_buffers_set") or ()), d.get("_modules") or {}, name, d)


def module_state_dict(obj, prefix=""):
    """The state_dict (name -> numpy array) and the class name of every submodule of a module tree."""
    sd, classes = collections.OrderedDict(), {}
    params, buffers, nonpersist, mods, cname, _ = _children(obj)
    classes[prefix.rstrip(".")] = cname
    for k, v in params.items():
        if v is not None:
            sd[prefix + k] = _to_numpy(v)
    for k, v in buffers.items():
        if v is not None and k not in nonpersist:
            sd[prefix + k] = _to_numpy(v)
    for k, m in mods.items():
        if m is not None:
            s, c = module_state_dict(m, prefix + k + ".")
            sd.update(s)
            classes.update(c)
    return sd, classes


def _to_numpy(t):
    if hasattr(t, "detach"):
        return t.detach().cpu().double().numpy() if t.is_floating_point() else t.detach().cpu().numpy()
    return np.asarray(t)


def load_pickle(path, key):
    try:
        with open(path, "rb") as f:
            data = EdmUnpickler(f).load()
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        die(f"cannot read the pickle {path}: {e}")
    if isinstance(data, dict):
        if key not in data:
            die(f"{path} has no entry '{key}' (it has {sorted(map(str, data))}); choose one with --key")
        net = data[key]
    else:
        net = data
    sd, classes = module_state_dict(net)
    top = classes.get("", "?")
    kwargs = {}
    if isinstance(net, PersistentStub):
        kwargs = dict(net.state.get("_init_kwargs") or {})
    if top == "EDMPrecond" or "model" in classes:
        model_class = classes.get("model", "?")
        if model_class != "SongUNet":
            die(f"the network's model is a {model_class}; pirf implements EDM's SongUNet (DDPM++) only")
        sd = collections.OrderedDict((k[len("model."):], v) for k, v in sd.items()
                                     if k.startswith("model."))
    elif top != "SongUNet":
        die(f"'{key}' of {path} is a {top}, not an EDMPrecond or SongUNet")
    return sd, kwargs


# ---- reading a state dict --------------------------------------------------------------------

def load_state_dict(path):
    try:
        import torch
    except ImportError:
        die("reading a PyTorch state dict needs torch (Debian: apt-get install python3-torch)")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds
        die(f"cannot read the state dict {path}: {e}")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if isinstance(obj, dict) and not any(hasattr(v, "shape") for v in obj.values()):
        for k in ("state_dict", "ema", "net", "model"):  # a training script's dict around it
            if k in obj:
                obj = obj[k].state_dict() if hasattr(obj[k], "state_dict") else obj[k]
                break
    if not isinstance(obj, dict):
        die(f"{path} does not hold a state dict")
    sd = collections.OrderedDict((k, _to_numpy(v)) for k, v in obj.items())
    if any(k.startswith("model.") for k in sd):
        sd = collections.OrderedDict((k[len("model."):], v) for k, v in sd.items()
                                     if k.startswith("model."))
    return sd


# ---- validation and writing -------------------------------------------------------------------

def pirf_tensors(sd, where):
    """Drop EDM's resample_filter buffers (checked to be pirf's [1, 1] filter); refuse anything
    else pirf does not implement."""
    out, dropped = collections.OrderedDict(), []
    for k, v in sd.items():
        if k.endswith(".resample_filter"):
            if v.shape != PIRF_FILTER.shape or not np.allclose(v, PIRF_FILTER):
                die(f"{where}: '{k}' is not the [1, 1] resampling filter pirf implements "
                    f"(shape {tuple(v.shape)}); the network was built with another resample_filter")
            dropped.append(k)
            continue
        if k.endswith(".freqs"):
            die(f"{where}: '{k}' is a Fourier embedding (NCSN++); pirf implements the positional "
                "embedding of DDPM++ only")
        if not np.issubdtype(v.dtype, np.floating):
            die(f"{where}: tensor '{k}' is not floating point ({v.dtype})")
        out[k] = v
    if not out:
        die(f"{where}: no SongUNet tensors found")
    if not any(k.startswith("enc.") for k in out) or not any(k.startswith("dec.") for k in out):
        die(f"{where}: the tensors ({list(out)[:3]}, ...) are not a SongUNet's (enc.*, dec.*)")
    return out, dropped


def write_checkpoint(path, sd, groups=("net", "ema", "ref"), deck="", extra=None):
    """A pirf checkpoint (docs/checkpoints.md) holding the same weights in each group."""
    with h5py.File(path + ".partial", "w") as f:
        f.attrs["format_version"] = np.int64(1)
        f.attrs["kind"] = "pirf checkpoint"
        f.attrs["step"] = np.int64(0)
        f.attrs["n_img"] = np.int64(0)
        f.attrs["rng_counters"] = np.zeros(4, dtype=np.uint64)
        f.attrs["deck"] = deck
        for k, v in (extra or {}).items():
            f.attrs[k] = v
        for g in groups:
            grp = f.create_group(g)
            for k, v in sd.items():
                grp.create_dataset(k, data=np.ascontiguousarray(v, dtype=np.float32))
    import os
    os.replace(path + ".partial", path)


def model_keys(kw):
    """The pirf deck keys for EDM's SongUNet constructor arguments."""
    keys = {}
    if "img_resolution" in kw:
        keys["grid.resolution"] = kw["img_resolution"]
    for ek, pk in (("model_channels", "model.channels"), ("channel_mult", "model.channel_mult"),
                   ("num_blocks", "model.num_blocks"), ("attn_resolutions", "model.attn_resolutions"),
                   ("dropout", "model.dropout")):
        if ek in kw:
            v = kw[ek]
            keys[pk] = list(v) if isinstance(v, (list, tuple)) else v
    for ek, want in (("embedding_type", "positional"), ("encoder_type", "standard"),
                     ("decoder_type", "standard"), ("channel_mult_noise", 1), ("label_dim", 0),
                     ("resample_filter", [1, 1])):
        if ek in kw and (list(kw[ek]) if isinstance(kw[ek], (list, tuple)) else kw[ek]) != want:
            die(f"the network was built with {ek}={kw[ek]!r}; pirf implements {want!r} only")
    return keys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--key", default="ema", help="the pickle's entry to convert (default ema)")
    ap.add_argument("--groups", default="net,ema,ref", help="checkpoint groups to fill")
    ap.add_argument("--deck", help="a deck (YAML) to store as the checkpoint's deck attribute")
    a = ap.parse_args()
    with open(a.input, "rb") as f:
        head = f.read(4)
    kwargs = {}
    if head[:2] == b"PK":  # torch.save's zip format
        sd = load_state_dict(a.input)
    else:
        try:
            sd, kwargs = load_pickle(a.input, a.key)
        except SystemExit:
            raise
        except Exception as e:  # an old-style torch.save file is a pickle too
            try:
                sd = load_state_dict(a.input)
            except SystemExit:
                die(f"{a.input} is neither an EDM network pickle ({e}) nor a PyTorch state dict")
    sd, dropped = pirf_tensors(sd, a.input)
    extra, keys = {}, {}
    if kwargs:
        keys = model_keys(kwargs)
        extra["edm_init_kwargs"] = json.dumps(
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()
             if isinstance(v, (int, float, str, list, tuple, bool))})
    deck = ""
    if a.deck:
        try:
            deck = open(a.deck).read()
        except OSError as e:
            die(f"cannot read the deck {a.deck}: {e}")
    groups = [g for g in a.groups.split(",") if g]
    bad = [g for g in groups if g not in ("net", "ema", "ref")]
    if bad or not groups:
        die(f"--groups takes net, ema and/or ref, not {a.groups!r}")
    write_checkpoint(a.output, sd, groups, deck, extra)
    n = sum(v.size for v in sd.values())
    print(f"import_edm: wrote {a.output}: {len(sd)} tensors, {n:,} parameters in /{', /'.join(groups)}"
          f"; dropped {len(dropped)} resample_filter buffers (pirf's fixed [1, 1] filter)")
    if keys:
        print("import_edm: the network's deck keys: " +
              " ".join(f"{k}={json.dumps(v).replace(' ', '')}" for k, v in keys.items()))


if __name__ == "__main__":
    main()
