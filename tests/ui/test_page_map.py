"""The latent map page's views with AppTest: what the map is coloured by and its colour bar,
finding a test image or a class, two models side by side, and links that reopen each view.

A chart is read from its plotly spec (the JSON Streamlit sends to the browser), as a user would
see it: which traces, which colour bar, which points ringed.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.runs import store

ROOT = Path(__file__).resolve().parents[2]
Z2_VAE, Z2_AE = "pretrained/mnist-vae-mlp-z2", "pretrained/mnist-ae-mlp-z2"


def open_link(query: dict) -> AppTest:
    """The app as a shared link opens it: the map is the default page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def colour_bars(spec: dict) -> list[str]:
    return [t["marker"]["colorbar"]["title"]["text"] for t in spec["data"]
            if "colorbar" in t.get("marker", {})]


def points(trace: dict, axis: str) -> np.ndarray:
    """A trace's coordinates or colours; plotly sends float32 arrays base64-encoded."""
    value = trace[axis] if axis in trace else trace["marker"]["color"]
    if isinstance(value, dict):  # {"dtype": "f4", "bdata": ...}
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=np.float32)


@pytest.mark.parametrize(("colour", "title"), [
    ("reconstruction error", "reconstruction error, BCE nats per image"),
    ("KL per image", "KL(q(z|x) ‖ N(0, I)), nats per image"),
])
def test_each_colouring_names_its_quantity_and_units_on_the_colour_bar(runs, colour, title):
    at = open_link({"model": Z2_VAE, "map_colour": colour})
    assert at.selectbox(key="map_colour").value in ("error", "kl")
    (spec,) = charts(at)
    assert colour_bars(spec) == [title]
    values = points(spec["data"][0], "color")
    assert np.isfinite(values).all() and values.min() >= 0 and values.std() > 0


def test_colouring_by_one_dimension_colours_each_point_by_that_coordinate(runs):
    # The 2-D model's map is its latent plane, so z[1] is each point's height on the map.
    at = open_link({"model": Z2_VAE, "map_colour": "one latent dimension", "map_dim": "z[1]"})
    assert at.selectbox(key="map_dim").value == 1
    (spec,) = charts(at)
    assert colour_bars(spec) == ["z[1], posterior mean μ"]
    dots = spec["data"][0]
    np.testing.assert_allclose(points(dots, "color"), points(dots, "y"), rtol=1e-6)


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of a "#rrggbb" or "rgb(r, g, b)" colour against a white page."""
    if colour.startswith("#"):
        rgb = [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
    else:
        rgb = [float(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    linear = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
              for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_points_near_zero_of_one_dimension_stay_visible_on_the_white_page(runs):
    at = open_link({"model": Z2_VAE, "map_colour": "one latent dimension", "map_dim": "z[0]"})
    (spec,) = charts(at)
    scale = spec["data"][0]["marker"]["colorscale"]
    middle = [c for position, c in scale if abs(float(position) - 0.5) < 1e-9]
    assert middle, "the diverging scale has a colour at its centre, 0"
    assert all(contrast_with_white(c) >= 1.5 for _, c in scale), scale


def test_by_class_the_map_has_a_legend_and_no_colour_bar(runs):
    (spec,) = charts(open_link({"model": Z2_VAE}))
    assert not colour_bars(spec)
    assert [t["name"] for t in spec["data"]] == [str(d) for d in range(10)]


def test_kl_is_not_offered_for_an_autoencoder_and_a_link_asking_for_it_says_so(runs):
    at = open_link({"model": Z2_AE, "map_colour": "KL per image"})
    assert "kl" not in at.selectbox(key="map_colour").options
    assert at.selectbox(key="map_colour").value == "class"
    assert any("needs a VAE" in c.value for c in at.caption)
    assert not colour_bars(charts(at)[0])


def test_finding_an_image_rings_it_and_shows_it_as_the_selection(runs):
    at = open_link({"model": Z2_VAE, "map_find": "image", "map_find_index": "123"})
    captions = [c for image in at.image for c in image.captions]
    assert any(c.startswith("#123 · ") for c in captions), captions
    assert "1 selected" in [s.value for s in at.subheader]
    assert "Nearest to #123" in [s.value for s in at.subheader]
    (spec,) = charts(at)
    rings = spec["data"][-1]
    assert rings["name"] == "found" and list(points(rings, "customdata")) == [123]


def test_finding_a_class_selects_every_test_image_of_it(runs):
    at = open_link({"model": Z2_VAE, "map_find": "class", "map_find_class": "7"})
    (spec,) = charts(at)
    sevens = spec["data"][7]  # the class's own trace holds every test image of it
    rings = spec["data"][-1]
    assert sorted(points(rings, "customdata")) == sorted(points(sevens, "customdata"))
    # All of one class: the header does not call the 24 shown "of mixed classes".
    assert f"{len(points(sevens, 'x'))} selected (24 shown)" in [s.value for s in at.subheader]
    assert all(c.endswith(" · 7") for image in at.image[:1] for c in image.captions)


def test_a_link_to_the_beside_view_draws_both_models_maps(runs):
    at = open_link({"model": Z2_VAE, "map_view": "Two models", "map_other": Z2_AE})
    assert at.segmented_control(key="map_view").value == "beside"
    assert at.selectbox(key="map_other").value == Z2_AE
    left, right = charts(at)
    assert any("mnist-ae-mlp-z2" in m.value for m in at.markdown)
    # The same test images on both: the AE's map is its own latent plane, not the VAE's.
    assert sum(len(points(t, "x")) for t in left["data"]) == \
        sum(len(points(t, "x")) for t in right["data"])
    assert not np.allclose(points(left["data"][0], "x"), points(right["data"][0], "x"))
    # Only models of the same dataset, with an encoder, can go beside it.
    options = at.selectbox(key="map_other").options
    assert Z2_VAE not in options and "pretrained/digits-vae-mlp-z2" not in options
    assert "pretrained/mnist-gan-conv-z32" not in options


def test_the_beside_view_says_so_when_no_model_can_go_beside(runs, monkeypatch):
    entries, errors = store.list_models()
    alone = [e for e in entries if e.id == Z2_VAE]
    monkeypatch.setattr(store, "list_models", lambda *a, **k: (alone, errors))
    at = open_link({"model": Z2_VAE, "map_view": "Two models"})
    assert any("no second map" in i.value for i in at.info)
    assert not charts(at)
