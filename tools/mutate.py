"""Plant each bug of tools/mutations/*.yaml, one at a time, and run the tests that should catch it.

Each yaml is a list of ``{id, file, old, new, tests}``: ``old`` is an exact substring found exactly once in ``file``
(relative to the repository root), ``new`` replaces it, ``tests`` are pytest arguments (files, node ids, ``-k ...``).
Per mutation: write the mutated file, run ``python -m pytest -q -x -m "not slow" <tests> -p no:cacheprovider``
(``--include-slow`` drops the marker filter), restore the original bytes (in ``finally``, so an interrupt restores
too), record caught (pytest exit 1: a test failed) or NOT CAUGHT (exit 0). Any other exit (no tests collected, usage
error, collection error) is reported as ERROR and does not count as caught.

    python tools/mutate.py                 # every mutation of every file
    python tools/mutate.py --only ID [--only ID2]
    python tools/mutate.py --file tools/mutations/tests.yaml --include-slow
    python tools/mutate.py --baseline      # first check each mutation's tests pass on the code as it is
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = ROOT / "tools" / "mutations"


def load(files: list[Path]) -> list[dict]:
    """Every mutation of ``files``, checked: the fields present, ``old`` found exactly once, ids unique."""
    out, seen = [], set()
    for f in files:
        entries = yaml.safe_load(f.read_text()) or []
        if not isinstance(entries, list):
            sys.exit(f"error: {f}: expected a YAML list of {{id, file, old, new, tests}}")
        for m in entries:
            missing = {"id", "file", "old", "new", "tests"} - set(m)
            if missing:
                sys.exit(f"error: {f}: mutation {m.get('id', '?')} lacks {sorted(missing)}")
            if m["id"] in seen:
                sys.exit(f"error: {f}: mutation id {m['id']} is used twice")
            seen.add(m["id"])
            m = {**m, "source": f.name, "tests": [m["tests"]] if isinstance(m["tests"], str) else list(m["tests"])}
            out.append(m)
    return out


def check(m: dict) -> str | None:
    """Why the mutation cannot be applied, or None."""
    path = ROOT / m["file"]
    if not path.is_file():
        return f"{m['file']}: no such file"
    n = path.read_text().count(m["old"])
    return None if n == 1 else f"{m['file']}: 'old' found {n} times (must be exactly once)"


def run_one(m: dict, include_slow: bool, timeout: int) -> tuple[str, float, str]:
    """Apply, test, restore. Returns (verdict, seconds, last lines of pytest's output)."""
    problem = check(m)
    if problem:
        return "ERROR", 0.0, problem
    path = ROOT / m["file"]
    original = path.read_bytes()
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *([] if include_slow else ["-m", "not slow"]),
           *m["tests"]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    t = time.monotonic()
    try:
        path.write_text(original.decode().replace(m["old"], m["new"], 1))
        try:
            r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
            rc, tail = r.returncode, (r.stdout + r.stderr).strip().splitlines()[-3:]
        except subprocess.TimeoutExpired:
            rc, tail = -1, [f"timed out after {timeout} s"]
    finally:
        path.write_bytes(original)
    verdict = {0: "NOT CAUGHT", 1: "caught"}.get(rc, "ERROR")
    return verdict, time.monotonic() - t, "\n".join(tail)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", action="append", type=Path, help="mutation yaml(s); default: tools/mutations/*.yaml")
    ap.add_argument("--only", action="append", metavar="ID", help="run only these mutation ids")
    ap.add_argument("--include-slow", action="store_true", help="run the named tests' slow ones too")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per mutation's pytest run (default 900)")
    ap.add_argument("--baseline", action="store_true",
                    help="first run each mutation's tests unmutated: they must pass (else the row says ERROR)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print pytest's last lines per mutation")
    a = ap.parse_args(argv)
    files = a.file or sorted(MUTATIONS.glob("*.yaml"))
    mutations = load(files)
    if a.only:
        unknown = set(a.only) - {m["id"] for m in mutations}
        if unknown:
            print(f"error: --only {sorted(unknown)}: no such mutation id in {[str(f) for f in files]}", file=sys.stderr)
            return 2
        mutations = [m for m in mutations if m["id"] in a.only]
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *{m["file"] for m in mutations}], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        print(f"note: uncommitted changes in the mutated files (restored byte for byte afterwards):\n{dirty}")
    rows, caught = [], 0
    width = max([len(m["id"]) for m in mutations] + [2])
    fwidth = max([len(m["file"]) for m in mutations] + [4])
    print(f"{'id':<{width}} | {'file':<{fwidth}} | {'result':<10} | seconds", flush=True)
    baseline: dict = {}
    for m in mutations:
        key = tuple(m["tests"])
        if a.baseline and key not in baseline:
            ok, _, tail = run_one({**m, "new": m["old"]}, a.include_slow, a.timeout)  # the code as it is
            baseline[key] = ok == "NOT CAUGHT"  # exit 0: every test passed
            if not baseline[key]:
                print(f"baseline fails for {' '.join(key)}:\n    " + tail.replace("\n", "\n    "), flush=True)
        if a.baseline and not baseline[key]:
            rows.append((m, "ERROR"))
            print(f"{m['id']:<{width}} | {m['file']:<{fwidth}} | {'ERROR':<10} |     0.0  (baseline fails)", flush=True)
            continue
        verdict, seconds, tail = run_one(m, a.include_slow, a.timeout)
        caught += verdict == "caught"
        rows.append((m, verdict))
        print(f"{m['id']:<{width}} | {m['file']:<{fwidth}} | {verdict:<10} | {seconds:7.1f}", flush=True)
        if a.verbose or verdict == "ERROR":
            print("    " + tail.replace("\n", "\n    "), flush=True)
    if mutations:
        scope = "including slow tests" if a.include_slow else "with -m 'not slow'"
        print(f"caught {caught}/{len(mutations)} ({100 * caught / len(mutations):.0f} %) {scope}")
    return 0 if caught == len(mutations) else 1


if __name__ == "__main__":
    sys.exit(main())
