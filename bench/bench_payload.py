"""Payload: the latent map's figure for 10,000 points in 10 classes, as sent to the browser.

Ours is ``explorer.figures.map.map_figure`` (one WebGL trace per class, float32 coordinates and int32
indices that plotly serialises as base64 typed arrays). The references build the same picture
the usual ways: ``plotly.express.scatter`` on a DataFrame (float64 columns, a string colour
column, the index as custom data, WebGL), and ``go.Scattergl`` traces fed Python lists (plain
JSON numbers). Measured: ``len(fig.to_json())`` (what ``st.plotly_chart`` serialises), its gzip
size, and the time to build + serialise (median of repeats). Goal: ours <= 1 MB.

    python bench/bench_payload.py [--quick] [--json out.json]
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

N_POINTS, N_CLASSES = 10_000, 10
GOAL_BYTES = 1_000_000


def points(n: int = N_POINTS, seed: int = 0):
    """A map-like cloud: 10 Gaussian blobs in 2-D with float32 coordinates, and their labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    centres = rng.normal(0.0, 8.0, (N_CLASSES, 2))
    coords = (centres[labels] + rng.normal(size=(n, 2))).astype(np.float32)
    return coords, labels


def ours(coords, labels):
    from explorer.figures.map import map_figure

    return map_figure(coords, labels, [str(i) for i in range(N_CLASSES)], "umap")


def reference_px(coords, labels):
    """What a page would write with plotly express: a DataFrame, colour by class name."""
    import numpy as np
    import pandas as pd
    import plotly.express as px

    df = pd.DataFrame({"x": coords[:, 0].astype(np.float64), "y": coords[:, 1].astype(np.float64),
                       "class": labels.astype(str), "index": np.arange(len(coords))})
    return px.scatter(df, x="x", y="y", color="class", custom_data=["index"],
                      render_mode="webgl", height=560)


def reference_lists(coords, labels):
    """The same traces as ours, but fed Python lists: every number becomes JSON text."""
    import numpy as np
    import plotly.graph_objects as go

    fig = go.Figure()
    index = np.arange(len(coords))
    for c in range(N_CLASSES):
        m = labels == c
        fig.add_trace(go.Scattergl(x=coords[m, 0].tolist(), y=coords[m, 1].tolist(),
                                   mode="markers", name=str(c), customdata=index[m].tolist(),
                                   marker=dict(size=5, opacity=0.8)))
    fig.update_layout(height=560)
    return fig


def sizes(build, coords, labels) -> dict:
    text = build(coords, labels).to_json()
    return {"bytes": len(text), "gzip_bytes": len(gzip.compress(text.encode()))}


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    repeats = 4 if args.quick else 10
    coords, labels = points()
    ours(coords, labels).to_json()  # import plotly and warm its validators up
    reference_px(coords, labels).to_json()
    builders = {"ours (map_figure)": ours, "px.scatter (DataFrame)": reference_px,
                "go.Scattergl with lists": reference_lists}

    def build_and_serialise(build):
        def run():
            build(coords, labels).to_json()  # timed by interleaved()
        return run

    runs = C.interleaved({name: build_and_serialise(build) for name, build in builders.items()},
                         repeats)
    res = {name: sizes(build, coords, labels) | {"build_json_s": C.median(runs[name])}
           for name, build in builders.items()}
    for k, v in res.items():
        C.log(f"{k:28s} {v['bytes'] / 1e6:7.3f} MB JSON  {v['gzip_bytes'] / 1e6:7.3f} MB gzip  "
              f"build+to_json {1e3 * v['build_json_s']:7.1f} ms")
    o, px_, li = (res["ours (map_figure)"], res["px.scatter (DataFrame)"],
                  res["go.Scattergl with lists"])
    rows = [
        C.Row("map payload, 10k points (JSON bytes)", o["bytes"] / 1e6, px_["bytes"] / 1e6, "MB",
              goal="≤ 1 MB", met=o["bytes"] <= GOAL_BYTES, reference_name="px.scatter default",
              notes=f"gzip: {o['gzip_bytes'] / 1e6:.2f} vs {px_['gzip_bytes'] / 1e6:.2f} MB"),
        C.Row("map payload vs go.Scattergl with lists", o["bytes"] / 1e6, li["bytes"] / 1e6, "MB",
              goal="(info)", reference_name="lists"),
        C.Row("map figure build + to_json, 10k points", o["build_json_s"] * 1e3,
              px_["build_json_s"] * 1e3, "ms", goal="(info)",
              reference_name="px.scatter default"),
    ]
    C.finish("payload", rows, args, {"sizes": res, "points": N_POINTS, "classes": N_CLASSES})


if __name__ == "__main__":
    main()
