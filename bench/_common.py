"""Shared by the benchmarks: interleaved timing, medians, the result table and its JSON.

Every benchmark measures ours against a reference in the same run, alternating the two, and
reports medians: the machines this runs on are small and shared, so one timing means little.
Nothing here asserts on time; a benchmark only reports whether a goal was met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def median(xs) -> float:
    xs = [float(x) for x in xs]
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, q: float) -> float:
    """The q-th percentile (0..100), interpolated between order statistics."""
    xs = [float(x) for x in xs]
    if len(xs) < 2:
        return xs[0] if xs else float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[min(98, max(0, round(q) - 1))]


def interleaved(fns: dict[str, Callable[[], float | None]], repeats: int) -> dict[str, list[float]]:
    """Call each function `repeats` times, reversing the order every round (A B, B A, ...), so
    a burst of background load hits every side alike. A function returns its own measurement,
    or None to have its call timed here (seconds)."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            value = fns[name]()
            out[name].append(time.perf_counter() - t if value is None else float(value))
    return out


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def log(*a) -> None:
    print(*a, flush=True)


@dataclass
class Row:
    """One line of the summary table; `met` is None when there is no goal or no measurement."""

    benchmark: str
    ours: float | None
    reference: float | None
    unit: str
    goal: str = ""
    met: bool | None = None
    reference_name: str = ""
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        return self.ours / self.reference if self.ours is not None and self.reference else None


def fmt(x: float | None, unit: str = "") -> str:
    if x is None or x != x:
        return "n/a"
    ax = abs(x)
    s = f"{x:,.0f}" if ax >= 1000 else f"{x:.1f}" if ax >= 10 else f"{x:.3g}" if ax >= 1 else (
        f"{x:.4g}")
    return f"{s} {unit}".strip()


def table(rows: list[Row]) -> str:
    head = ["benchmark", "ours", "reference", "ratio", "goal", "met?"]
    body = [[r.benchmark, fmt(r.ours, r.unit), fmt(r.reference, r.unit),
             "n/a" if r.ratio is None else f"{r.ratio:.2f}×", r.goal or "—",
             "—" if r.met is None else ("yes" if r.met else "NO")] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = [head, ["-" * w for w in widths], *body]
    return "\n".join("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                     + " |" for line in lines)


def main_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="fewer repeats: done in under 2 min")
    ap.add_argument("--json", type=Path, help="write the rows and raw measurements here")
    if extra:
        extra(ap)
    return ap.parse_args()


def finish(name: str, rows: list[Row], args, details: dict | None = None) -> None:
    """Print this benchmark's table and write its JSON (for run_all.py)."""
    print(f"\n== {name} ==\n{table(rows)}", flush=True)
    if args.json:
        payload = {"name": name, "rows": [asdict(r) for r in rows], "details": details or {},
                   "load_average_end": load_average()}
        args.json.write_text(json.dumps(payload, indent=1, default=float))
