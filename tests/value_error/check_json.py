"""Checks of value_error.json for tests/value_error/test_value_error.sh.

  check_json.py fields A.json STEPS      the promised fields; per N one entry per step, sigma
                                         decreasing from 80; relative error 0 to rounding at the
                                         last step (x_N = D(x_{N-1}; sigma_{N-1})), ratio 1 there
  check_json.py same A.json B.json       the same numbers to reduction order (the trajectories
                                         of a tiled run differ from one rank's by float rounding)
  check_json.py final A.json S.h5 N      v_mean at N is the mean residual_mse of pirf sample's
                                         file with the same seed (the same final samples)
"""
import json
import sys

import numpy as np

STATS = ("mean", "std", "p10", "p50", "p90")


def load(path):
    with open(path) as f:
        return json.load(f)


def fields(path, steps):
    d = load(path)
    for key in ("pde", "resolution", "ranks", "model", "checkpoint", "weights", "samples", "seed",
                "value", "runs"):
        assert key in d, f"no '{key}' in {path}"
    want = [int(s) for s in steps.split(",")]
    assert [r["steps"] for r in d["runs"]] == want, f"runs {[r['steps'] for r in d['runs']]} != {want}"
    for r in d["runs"]:
        N = r["steps"]
        ps = r["per_step"]
        assert len(ps) == N, f"N = {N}: {len(ps)} steps"
        assert [p["i"] for p in ps] == list(range(N))
        sig = [p["sigma"] for p in ps]
        assert abs(sig[0] - 80) < 1e-9 and all(a > b for a, b in zip(sig, sig[1:])), sig
        for p in ps:
            assert p["samples"] == d["samples"], p
            for q in ("relative_error", "ratio"):
                s = p[q]
                assert all(k in s for k in STATS), s
                assert s["p10"] <= s["p50"] <= s["p90"] and s["std"] >= 0, s
                assert all(np.isfinite(s[k]) for k in STATS), s
        last = ps[-1]
        assert last["relative_error"]["p90"] < 1e-5, f"N = {N}: last-step error {last}"
        assert abs(last["ratio"]["mean"] - 1) < 1e-5, last
        assert abs(last["v_hat_mean"] - r["v_mean"]) <= 1e-5 * r["v_mean"], (last, r["v_mean"])
        # earlier steps do estimate the value with an error (a random network: large)
        if N > 2:
            assert ps[0]["relative_error"]["mean"] > 1e-3, ps[0]
    print(f"{path}: fields ok, last-step relative error < 1e-5 at N = {want}")


def close(a, b, rtol=2e-4, atol=1e-5):
    return abs(a - b) <= atol + rtol * abs(b)


def same(pa, pb):
    a, b = load(pa), load(pb)
    assert a["samples"] == b["samples"] and len(a["runs"]) == len(b["runs"])
    worst = 0.0
    for ra, rb in zip(a["runs"], b["runs"]):
        assert ra["steps"] == rb["steps"]
        assert close(ra["v_mean"], rb["v_mean"]), (ra["v_mean"], rb["v_mean"])
        for x, y in zip(ra["per_step"], rb["per_step"]):
            assert x["sigma"] == y["sigma"]
            assert close(x["v_hat_mean"], y["v_hat_mean"]), (x, y)
            for q in ("relative_error", "ratio"):
                for k in STATS:
                    u, v = x[q][k], y[q][k]
                    worst = max(worst, abs(u - v) / (1e-5 + abs(v)))
                    assert close(u, v), f"N = {ra['steps']} i = {x['i']} {q} {k}: {u} vs {v}"
    print(f"{pa} and {pb} agree (worst scaled difference {worst:.2e})")


def final(pa, samples, N):
    import h5py
    d = load(pa)
    r = [r for r in d["runs"] if r["steps"] == int(N)][0]
    m = float(np.mean(h5py.File(samples, "r")["residual_mse"][:]))
    assert close(r["v_mean"], m, rtol=1e-5, atol=0), (r["v_mean"], m)
    print(f"v_mean {r['v_mean']:.6e} = pirf sample's mean residual MSE {m:.6e}")


if __name__ == "__main__":
    {"fields": fields, "same": same, "final": final}[sys.argv[1]](*sys.argv[2:])
