"""Every HDF5 output carries the run record (docs/run-directory.md): the command line, world size
and rank layout, start time, host, build version, and its stage's provenance.

usage: check_run_attributes.py NP COMMAND FILE.h5 ..."""
import re
import sys

import h5py

np_, command, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
bad = 0
for path in files:
    with h5py.File(path, "r") as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    problems = []
    for key in ("run_command_line", "run_layout", "run_start_time", "run_host", "run_hosts",
                "pirf_build", "provenance_stage", "provenance_digest", "provenance_keys"):
        if not str(a.get(key, "")).strip():
            problems.append("no " + key)
    if int(a.get("run_world_size", -1)) != np_:
        problems.append("run_world_size %s, expected %d" % (a.get("run_world_size"), np_))
    if " %s " % command not in " %s " % a.get("run_command_line", ""):
        problems.append("command line %r lacks %r" % (a.get("run_command_line"), command))
    if not str(a.get("run_layout", "")).startswith("%d rank" % np_):
        problems.append("layout %r" % a.get("run_layout"))
    if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", str(a.get("run_start_time", ""))):
        problems.append("start time %r" % a.get("run_start_time"))
    if not re.match(r"[0-9a-f]{16}$", str(a.get("provenance_digest", ""))):
        problems.append("digest %r" % a.get("provenance_digest"))
    print("%s: %s" % (path, "; ".join(problems) if problems else
                      "ok (%s, %s, %s)" % (a["provenance_stage"], a["run_layout"], a["pirf_build"])))
    bad += bool(problems)
sys.exit(1 if bad else 0)
