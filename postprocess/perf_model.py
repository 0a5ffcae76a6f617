#!/usr/bin/python3
"""A calibrated performance model of pirf's training step (docs/scaling.md, "The model").

usage: perf_model.py validate STUDY/scaling.json [...] [--cores C] [--json OUT]
       perf_model.py project  STUDY/scaling.json [...] --paper PAPER/scaling.json [--cores C]
                              [--json OUT]

The step time of a run at P ranks (g data groups x t tiles a sample) is predicted from the
study's 1-rank run and four communication constants:

  T(P) = C1 * w * o  +  s * n_h * (k * a_h + b / B_h)         halo exchange and its adjoint
                     +  s * n_r * a_r * ceil(log2 t)           GroupNorm and attention reductions
                     +  2 * (a_r * ceil(log2 P) + (P-1)/P * S / B_c)   Adam's reduce-scatter and
                                                                        allgather of S bytes
  C1   the 1-rank step time (measured; its communication events are local copies there),
  w    the work of one rank against the 1-rank run: samples per group x pixels per tile,
  o    oversubscription: max(1, P / cores) (ranks share the cores of the machine),
  s    samples a group handles per step, n_h, n_r the halo calls and reductions per sample
       (counted by -log_view), k the neighbours of a tile (2 for an inner tile of a row of
       tiles), b the halo bytes per call and rank (measured at 2 tiles, scaled with the tile's
       shared edge), S the trainable parameters' bytes.
The constants are fitted on the runs with 2 to `cores` ranks, from what their communication events
cost beyond the 1-rank run's (scaled by w): a_h, B_h (latency, bandwidth of halo messages) by least
squares over the tiled runs' HaloExchange + HaloAdjoint, a_r from the GroupNorm reductions, B_c
from Adam's reduce-scatter + allgather. `validate` prints predicted
against measured for every run; `project` adds the paper-scale projections (a cluster of 128-core
nodes with a stated interconnect: INTER_LATENCY_S, INTER_BANDWIDTH_B_S below).
"""
import argparse
import json
import math
import sys

INTER_LATENCY_S = 2e-6          # an assumed 100 Gb/s interconnect with 2 us latency
INTER_BANDWIDTH_B_S = 12.5e9
CORES_PER_NODE = 128
HALO = ("HaloExchange", "HaloAdjoint")
REDUCTIONS = ("GroupNormAllred", "AttnGatherKV", "AttnRedScatKV")
ADAM = ("AdamRedScatter", "AdamAllgather")


def ev(r, name, key="time_s"):
    return r["events"].get(name, {}).get(key, 0.0)


def per_step(r, names, key="time_s"):
    return sum(ev(r, n, key) for n in names) / r["steps"]


def samples_per_group(r):
    return r["batch"] / r["groups"]


def tile_pixels(r):
    return (r["grid"] / r["tiles"][0]) * (r["grid"] / r["tiles"][1])


def neighbours(tiles):
    """Neighbours of the busiest tile (8-point stencil of tiles, no periodic wrap)."""
    px, py = tiles
    nx, ny = min(px - 1, 2), min(py - 1, 2)
    return (nx + 1) * (ny + 1) - 1


def shared_edge(r):
    """Pixels of the busiest tile's edge that a neighbour needs (the halo per plane)."""
    px, py = r["tiles"]
    ex, ey = r["grid"] / px, r["grid"] / py
    return (2 if px > 2 else (1 if px == 2 else 0)) * ey + (2 if py > 2 else (1 if py == 2 else 0)) * ex


def work(r0, r):
    """The work of a rank of run r against the 1-rank run r0: samples per group x tile pixels."""
    return (samples_per_group(r) * tile_pixels(r)) / (samples_per_group(r0) * tile_pixels(r0))


def excess(r0, r, names):
    """What the events cost at run r beyond their 1-rank cost scaled to r's work (on one rank they
    are local copies: the frame of a padded tile, a reduction over one rank)."""
    return max(per_step(r, names) - per_step(r0, names) * work(r0, r), 0.0)


def load(paths):
    studies = []
    for p in paths:
        with open(p) as f:
            s = json.load(f)
        if s["stage"] not in ("finetune", "pretrain"):
            sys.exit(f"perf_model.py: {p} is a {s['stage']} study; the model is of training steps")
        s["path"] = p
        studies.append(s)
    return studies


def reference(s):
    r1 = [r for r in s["records"] if r["ranks"] == 1]
    if not r1:
        sys.exit(f"perf_model.py: {s['path']} has no 1-rank run to calibrate the compute from")
    return r1[0]


def fit(studies, cores):
    """The communication constants from the runs with 2..cores ranks: what their communication
    events cost beyond the 1-rank run's (docs/scaling.md)."""
    halo_rows, red, adam = [], [], []
    for s in studies:
        r0 = reference(s)
        for r in s["records"]:
            if r["ranks"] < 2 or r["ranks"] > cores:
                continue
            t = r["tiles"][0] * r["tiles"][1]
            if t > 1:
                msgs = per_step(r, HALO, "messages") / r["ranks"]
                bytes_ = sum(ev(r, n, "messages") * ev(r, n, "avg_len") for n in HALO) / r["steps"] / r["ranks"]
                halo_rows.append((msgs, bytes_, excess(r0, r, HALO)))
                n_red = per_step(r, ("GroupNormAllred",), "count")
                if n_red:
                    red.append(excess(r0, r, ("GroupNormAllred",)) / n_red / math.ceil(math.log2(t)))
            if r.get("trainable_bytes"):
                adam.append((r, excess(r0, r, ADAM)))
    model = {"cores": cores}
    if halo_rows:  # least squares t = msgs * a + bytes / B, both >= 0
        sxx = sum(m * m for m, _, _ in halo_rows)
        syy = sum(b * b for _, b, _ in halo_rows)
        sxy = sum(m * b for m, b, _ in halo_rows)
        sxt = sum(m * t for m, _, t in halo_rows)
        syt = sum(b * t for _, b, t in halo_rows)
        det = sxx * syy - sxy * sxy
        if len(halo_rows) >= 2 and abs(det) > 1e-30 * sxx * syy:
            a, inv_b = (syy * sxt - sxy * syt) / det, (sxx * syt - sxy * sxt) / det
        else:
            a, inv_b = 0.0, sxt / sxy if sxy else 0.0
        if a < 0 or inv_b <= 0:  # a degenerate fit: latency alone, or bandwidth alone
            a = max(sum(t for *_, t in halo_rows) / max(sum(m for m, *_ in halo_rows), 1e-30), 0)
            inv_b = 0.0 if a > 0 else 1e-10
        model["halo_latency_s"], model["halo_bandwidth_B_s"] = a, (1.0 / inv_b if inv_b else math.inf)
    model["reduction_latency_s"] = sorted(red)[len(red) // 2] if red else 0.0
    if adam:
        bw = []
        for r, t in adam:
            P = r["ranks"]
            lat = 2 * model["reduction_latency_s"] * math.ceil(math.log2(P))
            bw.append(2 * (P - 1) / P * r["trainable_bytes"] / max(t - lat, 1e-9))
        model["collective_bandwidth_B_s"] = sorted(bw)[len(bw) // 2]
    return model


def predict(model, r0, r, cores=None, halo=None, inter=False, calls=1.0):
    """Predicted step time of run r from the 1-rank run r0 of its study (and the halo shape of a
    2-tile run, `halo`, for layouts the study did not run; `calls` scales its halo calls and
    reductions, for more sampler steps than it ran)."""
    cores = cores or model["cores"]
    P, t = r["ranks"], r["tiles"][0] * r["tiles"][1]
    over = max(1.0, P / cores)
    T = r0["step_time_s"] * work(r0, r) * over  # the 1-rank step, communication events included
    spg = samples_per_group(r)
    if t > 1:
        h = halo or r
        calls_ps = calls * per_step(h, HALO, "count") / samples_per_group(h)
        bytes_ps = (sum(ev(h, n, "messages") * ev(h, n, "avg_len") for n in HALO) / h["steps"]
                    / max(per_step(h, HALO, "messages"), 1e-30))  # bytes a message, at h's shape
        bytes_msg = bytes_ps * (shared_edge(r) / max(neighbours(r["tiles"]), 1)) / max(
            shared_edge(h) / max(neighbours(h["tiles"]), 1), 1e-30)
        a, B = model.get("halo_latency_s", 0.0), model.get("halo_bandwidth_B_s", math.inf)
        if inter:  # tiles of a sample beyond one node talk over the interconnect
            a, B = max(a, INTER_LATENCY_S), min(B, INTER_BANDWIDTH_B_S)
        k = neighbours(r["tiles"])
        T += spg * calls_ps * k * (a + bytes_msg / B) * over
        n_red = calls * per_step(h, REDUCTIONS, "count") / samples_per_group(h)
        T += spg * n_red * model["reduction_latency_s"] * math.ceil(math.log2(t)) * over
    S = r.get("trainable_bytes") or r0.get("trainable_bytes") or 0
    if P > 1 and S:
        a = model["reduction_latency_s"]
        B = model.get("collective_bandwidth_B_s", math.inf)
        if inter:
            a, B = max(a, INTER_LATENCY_S), min(B, INTER_BANDWIDTH_B_S)
        T += 2 * (a * math.ceil(math.log2(P)) + (P - 1) / P * S / B)
    return T


def validate(studies, model):
    rows = []
    for s in studies:
        r0 = reference(s)
        halo = next((r for r in s["records"] if r["tiles"][0] * r["tiles"][1] > 1), None)
        for r in s["records"]:
            p = predict(model, r0, r, halo=halo)
            rows.append({"study": s["path"], "stage": s["stage"], "mode": s["mode"],
                         "layout": s["layout"], "ranks": r["ranks"], "tiles": r["tiles"],
                         "groups": r["groups"], "grid": r["grid"], "batch": r["batch"],
                         "measured_s": r["step_time_s"], "predicted_s": p,
                         "error": p / r["step_time_s"] - 1,
                         "fitted": 2 <= r["ranks"] <= model["cores"]})
    return rows


def print_validation(rows, model):
    print(f"constants: halo latency {model.get('halo_latency_s', 0) * 1e6:.3g} us, halo bandwidth "
          f"{model.get('halo_bandwidth_B_s', 0) / 1e9:.3g} GB/s, reduction latency "
          f"{model['reduction_latency_s'] * 1e6:.3g} us, collective bandwidth "
          f"{model.get('collective_bandwidth_B_s', 0) / 1e9:.3g} GB/s ({model['cores']} cores)\n")
    print("| study | ranks | tiles x groups | grid | batch | measured s/step | predicted | error |")
    print("|---|---|---|---|---|---|---|---|")
    for x in rows:
        print(f"| {x['stage']} {x['mode']} {x['layout']} | {x['ranks']} | "
              f"[{x['tiles'][0]}, {x['tiles'][1]}] x {x['groups']} | {x['grid']}^2 | {x['batch']} | "
              f"{x['measured_s']:.3g} | {x['predicted_s']:.3g} | {100 * x['error']:+.0f} %"
              f"{' (fitted)' if x['fitted'] else ''} |")


# ---- projections -------------------------------------------------------------------------------

def info_memory(path):
    """From `pirf info` output: MiB per sample and rank of the work and of one (truncated) tape,
    the parameter arena per copy, and the trainable share under layer-wise truncation."""
    import re
    t = open(path).read()
    g = lambda rx: float(re.search(rx, t).group(1).replace(",", ""))  # noqa: E731
    return {"work": g(r"forward \+ backward work[^\n]*?([0-9.]+) MiB"),
            "tape": g(r"one tape \(what[^\n]*?([0-9.]+) MiB"),
            "tape_truncated": g(r"one tape truncated[^\n]*?([0-9.]+) MiB"),
            "arena": g(r"parameter arena: ([0-9.]+) MiB"),
            "trainable_share": g(r"trainable with layer-wise truncation[^\n]*\(([0-9.]+)%\)") / 100,
            "grid": int(re.search(r"for \w+: (\d+)x", t).group(1))}


MPI_BASE_MIB = 120.0  # what a rank holds before any array: MPI, PETSc, HDF5, the code (measured)


def memory_mib(info, grid, tiles, K=2, truncated=True, ranks=None):
    """Peak memory of a rank in a PIRF step (K taped steps keep K + 1 tapes) on a grid^2 field
    split over `tiles` ranks: activations scale with the pixels of a tile, the four parameter
    copies do not, Adam's two moments are sharded over all ranks."""
    ranks = ranks or tiles
    scale = (grid / info["grid"]) ** 2 / tiles
    tape = info["tape_truncated"] if truncated else info["tape"]
    share = info["trainable_share"] if truncated else 1.0
    return (MPI_BASE_MIB + 4 * info["arena"] + 2 * info["arena"] * share / ranks
            + ((K + 1) * tape + info["work"]) * scale)


def layouts(max_ranks, batch, grid, levels, min_tile=16):
    """(groups, [px, py]) with groups | batch, tiles of at least min_tile pixels a side and a
    multiple of 2^(levels-1), and groups * px * py <= max_ranks."""
    out = []
    sides = [1, 2, 4, 8, 16, 32, 64]
    for g in range(1, batch + 1):
        if batch % g:
            continue
        for px in sides:
            for py in sides:
                if py > px or g * px * py > max_ranks:
                    continue
                tx, ty = grid // px, grid // py
                if min(tx, ty) < min_tile or tx % 2 ** (levels - 1) or ty % 2 ** (levels - 1):
                    continue
                out.append((g, [px, py]))
    return out


def project_run(model, study, batch, steps_total, nodes_list, N=None, levels=3, label=""):
    """The best layout and time of a paper-scale run per node count, from a 1- and 2-tile study
    of its network (the time per step of N steps extrapolated from the study's N by its measured
    no-grad sampler steps)."""
    r0 = reference(study)
    halo = next((r for r in study["records"] if r["tiles"][0] * r["tiles"][1] > 1), None)
    base, calls = dict(r0), 1.0
    if N is not None:  # more no-grad steps: each costs the measured SamplerStep time
        one = per_step(r0, ("SamplerStep",)) / max(per_step(r0, ("SamplerStep",), "count"), 1)
        base["step_time_s"] = r0["step_time_s"] + (N - study["sampler_steps_N"]) * one
        calls = base["step_time_s"] / r0["step_time_s"]  # halo calls and reductions grow alike
    rows = []
    for nodes in nodes_list:
        best = None
        for g, tiles in layouts(nodes * CORES_PER_NODE, batch, r0["grid"], levels):
            r = {"ranks": g * tiles[0] * tiles[1], "tiles": tiles, "groups": g, "grid": r0["grid"],
                 "batch": batch, "trainable_bytes": r0.get("trainable_bytes")}
            T = predict(model, base, r, cores=nodes * CORES_PER_NODE, halo=halo,
                        inter=r["ranks"] > CORES_PER_NODE, calls=calls)
            if best is None or T < best[0]:
                best = (T, g, tiles, r["ranks"])
        T, g, tiles, ranks = best
        rows.append({"run": label, "nodes": nodes, "groups": g, "tiles": tiles, "ranks": ranks,
                     "step_s": T, "total_h": T * steps_total / 3600.0})
    return rows


def project(model, a):
    out = {"assumptions": {"cores_per_node": CORES_PER_NODE, "inter_latency_s": INTER_LATENCY_S,
                           "inter_bandwidth_B_s": INTER_BANDWIDTH_B_S,
                           "core_rate": "this machine's, measured (Zen 4, AVX-512)"}}
    nodes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    rows = []
    if a.paper:
        st = load([a.paper])[0]
        st["sampler_steps_N"] = a.paper_n
        rows += project_run(model, st, 40, 4500, nodes, N=20, label="PIRF fine-tuning, 4,500 "
                            "iterations of 40 (DDPM++ 128^2, N = 20, K = 2)")
        rows += project_run(model, st, 40, 4500, [1], N=20, label="the same on this machine")
        rows[-1].update(cores=model["cores"])
    if a.paper_pretrain:
        st = load([a.paper_pretrain])[0]
        steps = int(20000e3 / 60)
        rows += project_run(model, st, 60, steps, nodes,
                            label="pretraining, 20,000 kimg at batch 60 (DDPM++ 128^2)")
    out["runs"] = rows
    print("\n| run | nodes | layout (groups x tiles) | ranks | s/step | total |")
    print("|---|---|---|---|---|---|")
    for x in rows:
        tot = x["total_h"]
        print(f"| {x['run']} | {x['nodes']} | {x['groups']} x [{x['tiles'][0]}, {x['tiles'][1]}] | "
              f"{x['ranks']} | {x['step_s']:.3g} | "
              f"{tot:.3g} h ({tot / 24:.3g} days) |")
    if a.info:
        info = info_memory(a.info)
        mem = []
        for grid in (128, 1024, 4096):
            for t in (1, 4, 16, 64, 256):
                if grid // int(math.isqrt(t)) < 16:
                    continue
                mem.append({"grid": grid, "tiles": t,
                            "mib_layerwise": memory_mib(info, grid, t),
                            "mib_all": memory_mib(info, grid, t, truncated=False)})
        out["memory"] = mem
        print("\n| field | tiles a sample | MiB per rank, layer-wise (K = 2) | all trainable |")
        print("|---|---|---|---|")
        for m in mem:
            print(f"| {m['grid']}^2 | {m['tiles']} | {m['mib_layerwise']:,.0f} | {m['mib_all']:,.0f} |")
    return out


def main(argv):
    ap = argparse.ArgumentParser(prog="perf_model.py", description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["validate", "project"])
    ap.add_argument("studies", nargs="+")
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine the studies ran on")
    ap.add_argument("--paper", help="project: a 1- and 2-tile fine-tuning study of the paper network")
    ap.add_argument("--paper-n", type=int, default=4, help="the N (sampler steps) of that study")
    ap.add_argument("--paper-pretrain", help="project: a 1- and 2-tile pretraining study of it")
    ap.add_argument("--info", help="project: `pirf info` of the paper network (memory per rank)")
    ap.add_argument("--json")
    a = ap.parse_args(argv[1:])
    studies = load(a.studies)
    model = fit(studies, a.cores)
    rows = validate(studies, model)
    print_validation(rows, model)
    out = {"model": model, "validation": rows}
    if a.command == "project":
        out["projection"] = project(model, a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
