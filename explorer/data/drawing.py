"""A digit drawn by hand (or uploaded), prepared the way the training images were.

A model only understands images that look like its training set, so a drawing goes through the
same normalisation as the data did:

* MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/): each digit's bounding box was scaled
  to fit a 20x20 box preserving its aspect ratio (anti-aliasing gives grey levels), then placed
  in a 28x28 frame so that its centre of mass sits at the centre (about pixel (14, 14)).
* scikit-learn's 8x8 digits (UCI optdigits, ``load_digits().DESCR``): a 32x32 bitmap of the
  digit, its box scaled to fill the frame, divided into non-overlapping 4x4 blocks; each block
  counts its "on" pixels, 0..16. The dataset loader divides by 16.

Everything here is numpy and PIL; images are float32 in [0, 1], white strokes on black, like the
datasets. A drawing in any polarity (black on white paper, white on a black canvas, or strokes on a
transparent background) is brought to that convention first.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from explorer.errors import ExplorerError

MNIST_SIZE, MNIST_BOX = 28, 20
DIGITS_SIZE, DIGITS_BITMAP = 8, 32  # 8x8 counts of 4x4 blocks of a 32x32 bitmap
NOISE_FLOOR = 0.1  # ink below this (after normalising) is paper texture or JPEG noise
MIN_CONTRAST = 0.1  # less difference than this between ink and paper: nothing was drawn
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
UPLOAD_MAX_PX = 2000
UPLOAD_FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a phone camera's JPEG with extra frames


class DrawingError(ExplorerError, ValueError):
    """A drawing or an uploaded image that cannot be used; the message says what to do."""


class EmptyDrawingError(DrawingError):
    """Nothing was drawn yet: a prompt rather than a failure."""


# ----------------------------------------------------------------------------------------------
# from whatever came in to "ink": white strokes on black, in [0, 1]


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, as PIL's convert("L") computes it; (H, W, 3) -> (H, W)."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) pixels, uint8 or floats in [0, 1] -> (H, W) grey
    float32 in [0, 1], in the image's own polarity.

    With transparency (RGBA whose alpha is not everywhere opaque) what was drawn is what is
    opaque: dark strokes are laid on white paper, light strokes on black, so the strokes stand out
    whatever their colour.
    """
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    else:
        arr = arr.astype(np.float32)
        if arr.size and arr.max() > 1.0:  # floats in 0..255
            arr = arr / 255.0
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return np.clip(arr, 0.0, 1.0)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise DrawingError(
            f"Expected a picture of shape (height, width) or (height, width, 3 or 4); "
            f"got {arr.shape}."
        )
    grey = _luminance(arr[..., :3])
    if arr.shape[-1] == 4:
        alpha = arr[..., 3]
        if alpha.min() < 0.98:  # some of it is see-through
            weight = alpha.sum()
            content = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
            paper = 1.0 if content < 0.5 else 0.0  # the colour that contrasts with the strokes
            grey = grey * alpha + paper * (1.0 - alpha)
    return np.clip(grey, 0.0, 1.0).astype(np.float32)


def _border(grey: np.ndarray) -> np.ndarray:
    width = max(1, min(grey.shape) // 20)  # a 5% frame: the paper, whatever the drawing
    return np.concatenate([grey[:width].ravel(), grey[-width:].ravel(),
                           grey[:, :width].ravel(), grey[:, -width:].ravel()])


def is_dark_on_light(grey: np.ndarray) -> bool:
    """True when the paper is light (black pen on white), judged by the picture's border."""
    return float(np.median(_border(np.asarray(grey, dtype=np.float32)))) > 0.5


def ink(image: np.ndarray) -> np.ndarray:
    """The strokes of a drawing as (H, W) float32 in [0, 1]: 1 where the pen was, 0 on paper.

    Polarity is detected (the border is paper), the paper's own level is subtracted, the
    strokes are stretched to reach 1, and faint noise below :data:`NOISE_FLOOR` is cleared.
    Raises :class:`EmptyDrawingError` ("Draw something first") when there are no strokes.
    """
    grey = to_grey(image)
    if grey.size == 0 or min(grey.shape) < 2:
        raise EmptyDrawingError("Draw something first: the picture is empty.")
    if is_dark_on_light(grey):
        grey = 1.0 - grey
    paper = float(np.median(_border(grey)))
    strokes = grey - paper
    top = float(strokes.max())
    if top < MIN_CONTRAST:
        raise EmptyDrawingError("Draw something first: the canvas has no strokes on it.")
    out = np.clip(strokes / top, 0.0, 1.0)
    out[out < NOISE_FLOOR] = 0.0
    return out.astype(np.float32)


def _bounding_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), bottom and right exclusive, of the non-zero pixels."""
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float image: PIL widens its filter when shrinking, so every source
    pixel contributes (no aliasing), and the triangle filter never rings below 0 or above 1."""
    pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32))  # mode "F"
    out = pil.resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def _scale_box_to_fit(strokes: np.ndarray, box: int) -> np.ndarray:
    """Crop to the strokes' bounding box, then scale so its longer side is `box` pixels."""
    top, bottom, left, right = _bounding_box(strokes)
    crop = strokes[top:bottom, left:right]
    h, w = crop.shape
    scale = box / max(h, w)
    return _resize(crop, max(1, round(h * scale)), max(1, round(w * scale)))


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the image's centre of mass, in pixel-index coordinates."""
    img = np.asarray(img, dtype=np.float64)
    total = img.sum()
    if total <= 0:
        raise EmptyDrawingError("Draw something first: the picture is empty.")
    rows, cols = np.indices(img.shape)
    return float((rows * img).sum() / total), float((cols * img).sum() / total)


def _place(img: np.ndarray, size: int, centre: tuple[float, float]) -> np.ndarray:
    """Paste `img` into a black size x size frame at the whole-pixel offset that brings `centre`
    (a point of img) closest to the frame's centre, without letting the image hang over an edge."""
    h, w = img.shape
    target = size / 2.0  # MNIST's centres of mass average (14.0, 14.0) in index coordinates
    top, left = round(target - centre[0]), round(target - centre[1])
    # A lopsided digit (a 7's mass is at the top) may want to hang over the edge: keep the
    # whole box inside the frame instead; it costs the centring a pixel or two, not the ink.
    top, left = min(max(top, 0), max(size - h, 0)), min(max(left, 0), max(size - w, 0))
    frame = np.zeros((size, size), dtype=np.float32)
    r0, c0 = max(0, top), max(0, left)
    r1, c1 = min(size, top + h), min(size, left + w)
    if r1 > r0 and c1 > c0:
        frame[r0:r1, c0:c1] = img[r0 - top : r1 - top, c0 - left : c1 - left]
    return frame


# ----------------------------------------------------------------------------------------------
# the two datasets' conventions


def preprocess_drawing(rgba_or_grey: np.ndarray, size: int = MNIST_SIZE,
                       box: int = MNIST_BOX) -> np.ndarray:
    """A drawing as an MNIST digit: (size, size) float32 in [0, 1], white on black.

    The strokes' bounding box is scaled to fit a box x box square (aspect ratio kept, grey levels
    from the anti-aliased resize, brightest pixel 1), then placed so that the centre of mass sits
    at the frame's centre. Raises :class:`DrawingError` for an empty canvas.
    """
    if not 1 <= box <= size:
        raise ValueError(f"The box ({box}) must fit in the frame ({size}).")
    scaled = _scale_box_to_fit(ink(rgba_or_grey), box)  # (h, w), max(h, w) == box
    if scaled.max() <= 0:
        raise EmptyDrawingError("Draw something first: the strokes are too faint to see.")
    scaled /= scaled.max()  # thin strokes shrink to grey; MNIST's brightest pixel is 1
    return _place(scaled, size, centre_of_mass(scaled))


def preprocess_digits(rgba_or_grey: np.ndarray, size: int = DIGITS_SIZE,
                      bitmap: int = DIGITS_BITMAP) -> np.ndarray:
    """A drawing as one of scikit-learn's 8x8 digits: (size, size) float32, multiples of 1/16.

    As optdigits was made: the bounding box scaled to fill a bitmap x bitmap frame (aspect kept,
    centred), thresholded to on/off, then each (bitmap/size)-square block's "on" pixels counted
    and divided by the block's area (16 for 4x4 blocks).
    """
    if bitmap % size:
        raise ValueError(f"The bitmap ({bitmap}) must divide into {size} blocks per side.")
    block = bitmap // size
    scaled = _scale_box_to_fit(ink(rgba_or_grey), bitmap)  # (h, w), max(h, w) == bitmap
    h, w = scaled.shape
    frame = np.zeros((bitmap, bitmap), dtype=np.float32)
    top, left = (bitmap - h) // 2, (bitmap - w) // 2  # the box is centred, not the mass
    frame[top : top + h, left : left + w] = scaled
    on = frame >= 0.5 * frame.max()  # (bitmap, bitmap) bool: the binary bitmap
    counts = on.reshape(size, block, size, block).sum(axis=(1, 3))  # (size, size) in 0..block^2
    return (counts / float(block * block)).astype(np.float32)


def preprocess_for(rgba_or_grey: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """A drawing prepared for a model of `image_shape` (C, H, W): (1, H, W) float32.

    8x8 models get the digits convention, everything else MNIST's, with the box scaled in
    proportion (20/28 of the frame).
    """
    c, h, w = (int(v) for v in image_shape)
    if c != 1:
        raise DrawingError("Drawing works with greyscale models only; this model wants colour.")
    if h != w:
        raise DrawingError(f"Drawing needs a model of square images; this one is {h}×{w}.")
    if h == DIGITS_SIZE:
        img = preprocess_digits(rgba_or_grey)
    else:
        box = max(1, round(h * MNIST_BOX / MNIST_SIZE))
        img = preprocess_drawing(rgba_or_grey, size=h, box=box)
    return img[None]


# ----------------------------------------------------------------------------------------------
# uploads and examples


def load_upload(data: bytes, max_bytes: int = UPLOAD_MAX_BYTES,
                max_px: int = UPLOAD_MAX_PX) -> np.ndarray:
    """An uploaded PNG or JPEG (phone photos too: MPO files, EXIF rotation applied) as (H, W, 4)
    uint8 RGBA, checked before it is decoded.

    Refuses (with a :class:`DrawingError` sentence) files over `max_bytes`, other formats, images
    over `max_px` on a side (checked from the header, before the pixels are decoded, so a
    decompression bomb is never expanded) and files PIL cannot read.
    """
    if not data:
        raise DrawingError("The file is empty; choose a PNG or JPEG picture of a digit.")
    if len(data) > max_bytes:
        raise DrawingError(
            f"The file is {len(data) / 2**20:.1f} MB; pictures up to {max_bytes / 2**20:.0f} MB "
            "are accepted."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in UPLOAD_FORMATS:
                    raise DrawingError(
                        f"That is a {img.format or 'unknown'} file; upload a PNG or JPEG picture."
                    )
                width, height = img.size
                if max(width, height) > max_px or min(width, height) < 1:
                    raise DrawingError(
                        f"The picture is {width}×{height} pixels; pictures up to {max_px} pixels "
                        "on a side are accepted."
                    )
                img.load()  # an MPO's first frame: the photo itself
                # A phone stores a photo as the sensor saw it plus an EXIF "turn me" tag.
                upright = ImageOps.exif_transpose(img)
                rgba = np.asarray(upright.convert("RGBA"), dtype=np.uint8)
    except DrawingError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning,
            Image.DecompressionBombError):
        raise DrawingError("That file could not be read as a picture; upload a PNG or JPEG.") \
            from None
    return rgba


# Pen strokes of a few digits, as polylines in a unit square (x right, y down).
_EXAMPLE_STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "1": [[(0.42, 0.25), (0.55, 0.12), (0.55, 0.88)]],
    "4": [[(0.55, 0.12), (0.25, 0.62), (0.75, 0.62)], [(0.62, 0.35), (0.62, 0.88)]],
    "7": [[(0.28, 0.15), (0.72, 0.15), (0.45, 0.88)]],
    "0": [[(0.5 + 0.22 * math.sin(a), 0.5 - 0.36 * math.cos(a))
           for a in np.linspace(0.0, 2.0 * math.pi, 21)]],
}
EXAMPLE_DIGITS = tuple(_EXAMPLE_STROKES)


def example_drawing(digit: str, size: int = 280, stroke: int = 22,
                    offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A drawing of `digit` as a canvas would send it: (size, size, 4) uint8 RGBA, white strokes on
    an opaque black background, shifted by `offset` (a fraction of the canvas, x and y).

    For trying the page without a mouse, and for tests.
    """
    if digit not in _EXAMPLE_STROKES:
        raise DrawingError(f"No example for {digit!r}; choose one of {', '.join(EXAMPLE_DIGITS)}.")
    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    pen = ImageDraw.Draw(img)
    dx, dy = offset
    for line in _EXAMPLE_STROKES[digit]:
        points = [((x + dx) * size, (y + dy) * size) for x, y in line]
        pen.line(points, fill=(255, 255, 255, 255), width=stroke, joint="curve")
        for x, y in points[:: max(1, len(points) - 1)]:  # round caps at both ends
            r = stroke / 2
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    return np.asarray(img, dtype=np.uint8)
