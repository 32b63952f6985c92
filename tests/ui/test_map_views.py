"""The latent map's 3-D and decode-anywhere views: their figures, and the views on the page
(AppTest). A click on a plotly chart is simulated by setting the chart's selection state, the
same dict the browser sends; what a click means is unit-tested in test_mapview.py."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.analysis import inspect_latent, latent
from explorer.figures import map as figures_map

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["a", "b", "c"]


# ---------------------------------------------------------------------------------------------
# figures


def test_the_3d_figure_has_one_rotatable_trace_per_class_carrying_indices():
    coords = np.random.default_rng(0).normal(size=(30, 3))
    labels = np.arange(30) % 3
    fig = figures_map.map_3d_figure(coords, labels, NAMES, "pca")
    assert [t.type for t in fig.data] == ["scatter3d"] * 3 and [t.name for t in fig.data] == NAMES
    assert sorted(int(i) for t in fig.data for i in t.customdata) == list(range(30))
    assert np.allclose(np.asarray(fig.data[1].z), coords[labels == 1, 2])
    assert fig.layout.scene.xaxis.title.text == "PC 1"
    assert fig.layout.scene.zaxis.title.text == "PC 3"
    latent_fig = figures_map.map_3d_figure(coords, labels, NAMES, "latent")
    assert latent_fig.layout.scene.zaxis.title.text == "z[2]"
    assert latent_fig.layout.scene.aspectmode == "data"  # a latent keeps its proportions
    with pytest.raises(ValueError):
        figures_map.map_3d_figure(coords[:, :2], labels, NAMES)


def test_the_plane_answers_a_click_anywhere():
    rng = np.random.default_rng(0)
    codes2d = rng.normal(size=(40, 2))
    labels = np.arange(40) % 3
    extent = inspect_latent.map_extent(codes2d)
    fig = figures_map.plane_figure(codes2d, labels, NAMES, extent)
    grid = fig.data[0]
    assert grid.name == figures_map.GRID_NAME and grid.marker.opacity == 0  # unseen until clicked
    n = figures_map.CLICK_GRID
    gx, gy = np.asarray(grid.x), np.asarray(grid.y)
    assert len(gx) == n * n
    # Any position on the plane is within half a grid cell of a clickable point.
    x0, x1, y0, y1 = extent
    anywhere = np.column_stack([rng.uniform(x0, x1, 500), rng.uniform(y0, y1, 500)])
    d = np.abs(anywhere[:, None, 0] - gx[None]) / (x1 - x0) + \
        np.abs(anywhere[:, None, 1] - gy[None]) / (y1 - y0)
    assert d.min(axis=1).max() <= 1.0 / n + 1e-6
    # The codes are drawn over it, one trace per class, as on the map.
    assert [t.name for t in fig.data[1:]] == NAMES
    assert not fig.layout.images
    with_manifold = figures_map.plane_figure(codes2d, labels, NAMES, extent,
                                             image=np.zeros((40, 40), np.float32))
    assert len(with_manifold.layout.images) == 1
    # The clicked point shows on the white plane and on the manifold's black tiles: black,
    # ringed in white; the other positions stay unseen.
    clicked = with_manifold.data[0]
    assert clicked.selected.marker.opacity == 1 and clicked.unselected.marker.opacity == 0
    assert clicked.marker.color == "black"
    assert clicked.marker.line.color == "white" and clicked.marker.line.width >= 2


# ---------------------------------------------------------------------------------------------
# the views on the page


def open_view(view: str, model: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = model
    at.session_state["map_view"] = view  # what a click on the view switch does
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_the_3d_view_draws_a_16d_vaes_codes_in_three_dimensions(runs):
    at = open_view("3d", "pretrained/mnist-vae-mlp-z16", map_method="pca")
    (spec,) = chart_specs(at)
    assert {t["type"] for t in spec["data"]} == {"scatter3d"}
    assert len(spec["data"]) == 10, "one trace per digit class"
    assert spec["layout"]["scene"]["zaxis"]["title"]["text"] == "PC 3"
    captions = " ".join(c.value for c in at.caption)
    assert "principal components" in captions and "pick points on the 2-D map" in captions


def test_the_3d_view_of_a_2d_model_says_its_map_is_the_latent_itself(runs):
    at = open_view("3d", "pretrained/mnist-vae-mlp-z2")
    assert not chart_specs(at), "no 3-D chart for a 2-D code"
    (info,) = at.info
    assert "code is 2-D" in info.value and "no third axis" in info.value
    assert "whole latent space as it is" in info.value


def decoded(monkeypatch) -> list[np.ndarray]:
    """Every batch of codes the page decodes (and fail on any encoding) from now on."""
    calls = []
    original = latent.decode

    def spy(model, z):
        calls.append(np.array(z, dtype=np.float32).reshape(-1, model.cfg.latent_dim))
        return original(model, z)

    def no_encoding(*args, **kwargs):
        raise AssertionError("a click must not encode anything")

    monkeypatch.setattr(latent, "decode", spy)
    monkeypatch.setattr(latent, "encode_dataset", no_encoding)
    return calls


def click(at: AppTest, x: float, y: float) -> AppTest:
    """What the browser sends when a point of the plane at (x, y) is clicked."""
    at.session_state["plane_chart"] = {"selection": {
        "points": [{"curve_number": 0, "point_index": 0, "point_number": 0, "x": x, "y": y}],
        "point_indices": [0], "box": [], "lasso": []}}
    return at.run()


def codes_of(model: str) -> np.ndarray:
    from explorer.data import datasets
    from explorer.runs import checkpoints

    net, card = checkpoints.load_model(ROOT / model)
    return latent.encode_dataset(net, datasets.load_dataset(card["dataset"]["name"]).x_test)


@pytest.mark.parametrize("model", ["pretrained/mnist-vae-mlp-z2", "pretrained/mnist-ae-mlp-z16"])
def test_a_click_on_the_plane_decodes_that_point_and_prints_it(model, runs, monkeypatch):
    at = open_view("plane", model)
    assert not at.image, "nothing decoded before a click"
    mean = codes_of(model).mean(axis=0)
    calls = decoded(monkeypatch)
    click(at, 0.5, -1.0)
    assert not at.exception, [e.message for e in at.exception]
    (image,) = at.image
    # one code decoded, nothing encoded: the clicked position, the rest at the codes' mean
    assert len(calls) == 1 and calls[0].shape[0] == 1
    z = calls[0][0]
    i, j = (0, 1) if len(z) == 2 else (at.selectbox(key=k).value for k in ("plane_i", "plane_j"))
    assert (z[i], z[j]) == (0.5, -1.0)
    others = np.ones(len(z), bool)
    others[[i, j]] = False
    assert np.allclose(z[others], mean[others], atol=1e-5)
    if len(z) > 2:
        assert "held at the test codes' mean" in " ".join(c.value for c in at.caption)
    assert f"**z[{i}] = 0.50, z[{j}] = -1.00**" in [m.value for m in at.markdown]
    assert at.query_params["plane_at"] == "0.5,-1", "the link keeps the clicked point"
    # another point decodes to another picture; the first one, again, to the same picture
    first = image.value[0]
    click(at, -1.0, 1.5)
    assert at.image[0].value[0] != first
    click(at, 0.5, -1.0)
    assert at.image[0].value[0] == first


def test_another_model_forgets_the_clicked_point(runs):
    """A position belongs to one model's plane: after the sidebar's model changes, nothing is
    decoded until the student clicks, and the link no longer carries the old point."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"model": "pretrained/mnist-vae-mlp-z2", "plane_at": "2.55,3.48"})
    at.session_state["map_view"] = "plane"
    at.run()
    assert len(at.image) == 1, "the link's point is decoded"
    at.selectbox(key="model").set_value("pretrained/mnist-vae-mlp-z16").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.image and "plane_at" not in at.query_params
    assert any("Click anywhere on the plane" in c.value for c in at.caption)
    click(at, 0.5, -1.0)  # a click on the new plane decodes as before
    assert len(at.image) == 1 and at.query_params["plane_at"] == "0.5,-1"


def test_a_link_to_a_point_of_the_plane_decodes_it(runs):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"model": "pretrained/mnist-vae-mlp-z2", "plane_at": "1.5,0.25"})
    at.session_state["map_view"] = "plane"
    at.run()
    assert not at.exception and len(at.image) == 1
    assert "**z[0] = 1.50, z[1] = 0.25**" in [m.value for m in at.markdown]
