#!/usr/bin/python3
"""Check that a pirf field file explains itself to other tools.

usage: check_field_file.py FILE.h5 [FILE.h5 ...]

For every file:
* h5py: every (N, C, H, W) data set has its dimensions labelled (sample, channel, and the row and
  column coordinate names) with dimension scales attached (sample indices, channel names, physical
  coordinates from the file's grid attributes), and attributes units and description;
* the XDMF sidecar FILE.xmf beside it, read by VTK's XDMF 3 reader (vtkXdmf3Reader, ParaView's default for .xmf,
  from Debian's python3-paraview or a VTK with the IOXdmf3 module; skipped with a message when neither is installed): one time step
  per sample, the grid's dimensions, origin and spacing in physical coordinates, the attribute
  names, and every attribute's values equal to the HDF5 data;
* the same sidecar read independently with ElementTree + h5py (the hyperslab of every attribute
  resolves to the right sample and channel), which needs nothing beyond h5py.
Prints one line per file and exits non-zero on the first mismatch.
"""
import os
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np


def fail(msg):
    sys.exit(f"check_field_file: {msg}")


def attr_str(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else str(v)


def expected(f):
    """(attribute name -> (data set, channel), origin (y, x), spacing (y, x), cell centred)."""
    names = attr_str(f, "channel_names").split(",")
    pde, centring = attr_str(f, "pde"), attr_str(f, "centring")
    h, R = float(f.attrs["grid_spacing"]), int(f.attrs["resolution"])
    cell = centring == "cell"
    o = 0.5 * h if cell else 0.0
    dy = 1.0 / (R - 1) if pde == "burgers" else h
    oy = 0.0 if pde == "burgers" else o
    want = {}
    if "physical" in f:
        for c, n in enumerate(names):
            want[n] = ("physical", c)
            want[n + "_normalized"] = ("fields", c)
    else:
        for c, n in enumerate(names):
            want[n + "_normalized"] = ("fields", c)
    if "residual" in f:
        Cr = f["residual"].shape[1]
        for c in range(Cr):
            want["R" if Cr == 1 else f"R{c}"] = ("residual", c)
    return want, (oy, o), (dy, h), cell


def check_h5(path):
    with h5py.File(path, "r") as f:
        rowname = {"burgers": "t", "kolmogorov": "x"}.get(attr_str(f, "pde"), "y")
        colname = {"kolmogorov": "y"}.get(attr_str(f, "pde"), "x")
        _, origin, spacing, _ = expected(f)
        for name in ("fields", "physical", "residual"):
            if name not in f:
                continue
            d = f[name]
            labels = [d.dims[i].label for i in range(4)]
            if labels != ["sample", "channel", rowname, colname]:
                fail(f"{path}:/{name}: dimension labels {labels}")
            for i in range(4):
                if len(d.dims[i]) != 1:
                    fail(f"{path}:/{name}: dimension {i} has {len(d.dims[i])} scales attached")
            if not np.array_equal(d.dims[0][0][...], np.arange(d.shape[0])):
                fail(f"{path}:/{name}: the sample scale is not 0..N-1")
            for i, (o, s) in ((2, (origin[0], spacing[0])), (3, (origin[1], spacing[1]))):
                v = d.dims[i][0][...]
                if not np.allclose(v, o + s * np.arange(d.shape[i]), rtol=1e-12, atol=1e-14):
                    fail(f"{path}:/{name}: coordinates of dimension {i}: {v[:3]}...")
            for k in ("units", "description"):
                if k not in d.attrs:
                    fail(f"{path}:/{name} has no attribute {k}")
        chans = [c.decode() if isinstance(c, bytes) else c for c in f["fields"].dims[1][0][...]]
        if chans != attr_str(f, "channel_names").split(","):
            fail(f"{path}: channel scale {chans}")


def slab_values(xmf_dir, attr):
    """Resolve an Attribute's HDF subset (file:/set|start:stride:count:dims) with h5py."""
    item = attr.find("DataItem")
    where, subset = item.text.strip().split("|")
    fname, dset = where.split(":")
    start, stride, count, dims = ([int(v) for v in p.split()] for p in subset.split(":"))
    if stride != [1, 1, 1, 1] or count[:2] != [1, 1]:
        fail(f"attribute {attr.get('Name')}: subset {subset}")
    with h5py.File(os.path.join(xmf_dir, fname), "r") as f:
        if list(f[dset].shape) != dims or count[2:] != list(f[dset].shape[2:]):
            fail(f"attribute {attr.get('Name')}: subset {subset} of {dset} {f[dset].shape}")
        return f[dset][start[0], start[1]], dset.lstrip("/"), start[0], start[1]


def check_xml(path, xmf):
    root = ET.parse(xmf).getroot()
    coll = root.find("Domain/Grid")
    if coll.get("GridType") != "Collection":
        fail(f"{xmf}: the outer grid is not a collection")
    grids = coll.findall("Grid")
    with h5py.File(path, "r") as f:
        want, origin, spacing, cell = expected(f)
        N, C, H, W = f["fields"].shape
        if len(grids) != N:
            fail(f"{xmf}: {len(grids)} grids for {N} samples")
        for n, g in enumerate(grids):
            dims = [int(v) for v in g.find("Topology").get("Dimensions").split()]
            if dims != ([1, H + 1, W + 1] if cell else [1, H, W]):
                fail(f"{xmf}: grid {n} has mesh dimensions {dims}")
            names = [a.get("Name") for a in g.findall("Attribute")]
            if sorted(names) != sorted(want):
                fail(f"{xmf}: grid {n} attributes {names}, expected {sorted(want)}")
            for a in g.findall("Attribute"):
                vals, ds, nn, c = slab_values(os.path.dirname(xmf) or ".", a)
                if (ds, c) != want[a.get("Name")] or nn != n:
                    fail(f"{xmf}: attribute {a.get('Name')} of grid {n} points at {ds}[{nn}, {c}]")
                if a.get("Center") != ("Cell" if cell else "Node"):
                    fail(f"{xmf}: attribute centring {a.get('Center')}")
    return N


def vtk_reader():
    """VTK's XDMF reader class, from ParaView's python modules or a VTK that has it."""
    for mod in ("vtkmodules.vtkIOXdmf3", "paraview.modules.vtkIOXdmf3"):
        try:
            m = __import__(mod, fromlist=["vtkXdmf3Reader"])
            return m.vtkXdmf3Reader, mod
        except ImportError:
            continue
    return None, None


def check_vtk(path, xmf, Reader):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as SDDP

    r = Reader()
    r.SetFileName(os.path.abspath(xmf))  # the reader joins relative names without a '/'

    r.UpdateInformation()
    ts = r.GetOutputInformation(0).Get(SDDP.TIME_STEPS())
    with h5py.File(path, "r") as f:
        want, origin, spacing, cell = expected(f)
        N, C, H, W = f["fields"].shape
        if ts is None or len(ts) != N:
            fail(f"{xmf}: VTK's reader sees {0 if ts is None else len(ts)} time steps, not {N}")
        for n, t in enumerate(ts):
            r.UpdateTimeStep(t)
            img = r.GetOutputDataObject(0)
            if not img.IsA("vtkImageData"):
                fail(f"{xmf}: VTK's reader gives a {img.GetClassName()}")
            dims = img.GetDimensions()
            if tuple(dims[:2]) != ((W + 1, H + 1) if cell else (W, H)):
                fail(f"{xmf}: VTK grid dimensions {dims} for {H}x{W}")
            o, s = img.GetOrigin(), img.GetSpacing()
            vo = (origin[1] - 0.5 * spacing[1], origin[0] - 0.5 * spacing[0]) if cell else (origin[1], origin[0])
            if not (np.allclose(o[:2], vo) and np.allclose(s[:2], (spacing[1], spacing[0]))):
                fail(f"{xmf}: VTK origin {o} spacing {s}, expected {vo} {spacing[::-1]}")
            data = img.GetCellData() if cell else img.GetPointData()
            got = sorted(data.GetArrayName(i) for i in range(data.GetNumberOfArrays()))
            if got != sorted(want):
                fail(f"{xmf}: VTK sees arrays {got}, expected {sorted(want)}")
            for name, (ds, c) in want.items():
                v = vtk_to_numpy(data.GetArray(name)).reshape(H, W)  # x fastest: row-major (H, W)
                if not np.array_equal(v, f[ds][n, c]):
                    fail(f"{xmf}: VTK's {name} of sample {n} differs from {ds}[{n}, {c}]")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    Reader, mod = vtk_reader()
    if Reader is None:
        print("check_field_file: SKIP the VTK part: no VTK XDMF 3 reader (install python3-paraview; "
              "Debian's python3-vtk9 9.1 is built without the IOXdmf modules)")
    for path in sys.argv[1:]:
        xmf = os.path.splitext(path)[0] + ".xmf"
        if not os.path.isfile(xmf):
            fail(f"no XDMF sidecar {xmf} beside {path}")
        check_h5(path)
        N = check_xml(path, xmf)
        if Reader is not None:
            check_vtk(path, xmf, Reader)
        print(f"check_field_file: {path}: {N} grids, dimension scales and sidecar ok"
              + (f" (read by {mod}.vtkXdmf3Reader)" if Reader else ""))


if __name__ == "__main__":
    main()
