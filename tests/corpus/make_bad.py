#!/usr/bin/env python3
"""Make a bad input file for the corpus (tests/corpus/*.cases) from a good one.

usage: make_bad.py KIND GOOD OUT      (KIND: see the table below; GOOD: a pirf data set or checkpoint)
       make_bad.py KIND - OUT         (kinds that need no good file: not_hdf5, empty, hdf5_empty)

Each kind is one defect, so that a case shows that this defect alone is caught.
"""
import shutil
import sys

import h5py
import numpy as np


def first_tensor(f, group):
    return sorted(f[group].keys())[0]


def set_value(path, where, value):
    with h5py.File(path, "r+") as f:
        d = f[where[0]]
        a = d[...]
        a[where[1]] = value
        d[...] = a


def replace_fields(path, make):
    with h5py.File(path, "r+") as f:
        old = f["fields"][...]
        del f["fields"]
        make(f, old)


def set_attr(path, name, value, obj="/"):
    with h5py.File(path, "r+") as f:
        f[obj].attrs[name] = value


def del_attr(path, name, obj="/"):
    with h5py.File(path, "r+") as f:
        del f[obj].attrs[name]


def tensor_edit(path, group, edit):
    with h5py.File(path, "r+") as f:
        name = first_tensor(f, group)
        edit(f[group], name)


def replace_tensor(g, name, data):
    del g[name]
    g.create_dataset(name, data=data)


KINDS = {
    # ---- data sets (/fields (N, C, H, W) float32 and attributes) ----
    "nan_field": lambda p: set_value(p, ("fields", (3, 1, 2, 5)), np.nan),
    "inf_field": lambda p: set_value(p, ("fields", (5, 0, 0, 0)), np.inf),
    "ninf_field": lambda p: set_value(p, ("fields", (0, 1, 15, 15)), -np.inf),
    "nan_everywhere": lambda p: set_value(p, ("fields", Ellipsis), np.nan),
    "wrong_pde": lambda p: set_attr(p, "pde", "poisson"),
    "unknown_pde": lambda p: set_attr(p, "pde", "navier-stokes"),
    "pde_not_a_string": lambda p: set_attr(p, "pde", np.int64(3)),
    "wrong_channel_names": lambda p: set_attr(p, "channel_names", "u,a"),
    "three_channel_names": lambda p: set_attr(p, "channel_names", "a,u,v"),
    "version_99": lambda p: set_attr(p, "format_version", np.int64(99)),
    "version_0": lambda p: set_attr(p, "format_version", np.int64(0)),
    "version_negative": lambda p: set_attr(p, "format_version", np.int64(-1)),
    "version_string": lambda p: set_attr(p, "format_version", "1"),
    "version_float": lambda p: set_attr(p, "format_version", 1.5),
    "no_version": lambda p: del_attr(p, "format_version"),
    "zero_samples": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", shape=(0,) + a.shape[1:], dtype="f4")),
    "no_fields": lambda p: replace_fields(p, lambda f, a: f.create_dataset("other", data=a)),
    "fields_is_a_group": lambda p: replace_fields(p, lambda f, a: f.create_group("fields")),
    "fields_3d": lambda p: replace_fields(p, lambda f, a: f.create_dataset("fields", data=a[:, 0])),
    "fields_5d": lambda p: replace_fields(p, lambda f, a: f.create_dataset("fields", data=a[:, None])),
    "fields_float64": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a.astype("f8"))),
    "fields_int32": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a.astype("i4"))),
    "fields_8x8": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a[:, :, ::2, ::2].copy())),
    "fields_3_channels": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=np.concatenate([a, a[:, :1]], axis=1))),
    "fields_1_channel": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a[:, :1].copy())),
    "fields_one_sample": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a[:1].copy())),
    "fields_scalar": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=np.float32(1.0))),
    "fields_non_square": lambda p: replace_fields(
        p, lambda f, a: f.create_dataset("fields", data=a[:, :, :8, :].copy())),
    # ---- checkpoints (/net, /ema, /adam_m, /adam_v groups of float32 tensors) ----
    "ck_nan_weight": lambda p: tensor_edit(p, "ema", lambda g, n: set_in(g, n, np.nan)),
    "ck_nan_net_weight": lambda p: tensor_edit(p, "net", lambda g, n: set_in(g, n, np.nan)),
    "ck_inf_weight": lambda p: tensor_edit(p, "ema", lambda g, n: set_in(g, n, np.inf)),
    "ck_nan_adam_v": lambda p: tensor_edit(p, "adam_v", lambda g, n: set_in(g, n, np.nan)),
    "ck_version_99": lambda p: set_attr(p, "format_version", np.int64(99)),
    "ck_no_version": lambda p: del_attr(p, "format_version"),
    "ck_wrong_pde": lambda p: set_attr(p, "pde", "poisson"),
    "ck_wrong_pde_in_deck": lambda p: ck_deck_only_pde(p, "poisson"),
    "ck_wrong_channel_names": lambda p: set_attr(p, "channel_names", "u,a"),
    "ck_missing_tensor": lambda p: tensor_edit(p, "ema", lambda g, n: g.__delitem__(n)),
    "ck_extra_tensor": lambda p: tensor_edit(
        p, "ema", lambda g, n: g.create_dataset("zzz.extra.weight", data=np.zeros(3, "f4"))),
    "ck_wrong_shape": lambda p: tensor_edit(
        p, "ema", lambda g, n: replace_tensor(g, n, np.zeros((2, 2), "f4"))),
    "ck_int_tensor": lambda p: tensor_edit(
        p, "ema", lambda g, n: replace_tensor(g, n, g[n][...].astype("i4"))),
    "ck_no_ema": lambda p: ck_del_group(p, "ema"),
    "ck_no_adam": lambda p: ck_del_group(p, "adam_m"),
    "ck_no_step": lambda p: del_attr(p, "step"),
    "ck_rng_short": lambda p: set_attr(p, "rng_counters", np.zeros(2, np.uint64)),
}


def set_in(g, name, value):
    a = g[name][...]
    a.flat[0] = value
    g[name][...] = a


def ck_del_group(path, group):
    with h5py.File(path, "r+") as f:
        del f[group]


def ck_deck_only_pde(path, pde):
    """An older checkpoint (no pde attribute) whose stored deck names another PDE."""
    with h5py.File(path, "r+") as f:
        for a in ("pde", "channel_names"):
            if a in f.attrs:
                del f.attrs[a]
        deck = f.attrs["deck"]
        if isinstance(deck, bytes):
            deck = deck.decode()
        f.attrs["deck"] = deck.replace("pde:\n  name: darcy", "pde:\n  name: " + pde)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kind, good, out = sys.argv[1:]
    if kind == "not_hdf5":
        with open(out, "w") as f:
            f.write("this is not an HDF5 file\n" * 100)
        return
    if kind == "empty":
        open(out, "w").close()
        return
    if kind == "hdf5_empty":
        h5py.File(out, "w").close()
        return
    if kind in ("truncated", "ck_truncated"):
        data = open(good, "rb").read()
        open(out, "wb").write(data[: len(data) // 2])
        return
    if kind in ("truncated_tail", "ck_truncated_tail"):
        data = open(good, "rb").read()
        open(out, "wb").write(data[:-1000])
        return
    if kind in ("garbage_tail", "ck_garbage_head"):
        data = bytearray(open(good, "rb").read())
        for i in range(0, 512):
            data[i] ^= 0x5A
        open(out, "wb").write(bytes(data))
        return
    if kind not in KINDS:
        sys.exit("unknown kind '%s'; kinds: %s" % (kind, ", ".join(sorted(KINDS))))
    shutil.copyfile(good, out)
    KINDS[kind](out)


if __name__ == "__main__":
    main()
