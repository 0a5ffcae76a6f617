#!/usr/bin/python3
"""Compare /fields of two pirf HDF5 files channel by channel.

usage: compare_fields.py A.h5 B.h5 TOL0 [TOL1 ...]

TOLc is the largest allowed |A - B| in channel c (0 means bit-identical); the last tolerance
repeats for further channels. Prints the worst difference per channel; exits 1 on a mismatch
(or when the shapes differ), 0 otherwise.
"""
import sys

import h5py
import numpy as np


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    a_path, b_path, tols = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
    with h5py.File(a_path, "r") as fa, h5py.File(b_path, "r") as fb:
        a, b = fa["fields"][...], fb["fields"][...]
    if a.shape != b.shape:
        print(f"FAIL shapes differ: {a.shape} vs {b.shape}")
        return 1
    ok = True
    for c in range(a.shape[1]):
        tol = tols[min(c, len(tols) - 1)]
        d = float(np.max(np.abs(a[:, c].astype(np.float64) - b[:, c])))
        same = np.array_equal(a[:, c], b[:, c])
        good = same if tol == 0 else d <= tol
        ok &= good
        print(f"channel {c}: max |diff| = {d:.3e} (allowed {tol:g}){' identical' if same else ''}"
              f" {'ok' if good else 'FAIL'}")
    print("compare_fields: %d passed, %d failed" % ((1, 0) if ok else (0, 1)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
