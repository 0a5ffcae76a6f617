#!/usr/bin/python3
"""A calibrated performance model of pirf's training step (docs/scaling.md, "The model").

usage: perf_model.py validate STUDY/scaling.json [...] [--check STUDY/scaling.json ...] [--cores C]
       perf_model.py project  STUDY/scaling.json [...] --paper PAPER/scaling.json [--paper-n N]
                              [--paper-pretrain PRE/scaling.json] [--info INFO.txt]
                              [--mem-info INFO.txt --mem-results RESULTS.txt] [--json OUT]

The step time of a run at P ranks (g data groups x t tiles a sample) is predicted from its
study's 1-rank run (scaling.py records):

  T(P) = C o                                          compute, C = C1 w
       + [t > 1] (a_h n_h + e_h C)                    halo exchanges: latency and synchronization
       + [t > 1] (a_r n_r ceil(log2 t) + e_r C)       GroupNorm and attention reductions
       + [P > 1] 2 (a_r ceil(log2 P) + (P-1)/P S / B_c)   Adam's reduce-scatter and allgather
  C1   the 1-rank step time (measured; its communication events are local copies there),
  w    a rank's work against the 1-rank run: samples per group x pixels per tile,
  o    oversubscription: 1, or k P / cores when the ranks outnumber the cores,
  n_h  halo messages of a rank per step: the halo calls (counted by -log_view) x its neighbours,
  n_r  reductions of a rank per step (counted), S the trainable parameters' bytes.
a (latency per message or reduction) and e (the share of the compute lost waiting for the
slowest tile at each synchronization) are fitted, per kind, by least squares on what the events of
the tiled runs with 2..cores ranks cost beyond the 1-rank run's (scaled by w); B_c on the data-group
runs; k on the oversubscribed data-group runs. The halo bandwidth is not resolved at these sizes
(the times follow the message count and the compute, not the bytes). `validate` prints predicted
against measured for every run of every study, --check studies being validated only, never fitted;
`project` adds the paper-scale projections on a cluster of 128-core nodes with a stated
interconnect (INTER_LATENCY_S, INTER_BANDWIDTH_B_S) and the memory per rank.
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


def work(r0, r):
    """The work of a rank of run r against the 1-rank run r0: samples per group x tile pixels."""
    return (samples_per_group(r) * tile_pixels(r)) / (samples_per_group(r0) * tile_pixels(r0))


def excess(r0, r, names):
    """What the events cost at run r beyond their 1-rank cost scaled to r's work (on one rank they
    are local copies: the frame of a padded tile, a reduction over one rank)."""
    return max(per_step(r, names) - per_step(r0, names) * work(r0, r), 0.0)


def fail(msg):
    print(f"perf_model.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load(paths):
    studies = []
    for p in paths:
        try:
            with open(p) as f:
                s = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"cannot read the study '{p}' ({e}); give a scaling.json of scaling.py")
        if s.get("stage") not in ("finetune", "pretrain"):
            fail(f"{p} is a {s.get('stage')} study; the model is of training steps (finetune, "
                 "pretrain)")
        s["path"] = p
        studies.append(s)
    return studies


def reference(s):
    r1 = [r for r in s["records"] if r["ranks"] == 1]
    if not r1:
        fail(f"{s['path']} has no 1-rank run to calibrate the compute from; add --ranks 1")
    return r1[0]


def lsq2(rows):
    """(a, e) >= 0 minimising sum (a x + e y - t)^2 over rows (x, y, t)."""
    sxx = sum(x * x for x, _, _ in rows)
    syy = sum(y * y for _, y, _ in rows)
    sxy = sum(x * y for x, y, _ in rows)
    sxt = sum(x * t for x, _, t in rows)
    syt = sum(y * t for _, y, t in rows)
    det = sxx * syy - sxy * sxy
    if len(rows) >= 2 and det > 1e-12 * sxx * syy:
        a, e = (syy * sxt - sxy * syt) / det, (sxx * syt - sxy * sxt) / det
        if a >= 0 and e >= 0:
            return a, e
    # one parameter alone, whichever fits better
    a, e = (sxt / sxx if sxx else 0.0), (syt / syy if syy else 0.0)
    ra = sum((a * x - t) ** 2 for x, _, t in rows)
    re_ = sum((e * y - t) ** 2 for _, y, t in rows)
    return (max(a, 0.0), 0.0) if ra <= re_ else (0.0, max(e, 0.0))


def counts(r, h=None, calls=1.0):
    """Halo messages and reductions of a rank per step at r's layout, from the counts of run h
    (r itself by default) scaled to r's samples per group and neighbours."""
    h = h or r
    spg = samples_per_group(r) / samples_per_group(h)
    halo_calls = calls * per_step(h, HALO, "count") * spg
    n_red = calls * per_step(h, REDUCTIONS, "count") * spg
    return halo_calls * neighbours(r["tiles"]), n_red


def fit(studies, cores):
    """The constants from the runs of the fitted studies (docs/scaling.md)."""
    halo_rows, red_rows, adam, over = [], [], [], []
    for s in studies:
        r0 = reference(s)
        for r in s["records"]:
            if r["ranks"] < 2:
                continue
            t = r["tiles"][0] * r["tiles"][1]
            C = r0["step_time_s"] * work(r0, r)
            if r["ranks"] <= cores and t > 1:
                n_h, n_r = counts(r)
                halo_rows.append((n_h, C, excess(r0, r, HALO)))
                red_rows.append((n_r * math.ceil(math.log2(t)), C, excess(r0, r, REDUCTIONS)))
            if r["ranks"] <= cores and t == 1 and r.get("trainable_bytes"):
                adam.append((r, excess(r0, r, ADAM)))
            if r["ranks"] > cores and t == 1:
                over.append((r, C))
    model = {"cores": cores}
    model["halo_latency_s"], model["halo_sync_share"] = lsq2(halo_rows) if halo_rows else (0, 0)
    model["reduction_latency_s"], model["reduction_sync_share"] = (lsq2(red_rows) if red_rows
                                                                    else (0, 0))
    model["collective_bandwidth_B_s"] = math.inf
    if adam:
        bw = []
        for r, t in adam:
            P = r["ranks"]
            lat = 2 * model["reduction_latency_s"] * math.ceil(math.log2(P))
            bw.append(2 * (P - 1) / P * r["trainable_bytes"] / max(t - lat, 1e-9))
        model["collective_bandwidth_B_s"] = sorted(bw)[len(bw) // 2]
    model["oversubscription_factor"] = 1.0
    if over:  # k: what ranks that share cores lose beyond sharing them (switches, caches)
        ks = []
        for r, C in over:
            rest = r["step_time_s"] - adam_time(model, r, r.get("trainable_bytes") or 0)
            ks.append(rest / (C * r["ranks"] / cores))
        model["oversubscription_factor"] = sorted(ks)[len(ks) // 2]
    return model


def adam_time(model, r, S, inter=False):
    P = r["ranks"]
    if P < 2 or not S:
        return 0.0
    a, B = model["reduction_latency_s"], model["collective_bandwidth_B_s"]
    if inter:
        a, B = max(a, INTER_LATENCY_S), min(B, INTER_BANDWIDTH_B_S)
    return 2 * (a * math.ceil(math.log2(P)) + (P - 1) / P * S / B)


def predict(model, r0, r, cores=None, halo=None, inter=False, calls=1.0):
    """Predicted step time of run r from the 1-rank run r0 of its study. `halo`: a tiled run whose
    counts stand for r's (r itself when it has run; for projections, a 2-tile run of the same
    network); `calls` scales those counts, for more sampler steps than that run made; `inter`:
    the collectives cross nodes."""
    cores = cores or model["cores"]
    P, t = r["ranks"], r["tiles"][0] * r["tiles"][1]
    C = r0["step_time_s"] * work(r0, r)
    o = model["oversubscription_factor"] * P / cores if P > cores else 1.0
    T = C * o
    if t > 1:
        n_h, n_r = counts(r, halo if halo is not None else r, calls)
        a_h = model["halo_latency_s"]
        if inter:
            a_h = max(a_h, INTER_LATENCY_S)
        T += a_h * n_h + model["halo_sync_share"] * C
        T += model["reduction_latency_s"] * n_r * math.ceil(math.log2(t))
        T += model["reduction_sync_share"] * C
    S = r.get("trainable_bytes") or r0.get("trainable_bytes") or 0
    return T + adam_time(model, r, S, inter)


def validate(studies, model, fitted=True):
    rows = []
    for s in studies:
        r0 = reference(s)
        for r in s["records"]:
            p = predict(model, r0, r)
            rows.append({"study": s["path"], "stage": s["stage"], "mode": s["mode"],
                         "layout": s["layout"], "ranks": r["ranks"], "tiles": r["tiles"],
                         "groups": r["groups"], "grid": r["grid"], "batch": r["batch"],
                         "measured_s": r["step_time_s"], "predicted_s": p,
                         "error": p / r["step_time_s"] - 1,
                         "fitted": fitted and (2 <= r["ranks"] <= model["cores"] or (
                             r["ranks"] > model["cores"] and r["tiles"] == [1, 1]))})
    return rows


def print_validation(rows, model):
    m = model
    print(f"constants ({m['cores']} cores): halo latency {m['halo_latency_s'] * 1e6:.3g} us a "
          f"message and synchronization share {100 * m['halo_sync_share']:.2g} % of the compute; "
          f"reduction latency {m['reduction_latency_s'] * 1e6:.3g} us and share "
          f"{100 * m['reduction_sync_share']:.2g} %; collective bandwidth "
          f"{m['collective_bandwidth_B_s'] / 1e9:.3g} GB/s; oversubscription factor "
          f"{m['oversubscription_factor']:.3g}\n")
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


MPI_BASE_MIB = 120.0  # what a rank holds before any array: MPI, PETSc, HDF5, the code


def fixed_mib(info, ranks, truncated=True):
    """The part of a rank's memory that does not shrink with the tile: four parameter copies
    (weights, gradients, EMA, the regularization reference), Adam's moments sharded over all
    ranks."""
    share = info["trainable_share"] if truncated else 1.0
    return MPI_BASE_MIB + 4 * info["arena"] + 2 * info["arena"] * share / ranks


def activations_mib(info, grid, tiles, K=2, truncated=True):
    """What `pirf info` counts for a PIRF step on a grid^2 field over `tiles` ranks: K + 1 tapes
    (truncated to the trainable decoder level only at K = 1, docs/finetune.md) and the forward +
    backward work, scaled with the tile's pixels."""
    tape = info["tape_truncated"] if truncated and K == 1 else info["tape"]
    return ((K + 1) * tape + info["work"]) * (grid / info["grid"]) ** 2 / tiles


def memory_mib(info, grid, tiles, factor, K=2, truncated=True, ranks=None):
    """Peak memory of a rank: the fixed part and `factor` times the counted activations (factor
    calibrated on measured peaks: buffers `pirf info` does not count, tensors not live at once)."""
    return fixed_mib(info, ranks or tiles, truncated) + factor * activations_mib(
        info, grid, tiles, K, truncated)


def memory_factor(info, records):
    """The activation factor from measured peaks (median over the runs)."""
    f = []
    for r in records:
        t = r["tiles"][0] * r["tiles"][1]
        f.append((r["rss_mib"] - fixed_mib(info, r["ranks"])) / activations_mib(info, r["grid"], t))
    return sorted(f)[len(f) // 2]


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


def tile_rates(paths, ref):
    """Compute time per pixel of 1-rank runs on smaller fields against the reference run `ref`:
    {tile side: slowdown} (1 at the reference's side), for the small tiles of many-tile layouts."""
    out = {ref["grid"]: 1.0}
    per_pixel = ref["step_time_s"] / (ref["grid"] ** 2 * samples_per_group(ref))
    for p in paths or []:
        r = reference(load([p])[0])
        out[r["grid"]] = r["step_time_s"] / (r["grid"] ** 2 * samples_per_group(r)) / per_pixel
    return out


def slowdown(rates, side):
    """The slowdown at a tile side, interpolated in log(side) between the measured sides (and
    held at the ends)."""
    sides = sorted(rates)
    if side <= sides[0]:
        return rates[sides[0]]
    if side >= sides[-1]:
        return rates[sides[-1]]
    for lo, hi in zip(sides, sides[1:]):
        if lo <= side <= hi:
            f = math.log(side / lo) / math.log(hi / lo)
            return rates[lo] * (1 - f) + rates[hi] * f
    return 1.0


def project_run(model, study, batch, steps_total, nodes_list, N=None, levels=3, label="",
                cores_per_node=CORES_PER_NODE, rates=None):
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
        print(f"\n{label}: one rank, N = {N}: {base['step_time_s']:.4g} s a step (measured "
              f"{r0['step_time_s']:.4g} s at N = {study['sampler_steps_N']}, plus "
              f"{N - study['sampler_steps_N']} no-grad steps of {one:.4g} s)")
    rows = []
    for nodes in nodes_list:
        best = None
        for g, tiles in layouts(nodes * cores_per_node, batch, r0["grid"], levels):
            r = {"ranks": g * tiles[0] * tiles[1], "tiles": tiles, "groups": g, "grid": r0["grid"],
                 "batch": batch, "trainable_bytes": r0.get("trainable_bytes")}
            b = base
            if rates:  # a small tile computes at its own measured rate
                b = dict(base, step_time_s=base["step_time_s"] * slowdown(
                    rates, min(r0["grid"] // tiles[0], r0["grid"] // tiles[1])))
            T = predict(model, b, r, cores=nodes * cores_per_node, halo=halo,
                        inter=r["ranks"] > cores_per_node, calls=calls)
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
        rates = tile_rates(a.tile_rates, reference(st))
        out["tile_slowdown"] = rates
        print("\ncompute time per pixel against the 128^2 field (1 rank, the paper network): "
              + ", ".join(f"{k}^2 {v:.3g}x" for k, v in sorted(rates.items())))
        rows += project_run(model, st, 40, 4500, nodes, N=20, label="PIRF fine-tuning, 4,500 "
                            "iterations of 40 (DDPM++ 128^2, N = 20, K = 2)", rates=rates)
        rows += project_run(model, st, 40, 4500, [1], N=20, label="the same on this machine "
                            f"({model['cores']} cores)", cores_per_node=model["cores"],
                            rates=rates)
    if a.paper_pretrain:
        st = load([a.paper_pretrain])[0]
        steps = int(20000e3 / 60)
        rows += project_run(model, st, 60, steps, nodes, rates=out.get("tile_slowdown"),
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
        st = load([a.paper])[0]  # the paper network's measured peaks calibrate the factor
        factor = memory_factor(info, st["records"])
        checks = [(r["ranks"], r["tiles"], r["grid"], r["rss_mib"],
                   memory_mib(info, r["grid"], r["tiles"][0] * r["tiles"][1], factor), "paper")
                  for r in st["records"]]
        if a.mem_info and a.mem_results:
            other = info_memory(a.mem_info)
            for line in open(a.mem_results):
                P, tiles, _, rss = line.split()
                px, py = (int(v) for v in tiles.strip("[]").split(","))
                checks.append((int(P), [px, py], other["grid"], float(rss),
                               memory_mib(other, other["grid"], px * py, factor),
                               f"{other['grid']}^2 network"))
        print(f"\nmemory model: activation factor {factor:.3f} (fitted on the paper network's runs)")
        print("| network | ranks | tiles | measured MiB | predicted | error |")
        print("|---|---|---|---|---|---|")
        for P, tl, g, m, p, who in checks:
            print(f"| {who} | {P} | [{tl[0]}, {tl[1]}] | {m:,.0f} | {p:,.0f} | {100 * (p / m - 1):+.0f} % |")
        mem = []
        for grid in (128, 1024, 4096):
            for t in (1, 4, 16, 64, 256):
                if grid // int(math.isqrt(t)) < 16:
                    continue
                mem.append({"grid": grid, "tiles": t,
                            "mib_k2": memory_mib(info, grid, t, factor),
                            "mib_k2_all": memory_mib(info, grid, t, factor, truncated=False),
                            "mib_k1": memory_mib(info, grid, t, factor, K=1)})
        out["memory"] = {"factor": factor, "checks": checks, "projection": mem}
        print("\n| field | tiles a sample | MiB per rank: K = 2, decoder0 | K = 2, all | "
              "K = 1, decoder0 truncated |")
        print("|---|---|---|---|---|")
        for m in mem:
            print(f"| {m['grid']}^2 | {m['tiles']} | {m['mib_k2']:,.0f} | {m['mib_k2_all']:,.0f} | "
                  f"{m['mib_k1']:,.0f} |")
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
    ap.add_argument("--tile-rates", nargs="*", default=[],
                    help="1-rank studies of the paper network on smaller fields (tile rates)")
    ap.add_argument("--mem-info", help="`pirf info` of another network, to check the memory model")
    ap.add_argument("--mem-results", help="its measured peaks: lines 'ranks [px,py] wall_s MiB'")
    ap.add_argument("--check", nargs="+", default=[],
                    help="studies validated against, not fitted on")
    ap.add_argument("--json")
    a = ap.parse_args(argv[1:])
    if a.command == "project" and not a.paper:
        fail("project needs --paper: a 1- and 2-tile fine-tuning study of the paper network")
    studies = load(a.studies)
    model = fit(studies, a.cores)
    rows = validate(studies, model)
    if a.check:
        rows += validate(load(a.check), model, fitted=False)
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
