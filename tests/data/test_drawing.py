"""Drawing a digit: a canvas or an upload prepared the way MNIST and the 8x8 digits were, then
encoded; and the Draw page renders (AppTest cannot draw on the canvas, so the page is driven
through its built-in example drawings)."""

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.analysis import latent
from explorer.analysis.neighbours import Space
from explorer.data import drawing
from explorer.data.datasets import load_dataset
from explorer.errors import ExplorerError
from explorer.runs.checkpoints import load_model
from tests.hostile import evil_pickle

ROOT = Path(__file__).resolve().parents[2]


def stroke_pattern(size: int = 280) -> np.ndarray:
    """An 'L' and a dot drawn with numpy in the canvas's top-right corner: white on black."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    canvas[20:120, 170:182] = 255  # the upright
    canvas[108:120, 170:240] = 255  # the foot
    canvas[30:45, 225:240] = 255  # a dot
    return canvas


def bounding_box(img: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("picture", [
    stroke_pattern(),
    drawing.example_drawing("4", offset=(0.18, 0.12)),
    drawing.example_drawing("0", offset=(-0.2, 0.1)),
], ids=["numpy L", "example 4", "example 0"])
def test_an_off_centre_drawing_lands_centred_like_mnist(picture):
    x = drawing.preprocess_drawing(picture)
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == pytest.approx(1.0)
    row, col = drawing.centre_of_mass(x)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    height, width = bounding_box(x > 0)
    assert max(height, width) <= 20 and max(height, width) >= 19  # fitted to the 20-px box
    assert 0.0 < x.mean() < 0.5  # grey strokes on black, not a filled square


def test_polarity_is_detected_whatever_the_pen_and_paper():
    white_on_black = stroke_pattern()
    black_on_white = 255 - white_on_black
    rgb_black_on_white = np.repeat(black_on_white[..., None], 3, axis=2)
    transparent = np.zeros((280, 280, 4), dtype=np.uint8)  # black pen on a see-through canvas
    transparent[..., 3] = white_on_black
    expected = drawing.preprocess_drawing(white_on_black)
    assert not drawing.is_dark_on_light(white_on_black)
    assert drawing.is_dark_on_light(black_on_white)
    for picture in (black_on_white, rgb_black_on_white, transparent,
                    white_on_black.astype(np.float32) / 255.0):
        np.testing.assert_allclose(drawing.preprocess_drawing(picture), expected, atol=1e-5)


@pytest.mark.parametrize("blank", [np.zeros((280, 280, 4), np.uint8),
                                   np.full((280, 280), 255, np.uint8),
                                   np.full((50, 60, 3), 128, np.uint8)],
                         ids=["empty canvas", "white paper", "grey"])
def test_an_empty_canvas_asks_for_a_drawing(blank):
    with pytest.raises(drawing.EmptyDrawingError, match="Draw something first"):
        drawing.preprocess_drawing(blank)
    with pytest.raises(ValueError):  # a ValueError-like ExplorerError
        drawing.preprocess_digits(blank)
    assert issubclass(drawing.EmptyDrawingError, ExplorerError)


def test_the_8x8_variant_follows_the_digits_conventions():
    x = drawing.preprocess_digits(drawing.example_drawing("7", offset=(0.15, -0.05)))
    assert x.shape == (8, 8) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
    np.testing.assert_allclose(x * 16, np.round(x * 16), atol=1e-6)  # counts 0..16 over 16
    height, width = bounding_box(x > 0)
    assert height == 8  # a tall digit fills the frame's height, as in load_digits()
    assert drawing.preprocess_for(stroke_pattern(), (1, 8, 8)).shape == (1, 8, 8)
    assert drawing.preprocess_for(stroke_pattern(), (1, 28, 28)).shape == (1, 28, 28)
    with pytest.raises(drawing.DrawingError, match="greyscale"):
        drawing.preprocess_for(stroke_pattern(), (3, 28, 28))


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def test_uploads_are_checked_before_they_are_decoded():
    photo = drawing.load_upload(png_bytes(255 - stroke_pattern(), "JPEG"))  # ink on paper
    assert photo.shape == (280, 280, 4) and photo.dtype == np.uint8
    x = drawing.preprocess_drawing(photo)
    assert x.max() == pytest.approx(1.0)
    assert np.abs(x - drawing.preprocess_drawing(stroke_pattern())).mean() < 0.05  # JPEG noise
    noise = png_bytes(np.random.default_rng(0).integers(0, 255, (100, 100), dtype=np.uint8))
    for bad, sentence in [
        (b"", "empty"),
        (b"not a picture at all", "could not be read"),
        (png_bytes(np.zeros((10, 10), np.uint8), "GIF"), "PNG or JPEG"),
        (png_bytes(np.zeros((5, 2001), np.uint8)), "2000 pixels"),
        (noise[: len(noise) // 2], "could not be read"),  # truncated
    ]:
        with pytest.raises(drawing.DrawingError, match=sentence):
            drawing.load_upload(bad)
    with pytest.raises(drawing.DrawingError, match="2 MB"):
        drawing.load_upload(b"\x89PNG" + bytes(2 * 1024 * 1024))



@pytest.mark.parametrize("fmt", ["JPEG", "MPO"])
def test_a_phone_photo_is_accepted_and_turned_upright(fmt):
    # As the sensor saw it: 60 wide, 40 high, a dark block at the top left; EXIF orientation 6
    # says "turn me 90° clockwise to view".
    sensor = np.full((40, 60), 255, np.uint8)
    sensor[:10, :20] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    img = Image.fromarray(sensor).convert("RGB")
    buffer = io.BytesIO()
    extra = {"save_all": True, "append_images": [img.copy()]} if fmt == "MPO" else {}
    img.save(buffer, format=fmt, exif=exif, quality=95, **extra)
    assert Image.open(io.BytesIO(buffer.getvalue())).format == fmt
    photo = drawing.load_upload(buffer.getvalue())
    upright = np.rot90(sensor, k=-1)  # (60, 40): the block now at the top right
    assert photo.shape == (60, 40, 4)
    assert np.abs(photo[..., 0].astype(int) - upright).mean() < 8  # JPEG noise only

def test_a_redrawn_test_digit_encodes_near_its_own_code():
    """An MNIST digit blown up onto a black-on-white canvas and prepared again comes back as
    itself: the same picture, and a code closer to its own than test codes usually are."""
    model, _ = load_model(ROOT / "pretrained" / "mnist-vae-mlp-z2")
    data = load_dataset("mnist-5k")
    original = data.x_test[7, 0].numpy()  # (28, 28)
    canvas = 1.0 - np.kron(original, np.ones((10, 10), np.float32))  # (280, 280) ink on paper
    x = drawing.preprocess_drawing(canvas)
    assert np.corrcoef(x.ravel(), original.ravel())[0, 1] > 0.8
    codes = latent.encode_dataset(model, data.x_test[:300])
    z = latent.encode_dataset(model, torch.from_numpy(x[None, None]))[0]
    typical = np.median(np.linalg.norm(codes - codes[7], axis=1))
    assert np.linalg.norm(z - codes[7]) < typical
    nearest, distance = Space(codes).nearest(z, k=5)
    assert len(nearest) == 5 and np.all(np.diff(distance) >= 0)
    assert np.allclose(distance, np.linalg.norm(codes[nearest] - z, axis=1), atol=1e-5)


# -- the page ---------------------------------------------------------------------------------
def open_draw_page(model: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["model"] = model
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("explorer/ui/pages/draw.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_draw_page_asks_for_a_drawing_first(runs):
    at = open_draw_page("pretrained/mnist-vae-mlp-z2")
    assert at.title[0].value == "Draw a digit"
    assert any("Draw a digit on the canvas" in i.value for i in at.info)


@pytest.mark.parametrize("model, extra", [
    ("pretrained/mnist-vae-mlp-z2", {}),
    ("pretrained/digits-ae-mlp-z2", {}),
    ("pretrained/mnist-ae-mlp-z16", {"draw_map_method": "pca"}),
], ids=["28x28 VAE z2", "8x8 AE z2", "28x28 AE z16 on PCA"])
def test_draw_page_encodes_an_example_drawing(model, extra, runs):
    at = open_draw_page(model, draw_source="example", **extra)
    captions = [c for image in at.image for c in image.captions]
    assert any(c.startswith("What the model sees") for c in captions)
    assert any(c.startswith("The model's reconstruction") for c in captions)
    # Eight nearest test images by code, then eight by pixels: "#index · class · distance".
    rows = [image.captions for image in at.image if any(" · " in c for c in image.captions)]
    assert [len(row) for row in rows] == [8, 8]
    for row in rows:
        distances = [float(c.rsplit("· ", 1)[1]) for c in row]
        assert distances == sorted(distances) and distances[0] >= 0
    sentences = [c.value for c in at.caption]
    for row in rows:  # each row's sentence names its most common class, or every one on a tie
        counts = Counter(c.split(" · ")[1] for c in row)
        top = max(counts.values())
        tied = sorted(name for name, n in counts.items() if n == top)
        said = (f"{top} of 8 are a {tied[0]}, the most common class among them." if len(tied) == 1
                else f"a tie between {', '.join(tied[:-1])} and {tied[-1]}, {top} each.")
        assert any(said in c for c in sentences), (said, sentences)
    assert any("images are in both rows" in c for c in sentences)
    assert at.get("plotly_chart"), "the drawing's place on the map"
    at.segmented_control(key="draw_example").set_value("1").run()
    assert not at.exception and not at.error


def test_pictures_never_unpickle(marker):
    with pytest.raises(drawing.DrawingError):
        drawing.load_upload(evil_pickle(marker))
