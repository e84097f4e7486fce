#!/usr/bin/env python3
"""Records the reference's side of the corpus.  Run by hand, never in CI:

    python3 tests/reference/record.py --refseed DIR [--missing] [CASE-ID-PREFIX ...]

DIR is the refseed kit that runs caozhiyuan/copilot-api v1.10.10 (commit
8e73c65) against a loopback fake (its start.sh / stop.sh); the environment
variable COPILOT_API_REFSEED may name it instead; with REFSEED_REF=1.14.7
in the environment the kit runs v1.14.7 (commit e3a2e0b) and the cases say
so.  One fake upstream
(tests/fake/fake_upstream.py) serves every case, one reference instance
each group of cases that share a start-up (the case's "config" merged into
config.json, the fake's model list and user at start-up: corpus.groups);
each case's fake configuration is applied before it runs.  The reference's
side (the upstream requests it made and what its client received, normalised)
is written into the case file under "reference"."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import corpus

ROOT = os.path.dirname(os.path.dirname(corpus.HERE))
FAKE = os.path.join(ROOT, "tests", "fake", "fake_upstream.py")


def free_port(lo=25000, hi=26999):
    for port in range(lo + os.getpid() % 1000, hi):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def start_fake(workdir):
    portfile = os.path.join(workdir, "fake.port")
    log = open(os.path.join(workdir, "fake.log"), "wb")
    proc = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--portfile", portfile],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        if os.path.exists(portfile) and os.path.getsize(portfile) > 0:
            break
        time.sleep(0.05)
    with open(portfile) as f:
        return proc, "http://127.0.0.1:%d" % int(f.read().strip())


REF_VERSIONS = {"1.14.7": {"version": "1.14.7", "commit": "e3a2e0b"}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refseed", default=os.environ.get("COPILOT_API_REFSEED"))
    ap.add_argument("--missing", action="store_true",
                    help="only cases that have no recorded side yet")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("prefixes", nargs="*")
    args = ap.parse_args()
    if not args.refseed:
        sys.exit("record.py: give --refseed DIR or COPILOT_API_REFSEED")
    cases = [(cid, path) for cid, path in corpus.case_files()
             if not args.prefixes or any(cid.startswith(p) for p in args.prefixes)]
    if args.missing:
        cases = [(cid, p) for cid, p in cases if "reference" not in corpus.load(p)]
    if not cases:
        print("record.py: nothing to record")
        return
    # REFSEED_REF=1.14.7 (the kit's preset) records against v1.14.7
    ref_version = REF_VERSIONS.get(os.environ.get("REFSEED_REF", ""),
                                   corpus.REF_VERSION)
    workdir = tempfile.mkdtemp(prefix="corpus-record-")
    fake, fake_url = start_fake(workdir)
    port = args.port or free_port()
    # the built-in codex provider, signed in at the fake (refseed copies the
    # file to the reference's codex_credentials.json)
    credfile = os.path.join(workdir, "codex_credentials.json")
    with open(credfile, "w") as f:
        json.dump(corpus.codex_credentials(fake_url), f)
    try:
        # one reference per group of cases that share its start-up: the
        # corpus config with the cases' own "config", the fake's model list
        # and user as the cases have them (the reference reads both once)
        for overlay, start, members in corpus.groups(cases):
            print("# %s: %d cases" % (corpus.group_name(overlay, start), len(members)))
            cfgfile = os.path.join(workdir, "config.json")
            with open(cfgfile, "w") as f:
                json.dump(corpus.corpus_config(fake_url, overlay), f, indent=1)
            corpus.prepare_fake(fake_url, {"fake": {"config": start}})
            env = dict(os.environ, REFSEED_CONFIG=cfgfile, REFSEED_API_KEY=corpus.API_KEY,
                       REFSEED_CODEX_CREDENTIALS=credfile)
            subprocess.run([os.path.join(args.refseed, "start.sh"), fake_url, str(port)],
                           env=env, check=True, stdout=subprocess.DEVNULL)
            try:
                record_group(members, "http://127.0.0.1:%d" % port, fake_url, ref_version)
            finally:
                subprocess.run([os.path.join(args.refseed, "stop.sh"), str(port)],
                               stdout=subprocess.DEVNULL)
    finally:
        fake.terminate()
        fake.wait()


def record_group(members, base, fake_url, ref_version):
    for cid, path, case in members:
        obs = corpus.run(base, fake_url, case)
        case["reference"] = dict(ref_version, **obs)
        corpus.save(path, case)
        r = obs["response"]
        print("%-50s %s %d upstream" % (cid, r["status"], len(obs["upstream"])))

if __name__ == "__main__":
    main()
