#!/usr/bin/python3
"""The repository's documents stand alone.

  check_links.py links SRC   every relative Markdown link, every backquoted repository path and
                             every docs/NAME.md named in the prose of README.md and docs/*.md
                             names a file or directory that exists in SRC
                             (a path with * or ? must match at least one; one with <...> is a
                             placeholder and is skipped; build outputs such as build/, runs/, data/
                             are not repository paths)
  check_links.py names SRC   no file of the repository names the team's design notes, which are
                             not part of it (they are cited as docs/algorithm.md, docs/architecture.md
                             instead; scripts/spec_refs.sed rewrites old references)

Prints one line per problem (file:line: what) and exits 1 if there is any.
"""
import glob
import os
import re
import subprocess
import sys

# Top-level entries a backquoted path may start with to count as a repository path.
REPO_TOPS = ("README.md", "CMakeLists.txt", "docs/", "input/", "scripts/", "src/", "include/",
             "tests/", "jobscripts/", "postprocess/")
# The design notes' names, built from pieces so that this file does not contain them itself.
TEAM_DOCS = ["PIRF-" + "SPEC", "ARCHITECTURE" + ".md", "ENVIRONMENT" + ".md", "STYLE" + ".md",
             "SLURM-" + "TESTING"]
# Files allowed to contain the names: the rewrite script must match them.
NAMES_ALLOWED = {"scripts/spec_refs.sed"}
SCAN_TOPS = ("README.md", "CMakeLists.txt", "docs/", "input/", "jobscripts/", "scripts/",
             "postprocess/", "src/", "include/", "tests/")

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SPAN = re.compile(r"`([^`\n]+)`")
# A document named in prose without backquotes ("see docs/pretrain.md").
PROSE_DOC = re.compile(r"(?<![\w/.`-])((?:docs/)[A-Za-z0-9_-]+\.md)(?![\w`])")


def markdown_files(src):
    files = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    return [f for f in files if os.path.isfile(f)]


def exists(src, path):
    path = path.rstrip("/")
    if any(c in path for c in "*?["):
        return bool(glob.glob(os.path.join(src, path)))
    return os.path.exists(os.path.join(src, path))


def check_links(src):
    problems = []
    for md in markdown_files(src):
        rel_md = os.path.relpath(md, src)
        fence = False
        with open(md, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.lstrip().startswith("```"):
                    fence = not fence
                    continue
                if fence:
                    continue  # commands and file contents, not references
                for target in LINK.findall(line):
                    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                        continue  # URL, mail address or anchor in this page
                    path = target.split("#", 1)[0]
                    full = os.path.normpath(os.path.join(os.path.dirname(md), path))
                    if not os.path.exists(full):
                        problems.append(f"{rel_md}:{n}: link to {target}, which does not exist")
                for doc in PROSE_DOC.findall(LINK.sub("", SPAN.sub("", line))):
                    if not exists(src, doc):
                        problems.append(f"{rel_md}:{n}: {doc} does not exist in the repository")
                for span in SPAN.findall(line):
                    span = span.strip()
                    if " " in span or "<" in span or "=" in span:
                        continue  # a command, a placeholder or an override, not a path
                    span = re.sub(r"[:,;.)]+$", "", span)        # trailing punctuation
                    span = re.sub(r":[0-9]+$", "", span)          # path:line
                    if not span.startswith(REPO_TOPS) or span.startswith("docs/x."):
                        continue
                    if span.endswith(".h5") or span.endswith(".png"):
                        continue  # an output file name, not a repository file
                    if not exists(src, span):
                        problems.append(f"{rel_md}:{n}: `{span}` does not exist in the repository")
    return problems


def repository_files(src):
    try:
        out = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        files = [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build")) and d not in ("runs", "data")]
            files += [os.path.relpath(os.path.join(root, x), src) for x in names]
    return sorted(p for p in files if p.startswith(SCAN_TOPS) and os.path.isfile(os.path.join(src, p)))


def check_names(src):
    problems = []
    for rel in repository_files(src):
        if rel in NAMES_ALLOWED or rel.startswith("tests/docs/"):
            continue
        try:
            with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    for name in TEAM_DOCS:
                        if name in line:
                            problems.append(f"{rel}:{n}: names {name}, which is not in the repository "
                                            "(cite docs/algorithm.md, docs/architecture.md, "
                                            "docs/install.md or docs/DEVELOPING.md; "
                                            "scripts/spec_refs.sed rewrites it)")
        except OSError as e:
            problems.append(f"{rel}: cannot read ({e})")
    return problems


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("links", "names"):
        print(__doc__, file=sys.stderr)
        return 2
    src = sys.argv[2]
    problems = check_links(src) if sys.argv[1] == "links" else check_names(src)
    for p in problems:
        print(p)
    what = "broken references" if sys.argv[1] == "links" else "references to the team's notes"
    print(f"{len(problems)} {what}" if problems else f"docs {sys.argv[1]}: all good")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
