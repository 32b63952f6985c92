"""Pictures for slides (explorer.figures.export): a chart or an image grid as a PNG at twice its
on-screen size and as an SVG titled with the model and its settings; strips and a replay as GIF
and MP4 movies. Charts and MP4 start a process (Chromium, ffmpeg): those tests are `slow`."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from explorer.figures import export
from explorer.figures.plots import replay_figure

TITLE = "mnist-vae · UMAP · colour = digit"
SVG = "{http://www.w3.org/2000/svg}"


def _digits(n: int, size: int = 8) -> np.ndarray:
    """(n, size, size) images in [0, 1], each a different brightness: frames tell apart."""
    images = np.zeros((n, size, size), dtype=np.float32)
    for k in range(n):
        images[k, 1:-1, 2:-2] = (k + 1) / n
    return images


def _svg_texts(svg: bytes) -> str:
    root = ET.fromstring(svg)  # parses as XML, or the test fails here
    return " ".join("".join(el.itertext()) for el in root.iter()
                    if el.tag in (f"{SVG}text", f"{SVG}title"))


def test_title_and_file_name_carry_model_and_settings():
    assert export.title_text("mnist-vae", ["UMAP", "", "colour = digit"]) == TITLE
    assert export.file_stem(TITLE) == "mnist-vae-UMAP-colour-digit"
    assert export.file_stem("β-VAE (β = 0.5) / ../../etc") == "VAE-0.5-etc"
    assert export.file_stem("a/b\\c") == "a-b-c" and export.file_stem("···") == "export"


def test_grid_png_is_twice_the_on_screen_grid_under_its_title():
    images = _digits(6)  # 8x8 tiles drawn 5x on screen (tile_px 40): 2 rows of 3
    screen = export.grid_picture(images, ncols=3, tile_px=40)
    assert screen.shape[:2] == ((1 + 2 * 9) * 5, (1 + 3 * 9) * 5)
    png = Image.open(io.BytesIO(export.grid_png(images, ncols=3, title=TITLE, tile_px=40)))
    assert png.width == 2 * screen.shape[1]
    band = png.height - 2 * screen.shape[0]
    assert band > 0  # the title's band
    picture = np.asarray(png.convert("L"))[band:]
    # Every on-screen pixel is a 2x2 block of the same value: nothing blurred.
    assert np.array_equal(picture[::2, ::2], screen[:, :, 0])
    assert np.array_equal(picture[1::2, 1::2], screen[:, :, 0])
    # The band holds dark text (the title), not just white.
    assert np.asarray(png.convert("L"))[:band].min() < 100


def test_grid_svg_parses_with_its_title_and_embeds_the_crisp_png():
    svg = export.grid_svg(_digits(4), ncols=4, title="ae <script>x</script> & co", tile_px=24)
    root = ET.fromstring(svg)
    assert "ae <script>x</script> & co" in _svg_texts(svg)  # escaped text, not markup
    assert not list(root.iter(f"{SVG}script"))
    [image] = list(root.iter(f"{SVG}image"))
    data = image.get("href").removeprefix("data:image/png;base64,")
    import base64

    png = Image.open(io.BytesIO(base64.b64decode(data)))
    assert png.width == 2 * int(float(image.get("width")))  # the 2x pixels, drawn at 1x


def test_strip_gif_has_one_frame_per_image_of_the_right_size():
    images = _digits(7)
    frames = export.strip_frames(images, TITLE, tile_px=32)  # 8 px tiles drawn 4x, 2x for export
    gif = Image.open(io.BytesIO(export.gif(frames, duration_ms=100)))
    assert gif.n_frames == 7
    assert gif.size == (frames[0].shape[1], frames[0].shape[0])
    assert gif.info["loop"] == 0 and gif.info["duration"] == 100
    # Each frame shows its own image: the grey at the tile's centre (the tile is 64 px, centred
    # under the title) grows along the strip.
    greys = []
    for k in range(gif.n_frames):
        gif.seek(k)
        frame = np.asarray(gif.convert("L"))
        greys.append(int(frame[-28, frame.shape[1] // 2]))
    assert greys == sorted(greys) and len(set(greys)) == 7
    bounced = Image.open(io.BytesIO(export.gif(frames, bounce=True)))
    assert bounced.n_frames == 2 * 7 - 2


@pytest.mark.slow
def test_mp4_holds_the_frames():
    frames = export.strip_frames(_digits(5), TITLE, tile_px=24)
    movie = export.mp4(frames, fps=5)
    assert movie[4:8] == b"ftyp" and len(movie) > 1000


@pytest.mark.slow
def test_chart_png_is_twice_its_size_and_svg_carries_the_title():
    fig = go.Figure(go.Scattergl(x=[0, 1, 2], y=[2, 0, 1], mode="markers"))  # like the map
    fig.update_layout(height=330)  # the page sets a height; the width is the export's own
    width, height = export.chart_size(fig)
    png = Image.open(io.BytesIO(export.chart_png(fig, TITLE)))
    assert png.size == (2 * width, 2 * height)
    svg = export.chart_svg(fig, "<b>run</b> · PCA")
    assert "<b>run</b> · PCA" in _svg_texts(svg)  # shown as typed, not as bold markup
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}image"))  # vector points, not WebGL's raster picture
    assert len([p for p in root.iter(f"{SVG}path") if "point" in (p.get("class") or "")]) == 3
    assert fig.layout.title.text is None and fig.data[0].type == "scattergl"  # page's, untouched


@pytest.mark.slow
def test_replay_movie_has_one_titled_frame_per_epoch():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(4, 30, 2))
    fig = replay_figure(coords, np.arange(4), rng.integers(0, 3, 30), ["a", "b", "c"], height=400)
    frames = export.chart_frames(fig, TITLE)
    assert len(frames) == 4 and frames[0].shape == (400, export.CHART_WIDTH, 3)
    assert not np.array_equal(frames[0], frames[-1])  # the points moved
    gif = Image.open(io.BytesIO(export.gif(frames)))
    assert gif.n_frames == 4 and gif.size == (export.CHART_WIDTH, 400)
