#!/usr/bin/env python3
"""
Self-test of scripts/checksrc.py: every folder here is a small tree (src/,
maybe doc/spec/) and its file "expected" holds exactly the lines checksrc
must print for it: none for good/, its rule's violations for the others.
Exit status: 0 when every sample gives its expected lines (and checksrc
exits 0 on an empty "expected", 1 otherwise).
"""

import difflib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKSRC = os.path.join(HERE, "..", "..", "scripts", "checksrc.py")


def run(case):
    tree = os.path.join(HERE, case)
    with open(os.path.join(tree, "expected"), encoding="utf-8") as f:
        want = f.read()
    p = subprocess.run([sys.executable, CHECKSRC, tree],
                       capture_output=True, text=True)
    problems = []
    if p.stdout != want:
        problems += difflib.unified_diff(
            want.splitlines(True), p.stdout.splitlines(True),
            "%s/expected" % case, "checksrc output")
    status = 1 if want else 0
    if p.returncode != status:
        problems.append("exit status %d, want %d\n%s"
                        % (p.returncode, status, p.stderr))
    return problems


def main():
    cases = sorted(d for d in os.listdir(HERE)
                   if os.path.isfile(os.path.join(HERE, d, "expected")))
    failed = 0
    for case in cases:
        problems = run(case)
        if problems:
            failed += 1
            sys.stdout.write("FAIL %s\n%s" % (case, "".join(problems)))
    print("checksrc self-test: %d samples, %d failed" % (len(cases), failed))
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
