"""Run every benchmark, print one table (benchmark | ours | reference | ratio | goal | met?) and
write ``bench/results.json``.

Each benchmark runs in its own interpreter (so imports, numba's JIT and torch's thread settings
of one never leak into the next) and measures ours against its reference in the same run.

    python bench/run_all.py --quick            # a few minutes: fewer repeats, no 10k cold UMAP
    python bench/run_all.py                    # the full run
    python bench/run_all.py --only payload slider
    python bench/run_all.py --device cuda      # training on a GPU, where there is one
    python bench/run_all.py --show             # the table of the last results.json again

Nothing here asserts: a goal not met is reported as "NO" in the table, and the exit status is 0
unless a benchmark itself crashed.
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
# Cheap and independent of load first; training last (it is the longest on a busy machine).
BENCHMARKS = ("payload", "slider", "startup", "map", "training")
TIMEOUT_S = {"payload": 300, "slider": 900, "startup": 900, "map": 2400, "training": 2400}


def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform(),
           "cpus": os.cpu_count()}
    for mod in ("torch", "numpy", "streamlit", "plotly", "umap", "numba", "sklearn"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", choices=BENCHMARKS)
    ap.add_argument("--device", default="cpu", help="for the training benchmark (cpu, cuda, auto)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--show", action="store_true",
                    help="only print the table of the results file (--out) and exit")
    args = ap.parse_args()
    if args.show:
        saved = json.loads(args.out.read_text())
        print(f"{saved['when']}, {'quick' if saved['quick'] else 'full'} run, "
              f"{saved['seconds']:.0f} s, load average {saved['load_average'][0]:.1f} -> "
              f"{saved['load_average'][1]:.1f} on {saved['versions']['cpus']} CPUs\n")
        print(C.table([C.Row(**row) for row in saved["table"]]))
        return 0

    names = [b for b in BENCHMARKS if not args.only or b in args.only]
    started = time.time()
    load_start = C.load_average()
    results, failures = {}, {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-all-"))
    for name in names:
        out = tmp / f"{name}.json"
        cmd = [sys.executable, str(HERE / f"bench_{name}.py"), "--json", str(out)]
        if args.quick:
            cmd.append("--quick")
        if name == "training":
            cmd += ["--device", args.device]
        print(f"\n### {name}: {' '.join(cmd[1:])}  (load {C.load_average():.1f})", flush=True)
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=C.ROOT, timeout=TIMEOUT_S[name],
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        seconds = time.perf_counter() - t
        if code == 0 and out.exists():
            results[name] = json.loads(out.read_text()) | {"seconds": seconds}
        else:
            failures[name] = f"exit {code} after {seconds:.0f} s"
            print(f"!!! {name} failed: {failures[name]}", flush=True)

    rows = [C.Row(**{k: v for k, v in r.items()})
            for name in names if name in results for r in results[name]["rows"]]
    print("\n" + "=" * 100)
    print(f"All benchmarks ({'quick' if args.quick else 'full'}), "
          f"{time.time() - started:.0f} s, load average {load_start:.1f} -> "
          f"{C.load_average():.1f} on {os.cpu_count()} CPUs. Ratio = ours / reference.\n")
    print(C.table(rows))
    for name, why in failures.items():
        print(f"FAILED: {name}: {why}")
    payload = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick,
               "seconds": time.time() - started, "load_average": [load_start, C.load_average()],
               "versions": versions(), "failures": failures,
               "table": [{k: v for k, v in r.__dict__.items() if k != "details"} for r in rows],
               "benchmarks": results}
    args.out.write_text(json.dumps(payload, indent=1, default=str))
    print(f"\nwrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
