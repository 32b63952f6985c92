"""Run every benchmark, each in its own interpreter, print one table (benchmark | ours |
reference | ratio | goal | met?) and write ``bench/results.json``.

    python bench/run_all.py --quick            # each benchmark in its quick mode (< 2 min each)
    python bench/run_all.py                    # the full run
    python bench/run_all.py --only payload slider
    python bench/run_all.py --device cuda      # training on a GPU, where there is one

Nothing here asserts: a goal not met is a "NO" in the table; the exit status is 1 only when a
benchmark itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
# Cheap first; the long ones last. Seconds allowed for a full run of each.
BENCHMARKS = {"payload": 300, "export": 300, "homework": 600, "slider": 900, "refresh": 600,
              "startup": 900, "umap": 1800, "roofline": 900, "training": 1800, "classroom": 900}


def versions() -> dict:
    out = {"python": platform.python_version(), "cpus": os.cpu_count()}
    for module in ("torch", "numpy", "streamlit", "plotly", "umap", "sklearn"):
        try:
            out[module] = __import__(module).__version__
        except ImportError:
            out[module] = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", choices=list(BENCHMARKS))
    ap.add_argument("--device", default="cpu", help="for the training benchmark (cpu, cuda, auto)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    args = ap.parse_args()

    started, load_start = time.time(), C.load_average()
    results, failures = {}, {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-all-"))
    for name, timeout in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        out = tmp / f"{name}.json"
        cmd = [sys.executable, str(HERE / f"bench_{name}.py"), "--json", str(out)]
        cmd += ["--quick"] * args.quick + ["--device", args.device] * (name == "training")
        C.log(f"\n### {name} (load {C.load_average():.1f})")
        t = time.perf_counter()
        try:
            code = subprocess.run(cmd, cwd=C.ROOT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        if code == 0 and out.exists():
            results[name] = json.loads(out.read_text()) | {"seconds": time.perf_counter() - t}
        else:
            failures[name] = f"exit {code} after {time.perf_counter() - t:.0f} s"

    rows = [C.Row(**row) for r in results.values() for row in r["rows"]]
    C.log(f"\nAll benchmarks ({'quick' if args.quick else 'full'}), {time.time() - started:.0f} s, "
          f"load average {load_start:.1f} -> {C.load_average():.1f} on {os.cpu_count()} CPUs. "
          f"Ratio = ours / reference.\n\n{C.table(rows)}")
    for name, why in failures.items():
        C.log(f"FAILED: {name}: {why}")
    args.out.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick,
        "load_average": [load_start, C.load_average()], "versions": versions(),
        "failures": failures, "benchmarks": results}, indent=1))
    C.log(f"wrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
