#!/usr/bin/python3
"""Reads PETSc's ASCII -log_view report (the default format, `-log_view :file.txt`) into Python.

usage: petsc_log.py LOG.txt [--stage NAME]     prints the events of each stage as a table
       import petsc_log; petsc_log.parse(text)  -> {"ranks": P, "time_s": T, "stages": {...}}

Each stage maps to {"time_s", "flops", "messages", "reductions", "events": {name: event}} and
each event to {"count", "time_s" (the largest over the ranks), "time_ratio" (largest/smallest),
"flops" (largest over the ranks), "messages" (sent, summed over the ranks), "avg_len" (bytes a
message), "reductions", "mflops" (summed over the ranks / largest time)}. Events are inclusive:
an event nested in another (a halo exchange inside a convolution) is counted in both.
"""
import re
import sys

_EVENT = re.compile(r"^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+"
                    r"(\S+)((?:\s+\d+){10})\s+(\d+)\s*$")
_STAGE_HEADER = re.compile(r"^--- Event Stage (\d+): (.+?)\s*$")
_STAGE_SUMMARY = re.compile(r"^\s*(\d+):\s+(.+?):\s+(\S+)\s+\S+%\s+(\S+)\s+\S+%\s+(\S+)\s+\S+%\s+"
                            r"(\S+)\s+\S+%\s+(\S+)\s+\S+%\s*$")


def parse(text):
    """The stages and events of one -log_view report (ValueError when it is not one)."""
    lines = text.splitlines()
    out = {"ranks": None, "time_s": None, "stages": {}}
    names = {}
    for line in lines:
        m = re.search(r"with (\d+) processors?,", line)
        if m and out["ranks"] is None:
            out["ranks"] = int(m.group(1))
        m = re.match(r"^Time \(sec\):\s+(\S+)", line)
        if m and out["time_s"] is None:
            out["time_s"] = float(m.group(1))
    if out["ranks"] is None:
        raise ValueError("not a PETSc -log_view report (no 'PETSc Performance Summary' header)")
    # the stage summary: "  3:   pirf finetune: 7.4e-02  95.8%  1.8e+09 100.0% ..."
    in_summary = False
    for line in lines:
        if line.startswith("Summary of Stages:"):
            in_summary = True
            continue
        if in_summary:
            m = _STAGE_SUMMARY.match(line)
            if m:
                name = m.group(2).strip()
                names[int(m.group(1))] = name
                out["stages"][name] = {"time_s": float(m.group(3)), "flops": float(m.group(4)),
                                       "messages": float(m.group(5)),
                                       "reductions": float(m.group(7)), "events": {}}
            elif line.startswith("---"):
                break
    # the event tables: the first "--- Event Stage" block list is the events (the second, after
    # "Object Type", is the objects)
    stage = None
    for line in lines:
        if line.startswith("Object Type"):
            break
        m = _STAGE_HEADER.match(line)
        if m:
            stage = names.get(int(m.group(1)), m.group(2))
            out["stages"].setdefault(stage, {"time_s": 0.0, "flops": 0.0, "messages": 0.0,
                                             "reductions": 0.0, "events": {}})
            continue
        m = _EVENT.match(line)
        if m and stage is not None:
            g = m.groups()
            out["stages"][stage]["events"][g[0]] = {
                "count": int(g[1]), "time_s": float(g[3]), "time_ratio": float(g[4]),
                "flops": float(g[5]), "messages": float(g[7]), "avg_len": float(g[8]),
                "reductions": float(g[9]), "mflops": float(g[11])}
    return out


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse(f.read())


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    try:
        log = read(argv[1])
    except (OSError, ValueError) as e:
        print(f"petsc_log.py: {argv[1]}: {e}", file=sys.stderr)
        return 2
    want = argv[argv.index("--stage") + 1] if "--stage" in argv else None
    print(f"{log['ranks']} ranks, {log['time_s']:.4g} s")
    for name, st in log["stages"].items():
        if want and name != want:
            continue
        print(f"\nstage {name}: {st['time_s']:.4g} s")
        print(f"  {'event':<18}{'count':>8}{'time s':>11}{'GFLOP/s':>9}{'messages':>10}"
              f"{'reductions':>11}")
        for ev, e in st["events"].items():
            print(f"  {ev:<18}{e['count']:>8}{e['time_s']:>11.4g}{e['mflops'] / 1e3:>9.3g}"
                  f"{e['messages']:>10.4g}{e['reductions']:>11.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
