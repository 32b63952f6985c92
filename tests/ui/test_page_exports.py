"""Pages offer their charts and image grids for slides, in presenter mode too: PNG (2x) and SVG
under each, GIF and MP4 under a strip, each file named after the model and the settings, and
nothing made until a button is pressed (AppTest; the chart renders themselves are tested in
tests/figures/test_export.py and the browser test)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import ROOT

MODEL = "pretrained/mnist-vae-mlp-z2"


@pytest.fixture
def deferred(monkeypatch):
    """What each download button would make, by file name: the callables Streamlit keeps until
    a click (none of them is called by drawing the page)."""
    made: dict[str, object] = {}
    calls = []
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        def counted():
            calls.append(file_name)
            return data_callable()
        made[file_name] = counted
        return original(self, counted, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return made, calls


def presenting(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["model"] = MODEL
    at.query_params["present"] = "true"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.toggle(key="present").value is True
    return at


def labels(at: AppTest, key: str) -> list[str]:
    return [b.proto.label for b in at.get("download_button") if b.key.startswith(f"{key}_export_")]


def test_interpolation_offers_png_svg_gif_and_mp4_when_presenting(runs, deferred):
    made, calls = deferred
    at = presenting("explorer/ui/pages/interpolate.py")
    assert labels(at, "interp_strip") == ["PNG", "SVG", "GIF", "MP4"]
    assert labels(at, "grid") == ["PNG", "SVG"]  # a grid is not a movie
    assert calls == []  # drawing the page made no file
    # The strip's GIF: named after the model and the path, one frame per step, there and back.
    name = "mnist-vae-mlp-z2-linear-interpolation-0-100-10-steps.gif"
    assert name in made, sorted(made)
    gif = Image.open(io.BytesIO(made[name]()))
    assert gif.n_frames == 2 * 10 - 2
    png = Image.open(io.BytesIO(made[name.replace(".gif", ".png")]()))
    assert png.width > 2 * 10 * 28  # ten tiles of 28 px, at least twice as large as the data


def test_the_map_offers_its_chart_when_presenting(runs, deferred):
    made, calls = deferred
    at = presenting("explorer/ui/pages/latent_map.py")
    assert labels(at, "map_chart") == ["PNG", "SVG"]
    assert calls == []
    assert any(n.startswith("mnist-vae-mlp-z2-latent-axes-colour-class.") for n in made), sorted(made)


def test_decode_anywhere_offers_the_path_to_the_clicked_point_as_a_movie(runs, deferred):
    made, calls = deferred
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"model": MODEL, "plane_at": "1.5,0.25", "present": "true"})
    at.session_state["map_view"] = "plane"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert labels(at, "plane_chart") == ["PNG", "SVG"]
    assert labels(at, "plane_path") == ["GIF", "MP4"]
    assert calls == []
    [name] = [n for n in made if "decode-anywhere-path" in n and n.endswith(".gif")]
    # From the plane's centre (the test codes' mean: no point was clicked before) to the link's.
    assert name.endswith("-to-1.50-0.25.gif"), name
    gif = Image.open(io.BytesIO(made[name]()))
    assert gif.n_frames == 2 * 24 - 2  # 24 decodes along the path, there and back
    first = gif.convert("L").tobytes()
    gif.seek(23)
    assert gif.convert("L").tobytes() != first  # the picture changes along the path
