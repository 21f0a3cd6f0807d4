#!/usr/bin/env python3
"""Sum the Check results of meson test runs into one "N passed, N failed" line.

meson counts test executables; we want to count checks. Every unit-test
executable runs one Check suite, which prints a summary line

    91%: Checks: 23, Failures: 2, Errors: 0

so for each build dir given, this reads the last `meson test` log and adds
up checks - failures - errors as passed and failures + errors as failed.
It reads meson-logs/testlog.json, the machine-readable twin of
testlog.txt: same output, plus meson's verdict per test, which tells an
expected failure (should_fail) or a skip from a real one.
A test that failed (bad exit, signal, timeout) without a Check summary, or
that failed after printing a clean one (a leak found at exit, say), counts
as one more failure; tests that are not Check suites (scripts, the CLI) add
nothing when they pass. A build dir without a test log counts as one
failure, since its tests did not run.

The last line printed is exactly "N passed, N failed"; failing tests are
listed above it. Exit status 1 if anything failed.

Used by scripts/test.sh (one dir) and .ci/run (all dirs, plus
--add-failed for stages that failed before any test ran).
"""
import argparse
import json
import os
import re
import sys

SUMMARY = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)",
                     re.M)
# meson's results that are not failures.
GOOD = {"OK", "SKIP", "EXPECTEDFAIL"}


def from_json(path):
    """(name, result, output) per test."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                t = json.loads(line)
                out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
                yield t["name"], t["result"], out


def count(build_dir, bad):
    logs = os.path.join(build_dir, "meson-logs")
    path = os.path.join(logs, "testlog.json")
    if not os.path.exists(path):
        bad.append(f"{build_dir}: no test log (did the tests run?)")
        return 0, 1
    passed = failed = 0
    for name, result, out in from_json(path):
        sums = SUMMARY.findall(out)
        checks = sum(int(c) for c, _, _ in sums)
        fails = sum(int(f) + int(e) for _, f, e in sums)
        passed += checks - fails
        failed += fails
        if result not in GOOD:
            if fails == 0:
                failed += 1  # died without saying which check failed
            bad.append(f"{build_dir}: {name}: {result}")
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dirs", nargs="+")
    ap.add_argument("--add-failed", type=int, default=0, metavar="N",
                    help="count N more failures (stages with no test log)")
    args = ap.parse_args()

    bad = []
    passed, failed = 0, args.add_failed
    for d in args.build_dirs:
        p, f = count(d, bad)
        passed += p
        failed += f
    for line in bad:
        print(f"FAILED {line}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
