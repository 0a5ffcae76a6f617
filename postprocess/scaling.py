#!/usr/bin/python3
"""Weak and strong scaling of a pirf stage: runs it at several rank counts, reads each run's PETSc
profile (-log_view) and log, and writes scaling.json and scaling.png (docs/scaling.md).

usage:
  scaling.py run DECK --ranks 1,2,4 [--mode strong|weak] [--layout groups|tiles]
                 [--stage finetune|pretrain|generate] [--steps S] [--out DIR]
                 [--launcher 'mpiexec -n {n}'] [key=value ...]
  scaling.py merge DIR [--title TEXT]
  (run also takes --check-only: check the deck and sizes, run nothing; --prepare-only: make
   DIR/prep and stop; --no-merge: leave the merge for a later `scaling.py merge DIR`)

run: for every rank count P, one run of the stage in DIR/runs/P (its output in output.txt, its
profile in log_view.txt, its record in record.json), then merge. Layouts:
  groups  every sample on one rank, the ranks are data groups (parallel.tiles [1, 1]);
          strong: the deck's batch (data.samples for generate) split over P groups;
          weak:   the batch grows with P (P times the deck's).
  tiles   every sample split over the P ranks (tiles [P,1], [2,2], [4,2], ...);
          strong: the deck's grid;  weak: the grid grows with P (square P only: R sqrt(P)).
The steps of a training stage (--steps, default 4) are timed from its JSON-lines log (the median
of the per-step times after the first); generate is timed per sample (stage time / samples).
A training stage's prerequisites (a data set, a base checkpoint of the deck's network) are made
once in DIR/prep with one rank, at the deck's own resolution (a U-Net's weights do not depend on
the grid). Every key=value goes to every run; the launcher is a command line with {n} for the rank
count (default 'mpiexec -n {n}'; in a SLURM job 'srun -n {n}').

merge: reads DIR/runs/*/record.json (runs may come from separate jobs, as
jobscripts/slurm/scaling.sbatch makes them) and writes DIR/scaling.json (one record per run:
ranks, layout, grid, batch, time per step, per-event times, peak RSS per rank, efficiency against
the smallest rank count) and DIR/scaling.png (efficiency and time breakdown against ranks).
"""
import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time

import petsc_log

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The time breakdown of a step: exclusive parts built from the inclusive events (docs/scaling.md).
# Each part is (label, events added, events subtracted); "other" is the rest of the step.
PARTS = [
    ("convolutions", ["Conv3x3Fwd", "Conv3x3BwdData", "Conv3x3BwdWeight", "Conv1x1Fwd",
                      "Conv1x1BwdData", "Conv1x1BwdWeight"], ["HaloExchange", "HaloAdjoint"]),
    ("halo exchange", ["HaloExchange", "HaloAdjoint"], []),
    ("GroupNorm", ["GroupNormFwd", "GroupNormBwd"], ["GroupNormAllred"]),
    ("GroupNorm Allreduce", ["GroupNormAllred"], []),
    ("attention", ["AttentionFwd", "AttentionBwd"], ["AttnGatherKV", "AttnRedScatKV"]),
    ("attention K/V exchange", ["AttnGatherKV", "AttnRedScatKV"], []),
    ("residual + adjoint", ["Residual", "ResidualAdjoint"], []),
    ("Adam + EMA", ["AdamUpdate", "EMAUpdate"], []),
    ("Adam reduce-scatter + allgather", ["AdamRedScatter", "AdamAllgather"], []),
    ("PDE solve", ["PDESolve"], ["FFT", "FFTTranspose"]),
    ("FFT (FFTW-MPI, its transposes included)", ["FFT"], []),
    ("tile <-> slab transposes", ["FFTTranspose"], []),
    ("I/O", ["DataWrite", "DataRead", "CheckpointWrite", "CheckpointRead"], []),
]
STAGE_KEYS = {"finetune": "finetune.batch", "pretrain": "pretrain.batch",
              "generate": "data.samples"}


def fail(msg):
    print(f"scaling.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def pirf_bin():
    return os.environ.get("PIRF", os.path.join(ROOT, "build", "pirf"))


def resolved_deck(deck, overrides):
    """The deck with the overrides, as pirf resolves it (pirf run --dry-run)."""
    import yaml
    # output.dir is the harness's (every run gets its own); the user's other keys go as given
    ov = [x for x in overrides if not x.startswith("output.dir=")]
    p = subprocess.run([pirf_bin(), "run", "--dry-run", deck, *ov, "output.dir=/nonexistent"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"pirf cannot read the deck '{deck}' with {' '.join(overrides) or 'no overrides'}:\n"
             + (p.stderr or p.stdout).strip())
    lines = p.stdout.splitlines()
    body = []
    for line in lines[1:]:
        if line.startswith("stage "):
            break
        body.append(line)
    return yaml.safe_load("\n".join(body))


def split_tiles(P):
    """[px, py] with px * py = P, as square as possible, px >= py."""
    py = int(math.isqrt(P))
    while P % py:
        py -= 1
    return [P // py, py]


def plan(cfg, stage, mode, layout, P):
    """The overrides of the run at P ranks, and what they mean (layout, grid, batch)."""
    R0 = int(cfg["grid"]["resolution"])
    section, key = STAGE_KEYS[stage].split(".")
    B0 = int(cfg[section][key])
    if layout == "groups":
        tiles, R = [1, 1], R0
        B = B0 * P if mode == "weak" else B0
        if B % P:
            fail(f"{STAGE_KEYS[stage]} = {B} does not divide over {P} data groups; choose rank "
                 f"counts that divide it, or --mode weak")
        groups = P
    else:
        if mode == "weak":
            s = int(math.isqrt(P))
            if s * s != P:
                fail(f"weak scaling with tiles grows the square grid with the rank count: {P} is "
                     "not a square (use 1,4,16,... or --layout groups)")
            tiles, R = [s, s], R0 * s
        else:
            tiles, R = split_tiles(P), R0
        B, groups = B0, 1
    ov = [f"parallel.tiles=[{tiles[0]},{tiles[1]}]", f"grid.resolution={R}", f"{STAGE_KEYS[stage]}={B}"]
    return ov, {"tiles": tiles, "groups": groups, "grid": R, "batch": B}


def last_wins(args):
    """The arguments with each key=value key once, at its last value (pirf refuses a key given
    twice; the harness's own keys override the user's)."""
    seen = {}
    for i, x in enumerate(args):
        if "=" in x and not x.startswith("-"):
            seen[x.split("=", 1)[0]] = i
    return [x for i, x in enumerate(args)
            if "=" not in x or x.startswith("-") or seen[x.split("=", 1)[0]] == i]


def launch(launcher, n, args, out_path, env=None):
    cmd = [a.replace("{n}", str(n)) for a in shlex.split(launcher)] + last_wins(args)
    t0 = time.time()
    with open(out_path, "w") as out:
        out.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        out.flush()
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    return rc, time.time() - t0


def step_times(jsonl):
    """Per-step seconds from a training log with one line per step (sec_per_iter or sec_per_kimg)."""
    out = []
    if not os.path.exists(jsonl):
        return out
    with open(jsonl) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if "eval" in r:
                continue
            if "sec_per_iter" in r:
                out.append(r["sec_per_iter"])
            elif "sec_per_step" in r:
                out.append(r["sec_per_step"])
    return out


def median(v):
    v = sorted(v)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2]))


def peak_rss(text):
    """The largest 'RSS N MiB/rank' (progress lines: the peak over the ranks) or maxrss."""
    vals = [float(x) for x in re.findall(r"RSS ([0-9.]+) MiB/rank", text)]
    vals += [float(x) for x in re.findall(r"maxrss ([0-9.]+) MiB", text)]
    return max(vals) if vals else None


def prepare(a, cfg, overrides):
    """DIR/prep: the data set (pretrain) or base checkpoint (finetune) the stage starts from."""
    prep = os.path.join(a.out, "prep")
    os.makedirs(prep, exist_ok=True)
    extra = []
    if a.stage == "generate":
        return extra
    # pretrain: samples for the study's largest batch; finetune: two, for its one-step base
    B = 2
    if a.stage == "pretrain":
        B = max(plan(cfg, a.stage, a.mode, a.layout, P)[1]["batch"] for P in a.ranks)
    data = os.path.join(prep, "data.h5")
    base = os.path.join(prep, "base.h5")
    common = [f"output.dir={prep}", f"data.path={data}", "parallel.tiles=[1,1]"]
    if not os.path.exists(data):
        print(f"[scaling] preparing {B} samples in {data}", flush=True)
        rc, _ = launch(a.launcher, 1, [pirf_bin(), "generate", a.deck, *overrides, *common,
                                       f"data.samples={B}"], os.path.join(prep, "generate.txt"))
        if rc:
            fail(f"generating the study's data failed (exit {rc}); see {prep}/generate.txt")
    extra.append(f"data.path={data}")
    if a.stage == "finetune":
        if not os.path.exists(base):
            print(f"[scaling] preparing a base checkpoint {base} (one pretraining step)", flush=True)
            rc, _ = launch(a.launcher, 1, [pirf_bin(), "pretrain", a.deck, *overrides, *common,
                                           "pretrain.batch=1", "pretrain.micro_batch=0",
                                           "pretrain.kimg=0.001", "pretrain.resume=false"],
                           os.path.join(prep, "pretrain.txt"))
            if rc:
                fail(f"making the base checkpoint failed (exit {rc}); see {prep}/pretrain.txt")
        extra.append(f"finetune.base={base}")
    return extra


def stage_overrides(a, info, rundir):
    S = a.steps
    if a.stage == "finetune":
        return [f"finetune.iterations={S}", "finetune.log_iterations=1", "finetune.eval_samples=0",
                f"finetune.checkpoint_iterations={S}", "finetune.resume=false"]
    if a.stage == "pretrain":
        kimg = S * info["batch"] / 1000.0
        return [f"pretrain.kimg={kimg:.6g}", f"pretrain.log_kimg={info['batch'] / 1000.0:.6g}",
                f"pretrain.checkpoint_kimg={kimg:.6g}", "pretrain.resume=false"]
    return [f"data.path={rundir}/data.h5"]


def one_run(a, cfg, overrides, prep_extra, P):
    ov, info = plan(cfg, a.stage, a.mode, a.layout, P)
    rundir = os.path.join(a.out, "runs", str(P))
    os.makedirs(rundir, exist_ok=True)
    for f in ("record.json", "log_view.txt", "data.h5"):
        if os.path.exists(os.path.join(rundir, f)):
            os.remove(os.path.join(rundir, f))
    args = [pirf_bin(), a.stage, a.deck, *overrides, *prep_extra, *ov,
            *stage_overrides(a, info, rundir), f"output.dir={rundir}",
            "-log_view", f":{rundir}/log_view.txt"]
    print(f"[scaling] {a.stage} at {P} rank{'s' if P > 1 else ''}: tiles {info['tiles']}, "
          f"{info['groups']} group{'s' if info['groups'] > 1 else ''}, {info['grid']}^2, batch "
          f"{info['batch']}", flush=True)
    rc, wall = launch(a.launcher, P, args, os.path.join(rundir, "output.txt"))
    if rc:
        fail(f"the run at {P} ranks failed (exit {rc}); see {rundir}/output.txt")
    rec = record(a.stage, rundir, info, P)
    rec.update({"mode": a.mode, "layout": a.layout, "wall_s": wall, "load": os.getloadavg()[0],
                "launcher": a.launcher, "cores": os.cpu_count()})
    with open(os.path.join(rundir, "record.json"), "w") as f:
        json.dump(rec, f, indent=1)
    step = rec["step_time_s"]
    print(f"[scaling]   {step:.4g} s per {rec['step_unit']}, peak RSS {rec['rss_mib']} MiB/rank",
          flush=True)
    return rec


def record(stage, rundir, info, P):
    """The record of one finished run in rundir (its profile and logs)."""
    log = petsc_log.read(os.path.join(rundir, "log_view.txt"))
    name = f"pirf {stage}"
    if name not in log["stages"]:
        fail(f"{rundir}/log_view.txt has no stage '{name}'")
    st = log["stages"][name]
    ev = st["events"]
    if stage == "generate":
        units = info["batch"]
        unit = "sample"
        per_step = st["time_s"] / units
    else:
        units = ev.get("TrainStep", {}).get("count", 0)
        unit = "step"
        times = step_times(os.path.join(rundir, f"{stage}.jsonl"))
        per_step = median(times[1:] if len(times) > 1 else times)
        if per_step is None and units:
            per_step = ev["TrainStep"]["time_s"] / units
    with open(os.path.join(rundir, "output.txt")) as f:
        text = f.read()
    rss = peak_rss(text)
    # the parameters the optimizer updates (their gradient is what Adam reduces)
    m = (re.search(r"(\d+) of \d+ parameters trainable", text) or
         re.search(r"; (\d+) parameters\n", text))
    trainable = int(m.group(1)) if m else None
    events = {k: dict(v, per_unit_s=v["time_s"] / units if units else None)
              for k, v in ev.items()}
    return {"stage": stage, "ranks": P, "tiles": info["tiles"], "groups": info["groups"],
            "grid": info["grid"], "batch": info["batch"], "steps": units, "step_unit": unit,
            "step_time_s": per_step, "stage_time_s": st["time_s"], "rss_mib": rss,
            "trainable_params": trainable,
            "trainable_bytes": 4 * trainable if trainable else None,
            "events": events}


def breakdown(events, units, stage, stage_time_s):
    """Exclusive seconds per unit of each part of PARTS, and the rest of the unit ("other"): a
    training step is the TrainStep event (checkpoints fall outside it and are left out), a sample
    of generate is the stage's time over its samples (its writes included)."""
    if not units:
        return {}
    t = lambda names: sum(events.get(n, {}).get("time_s", 0.0) for n in names)  # noqa: E731
    out = {}
    for label, plus, minus in PARTS:
        if label == "I/O" and stage != "generate":
            continue
        v = max(t(plus) - t(minus), 0.0) / units
        if v > 0:
            out[label] = v
    whole = t(["TrainStep"]) if stage != "generate" else stage_time_s
    if whole:
        out["other"] = max(whole / units - sum(out.values()), 0.0)
    return out


def merge(d, title=None):
    runs = os.path.join(d, "runs")
    recs = []
    if os.path.isdir(runs):
        for sub in os.listdir(runs):
            p = os.path.join(runs, sub, "record.json")
            if os.path.exists(p):
                with open(p) as f:
                    recs.append(json.load(f))
    if not recs:
        fail(f"no run records (runs/*/record.json) under '{d}'; run `scaling.py run` first")
    recs.sort(key=lambda r: r["ranks"])
    for r in recs:  # derived here, from the events, so records of any harness version agree
        r["breakdown_s"] = breakdown(r["events"], r["steps"], r["stage"], r["stage_time_s"])
    kinds = {(r["stage"], r["mode"], r["layout"]) for r in recs}
    if len(kinds) > 1:
        fail(f"'{d}' holds runs of different studies {sorted(kinds)}; give each its own --out")
    stage, mode, layout = kinds.pop()
    r0 = recs[0]
    for r in recs:
        if r["step_time_s"]:
            ratio = r0["step_time_s"] / r["step_time_s"]
            r["efficiency"] = ratio if mode == "weak" else ratio * r0["ranks"] / r["ranks"]
            r["speedup"] = (r0["step_time_s"] / r["step_time_s"] * (r["batch"] / r0["batch"])
                            if mode == "weak" else ratio)
    out = {"stage": stage, "mode": mode, "layout": layout, "reference_ranks": r0["ranks"],
           "records": recs}
    with open(os.path.join(d, "scaling.json"), "w") as f:
        json.dump(out, f, indent=1)
    plot(out, os.path.join(d, "scaling.png"), title)
    print(f"{'ranks':>6} {'tiles':>7} {'groups':>6} {'grid':>6} {'batch':>6} "
          f"{'s/' + r0['step_unit']:>10} {'efficiency':>10} {'RSS MiB':>8}")
    for r in recs:
        print(f"{r['ranks']:>6} {str(r['tiles']):>7} {r['groups']:>6} {r['grid']:>6} "
              f"{r['batch']:>6} {r['step_time_s']:>10.4g} {r.get('efficiency', 0):>10.1%} "
              f"{r['rss_mib'] or 0:>8.0f}")
    print(f"wrote {d}/scaling.json and {d}/scaling.png")


def plot(s, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = s["records"]
    P = [r["ranks"] for r in recs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    ax1.plot(P, [100 * r.get("efficiency", 0) for r in recs], "o-", color="C0")
    ax1.axhline(100, color="0.6", lw=0.8, ls="--")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(P, [str(p) for p in P])
    ax1.set_ylim(0, 110)
    ax1.set_xlabel("ranks")
    ax1.set_ylabel(f"{s['mode']} scaling efficiency (%)")
    ax1.set_title(f"efficiency against {s['reference_ranks']} rank"
                  f"{'s' if s['reference_ranks'] > 1 else ''}")
    for p, r in zip(P, recs):
        over = r.get("cores") and r["ranks"] > r["cores"]
        ax1.annotate(f"{r['step_time_s']:.3g} s" + (f"\n({r['cores']} cores: oversubscribed)"
                                                     if over else ""),
                     (p, 100 * r.get("efficiency", 0)), textcoords="offset points",
                     xytext=(0, -14 if not over else -24), ha="center", fontsize=8)
    labels = []
    for r in recs:
        labels += [k for k in r["breakdown_s"] if k not in labels]
    x = range(len(recs))
    bottom = [0.0] * len(recs)
    for i, lab in enumerate(labels):
        v = [r["breakdown_s"].get(lab, 0.0) for r in recs]
        ax2.bar(x, v, bottom=bottom, label=lab, color=f"C{i % 10}" if lab != "other" else "0.7")
        bottom = [b + w for b, w in zip(bottom, v)]
    ax2.set_xticks(list(x), [f"{r['ranks']}\n{r['tiles'][0]}x{r['tiles'][1]} tiles\n"
                             f"{r['groups']} gr., {r['grid']}²" for r in recs], fontsize=8)
    ax2.set_ylabel(f"seconds per {recs[0]['step_unit']} (largest over the ranks)")
    ax2.set_title("time per " + recs[0]["step_unit"] + " by part (-log_view events)")
    if labels:
        ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    head = title or (f"pirf {s['stage']}: {s['mode']} scaling, layout {s['layout']} "
                     f"(batch {recs[0]['batch']}..{recs[-1]['batch']}, grid "
                     f"{recs[0]['grid']}..{recs[-1]['grid']})")
    fig.suptitle(head, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    if argv[1] == "merge":
        ap = argparse.ArgumentParser(prog="scaling.py merge")
        ap.add_argument("dir")
        ap.add_argument("--title")
        a = ap.parse_args(argv[2:])
        merge(a.dir, a.title)
        return 0
    if argv[1] != "run":
        fail(f"unknown command '{argv[1]}': run or merge (scaling.py --help)")
    ap = argparse.ArgumentParser(prog="scaling.py run")
    ap.add_argument("deck")
    ap.add_argument("--ranks", required=True, help="comma-separated rank counts, e.g. 1,2,4")
    ap.add_argument("--mode", choices=["strong", "weak"], default="strong")
    ap.add_argument("--layout", choices=["groups", "tiles"], default="groups")
    ap.add_argument("--stage", choices=["finetune", "pretrain", "generate"], default="finetune")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--out", default="scaling")
    ap.add_argument("--launcher", default=os.environ.get("PIRF_LAUNCHER", "mpiexec -n {n}"))
    ap.add_argument("--title")
    ap.add_argument("--prepare-only", action="store_true",
                    help="make DIR/prep (the data set or base checkpoint) and stop")
    ap.add_argument("--check-only", action="store_true",
                    help="check the deck and every size, run nothing")
    ap.add_argument("--no-merge", action="store_true",
                    help="leave the merge to a later `scaling.py merge DIR`")
    a, rest = ap.parse_known_args(argv[2:])
    bad = [x for x in rest if "=" not in x or x.startswith("-")]
    if bad:
        fail(f"unknown arguments {' '.join(bad)}: deck overrides are key=value (scaling.py --help)")
    try:
        a.ranks = [int(x) for x in a.ranks.split(",")]
        assert all(p >= 1 for p in a.ranks)
    except (ValueError, AssertionError):
        fail(f"--ranks '{a.ranks}' must be positive integers separated by commas, e.g. 1,2,4")
    if a.steps < 2 and a.stage != "generate":
        fail("--steps must be at least 2 (the first step, which warms up, is not timed)")
    if not os.path.exists(a.deck):
        fail(f"the deck '{a.deck}' does not exist")
    if "{n}" not in a.launcher:
        fail(f"--launcher '{a.launcher}' has no {{n}} for the rank count")
    a.out = os.path.abspath(a.out)
    cfg = resolved_deck(a.deck, rest)
    for P in a.ranks:
        plan(cfg, a.stage, a.mode, a.layout, P)  # every size is valid before anything runs
    if a.check_only:
        print(f"[scaling] {a.deck}: {a.stage}, {a.mode} scaling, layout {a.layout}, ranks "
              f"{','.join(map(str, a.ranks))}: the deck and every size are valid")
        return 0
    prep = prepare(a, cfg, rest)
    if a.prepare_only:
        return 0
    for P in a.ranks:
        one_run(a, cfg, rest, prep, P)
    if not a.no_merge:
        merge(a.out, a.title)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
