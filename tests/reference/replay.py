#!/usr/bin/env python3
"""Replays the corpus against OUR gateway alone (make check; no reference
needed): one Stack (fake + responder + lighttpd, tests/integration/harness.py)
for every case, its responder restarted for each group of cases that share
a start-up (a case's "config", the fake's model list and user: corpus.groups), each case's observation normalised as when it was recorded
and compared with the reference's recorded side.

    python3 tests/reference/replay.py [-v] [CASE-ID-PREFIX ...]

A case may differ only if it is listed under a deviation in doc/deviations.md
(its "- cases:" line) or in pending.json (a known bug being fixed elsewhere,
an expected failure).  The run fails on:
  * a difference listed nowhere;
  * a deviation none of whose cases differs any more (the entry is stale);
  * a pending case that now matches (the bug is fixed: drop it from the list);
  * a case id in either list that does not exist.
With prefixes, only those cases run and the stale checks are skipped."""

import json
import os
import re
import sys
import time

import corpus

ROOT = os.path.dirname(os.path.dirname(corpus.HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

DEVIATIONS = os.path.join(ROOT, "doc", "deviations.md")
PENDING = os.path.join(corpus.HERE, "pending.json")


def deviations():
    """({deviation id: [case ids]}, [(deviation id, ours, reference)]) from
    doc/deviations.md: its "- cases:" lines, and its "- substitute:" lines
    (`ours` -> `reference`, a string of our observation the replay turns into
    the reference's before comparing; for a difference every case would show;
    "- substitute (1.10.10):" limits it to the cases recorded against that
    reference version).
    An entry with a "- tests:" line and no cases is shown by those tests
    (a behaviour no single request can show, such as a config reload) and is
    left out here."""
    out, subs, current = {}, [], None
    elsewhere = set()
    with open(DEVIATIONS, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^## (D\d+)\b", line)
            if m:
                current = m.group(1)
                out[current] = []
            elif current and line.startswith("- cases:"):
                out[current] += re.findall(r"`([^`]+)`", line)
            elif current and line.startswith("- tests:"):
                elsewhere.add(current)
            elif current and (m := re.match(r"- substitute(?: \(([\w.]+)\))?:",
                                            line)):
                pair = re.findall(r"`([^`]+)`", line[m.end():])
                if len(pair) == 2:
                    subs.append((current, pair[0], pair[1], m.group(1)))
    for dev in elsewhere:
        if not out[dev]:
            del out[dev]
    return out, subs


def substitute(obs, subs, shown, version):
    """obs with the substitutions that apply to a case recorded against
    reference `version` made."""
    text = json.dumps(obs, ensure_ascii=False)
    for dev, ours, ref, only in subs:
        if only is not None and only != version:
            continue
        if json.dumps(ours)[1:-1] in text:
            shown.add(dev)
            text = text.replace(json.dumps(ours)[1:-1], json.dumps(ref)[1:-1])
    return json.loads(text)


def pending():
    with open(PENDING, encoding="utf-8") as f:
        return json.load(f)


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    prefixes = [a for a in args if a != "-v"]
    (devs, subs), pend = deviations(), pending()
    allowed = {}
    for dev, ids in devs.items():
        for cid in ids:
            allowed.setdefault(cid, []).append(dev)
    cases = corpus.case_files()
    known = {cid for cid, _ in cases}
    problems = []
    for cid in list(allowed) + list(pend):
        if cid not in known:
            problems.append("listed case %s does not exist" % cid)
    if prefixes:
        cases = [(c, p) for c, p in cases if any(c.startswith(x) for x in prefixes)]
    t0 = time.monotonic()
    stack = harness.Stack()
    base_config = dict(stack.config)
    counts = {"identical": 0, "deviation": 0, "pending": 0, "unrecorded": 0}
    shown = set()
    try:
        codex_sign_in(stack)
        refresh = False
        for overlay, start, members in corpus.groups(cases):
            # one responder start per group (see corpus.groups); the fake's
            # start-up state reaches it through copilot-refresh, which
            # reads the model list and copilot_internal/user
            corpus.prepare_fake(stack.fake.url, {"fake": {"config": start}})
            restart(stack, base_config, corpus.corpus_config(stack.fake.url, overlay),
                    refresh or bool(start))
            refresh = bool(start)
            for cid, path, case in members:
                replay_case(stack, cid, case, subs, shown, allowed, pend,
                            counts, problems, verbose)
    finally:
        if os.environ.get("CORPUS_KEEP"):
            print("kept", stack.workdir)
        stack.close()
    if not prefixes:
        for dev, ids in devs.items():
            if dev not in shown:
                problems.append("deviation %s: none of its cases (%s) differs any "
                                "more" % (dev, ", ".join(ids) or "none listed"))
    for p in problems:
        print("FAIL " + p)
    print("reference corpus: %d cases, %d identical, %d listed deviations, "
          "%d known-pending, %d unrecorded, %d problems (%.1f s)"
          % (len(cases), counts["identical"], counts["deviation"], counts["pending"],
             counts["unrecorded"], len(problems), time.monotonic() - t0))
    sys.exit(1 if problems else 0)


def replay_case(stack, cid, case, subs, shown, allowed, pend, counts, problems,
                verbose):
    if "reference" not in case:
        counts["unrecorded"] += 1
        print("UNRECORDED %s" % cid)
        return
    got = substitute(corpus.run(stack.url, stack.fake.url, case), subs,
                     shown, case["reference"].get("version"))
    d = corpus.diff(case["reference"], got)
    if not d:
        counts["identical"] += 1
        if cid in pend:
            problems.append("%s matches the reference now: drop it from "
                            "pending.json (%s)" % (cid, pend[cid]))
        return
    if cid in allowed:
        counts["deviation"] += 1
        for dev in allowed[cid]:
            shown.add(dev)
        if verbose:
            print("DEVIATION %s (%s)\n%s" % (cid, ", ".join(allowed[cid]), d))
    elif cid in pend:
        counts["pending"] += 1
        if verbose:
            print("PENDING %s: %s\n%s" % (cid, pend[cid], d))
    else:
        problems.append("%s differs from the reference:\n%s" % (cid, d))


def codex_sign_in(stack):
    """The codex provider signed in as record.py signs the reference in:
    credentials from the fake's OAuth server, stored where
    `copilot-api auth login --provider codex` stores them."""
    import sqlite3
    creds = corpus.codex_credentials(stack.fake.url)
    db = sqlite3.connect(os.path.join(stack.home, "copilot-api.db"), timeout=10)
    try:
        db.execute("INSERT OR REPLACE INTO kv (key, value, updated_at_ms) "
                   "VALUES (?, ?, ?)", ("codex_credentials", json.dumps(creds),
                                        int(time.time() * 1000)))
        db.commit()
    finally:
        db.close()


def restart(stack, base, cfg, refresh):
    """Gives the running responder the corpus config (providers point at
    this Stack's fake) over the Stack's own: written to config.json, then
    the responder restarts.  refresh: copilot-refresh --force first, which
    reads the fake's model list and copilot_internal/user anew."""
    merged = corpus.merged(base, cfg)
    stack.config = merged
    with open(os.path.join(stack.home, "config.json"), "w") as f:
        json.dump(merged, f, indent=2)
    if refresh:
        import subprocess
        subprocess.run([os.path.join(harness.BIN, "copilot-refresh"), "--force",
                        "--quiet"], env=stack.env, check=True, capture_output=True)
    harness.stop(stack.fcgi)
    stack.start_fcgi()
    harness.wait_until(lambda: stack.get("/")[0] == 200, timeout=60,
                       what="responder with the corpus config")

if __name__ == "__main__":
    main()
