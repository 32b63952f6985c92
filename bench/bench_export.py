"""Exports for slides: what one press of PNG / SVG / GIF / MP4 costs the server.

Ours: explorer.figures.export, whose charts go through one kept Kaleido browser (started on the
first export; that first one is reported alone). Reference, same run, alternated with ours:
plotly's static export as it comes (Kaleido without a kept server starts a fresh Chromium for
every image). Image grids and movies need no browser; their rows are for information.

    .venv/bin/python bench/bench_export.py [--quick] [--json out.json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import numpy as np  # noqa: E402


def chart():
    """The latent map of 1,000 codes as the Map page draws it (ten class traces)."""
    from explorer.figures.map import map_figure

    rng = np.random.default_rng(0)
    return map_figure(rng.normal(size=(1000, 2)).astype(np.float32), rng.integers(0, 10, 1000),
                      [str(c) for c in range(10)], "latent", height=560)


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    repeats = 3 if args.quick else 8
    import kaleido
    from kaleido import _sync_server

    from explorer.figures import export

    fig = chart()
    title = "mnist-vae-mlp-z2 · latent axes · colour = class"
    width, height = export.chart_size(fig)
    titled = export.titled(fig, title).to_plotly_json()

    def reference():  # plotly's path without a kept server: a fresh browser per image
        _sync_server.oneshot_async_run(kaleido.calc_fig, args=(titled,), kwargs=dict(
            opts=dict(format="png", width=width, height=height, scale=2),
            kopts=dict(mathjax=False)))

    t = time.perf_counter()
    first = export.chart_png(fig, title)
    cold_s = time.perf_counter() - t
    runs = C.interleaved({"ours": lambda: export.chart_png(fig, title) and None,
                          "reference": reference}, repeats)
    svg = C.interleaved({"svg": lambda: export.chart_svg(fig, title) and None}, repeats)["svg"]

    strip = np.random.default_rng(1).random((10, 28, 28)).astype(np.float32)
    grid = np.random.default_rng(2).random((225, 28, 28)).astype(np.float32)
    frames = export.strip_frames(strip, title, tile_px=72)
    pictures = C.interleaved({
        "grid png": lambda: export.grid_png(grid, 15, title, tile_px=56) and None,
        "grid svg": lambda: export.grid_svg(grid, 15, title, tile_px=56) and None,
        "strip gif": lambda: export.gif(export.strip_frames(strip, title, 72), bounce=True)
        and None,
        "strip mp4": lambda: export.mp4(frames, bounce=True) and None}, repeats)
    ms = {k: 1e3 * C.median(v) for k, v in pictures.items()}
    rows = [
        C.Row("chart PNG 2x (1000-point map), per press", 1e3 * C.median(runs["ours"]),
              1e3 * C.median(runs["reference"]), "ms", goal="faster",
              met=C.median(runs["ours"]) < C.median(runs["reference"]),
              reference_name="plotly to_image (a browser per image)",
              notes=f"{len(first) / 1e3:.0f} kB"),
        C.Row("first chart export (starts the browser)", 1e3 * cold_s, None, "ms", goal="(info)"),
        C.Row("chart SVG, per press", 1e3 * C.median(svg), None, "ms", goal="(info)"),
        C.Row("image grid 15×15 PNG 2x", ms["grid png"], None, "ms", goal="(info)"),
        C.Row("image grid 15×15 SVG", ms["grid svg"], None, "ms", goal="(info)"),
        C.Row("10-step strip GIF (18 frames)", ms["strip gif"], None, "ms", goal="(info)"),
        C.Row("10-step strip MP4 (18 frames)", ms["strip mp4"], None, "ms", goal="(info)"),
    ]
    C.finish("export", rows, args, {"chart_s": runs, "svg_s": svg, "pictures_s": pictures,
                                    "cold_s": cold_s})


if __name__ == "__main__":
    main()
