"""Reading a ``.zip`` of images in one folder per class (see :mod:`explorer.data.userdata`, whose
limits and checks it uses): every header first, the pixels they declare bounded together before
any image is decoded, then one image at a time decoded, resized and dropped."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

import numpy as np

from explorer.data import userdata
from explorer.data.userdata import Progress
from explorer.errors import DatasetError, plain


def _image_entries(entries: list[zipfile.ZipInfo]) -> list[tuple[str, zipfile.ZipInfo]]:
    """(class name, entry) of every image: the class is the folder the image is in."""
    images, folders = [], {}
    for info in entries:
        if userdata._JUNK.search(info.filename):
            continue
        path = PurePosixPath(info.filename)
        if path.suffix.lower() not in userdata.IMAGE_SUFFIXES:
            raise DatasetError(f"'{plain(info.filename)}' is not an image (PNG, JPEG, BMP or "
                               "GIF); remove it from the zip.")
        if len(path.parts) < 2:
            raise DatasetError(f"'{plain(info.filename)}' is not in a folder: put the images in "
                               "one folder per class (the folder names become the class names).")
        shown = userdata.class_name(path.parent.name)
        folders.setdefault(shown, set()).add(path.parent.name)
        images.append((shown, info))
    if not images:
        raise DatasetError("The zip holds no images; put PNG, JPEG, BMP or GIF files in one "
                           "folder per class.")
    if len(images) > userdata.MAX_IMAGES:
        raise DatasetError(f"The zip holds {len(images):,} images; the limit is {userdata.MAX_IMAGES:,}.")
    userdata._check_distinct([sorted(f) for f in folders.values() if len(f) > 1], "folder ")
    return images


def _open_image(data: bytes, name: str):
    """A PIL image with only its header read, refused if its pixel count is too large."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # PIL's own, far higher limit, checked by open()
        raise DatasetError(f"'{plain(name)}' has more pixels than images may have "
                           f"({userdata.MAX_IMAGE_PIXELS:,}).") from None
    except (OSError, ValueError, SyntaxError):
        raise DatasetError(f"'{plain(name)}' is not an image this app can read.") from None
    w, h = image.size
    if w * h > userdata.MAX_IMAGE_PIXELS:
        raise DatasetError(f"'{plain(name)}' is {w}×{h} pixels; images may have at most "
                           f"{userdata.MAX_IMAGE_PIXELS:,} pixels.")
    if min(w, h) < userdata.MIN_IMAGE_SIDE:
        raise DatasetError(f"'{plain(name)}' is {w}×{h} pixels, too small to resize; images "
                           f"need at least {userdata.MIN_IMAGE_SIDE} pixels a side.")
    return image


def _decode(image, name: str, size: int, mode: str) -> np.ndarray:
    """(size, size) or (size, size, 3) uint8: transparent parts on white, as on paper."""
    from PIL import Image

    try:
        image.draft(mode, (size, size))  # JPEG decodes straight to a smaller scale
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        image = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        raise DatasetError(f"'{plain(name)}' could not be decoded; it may be damaged.") from None


def read_zip(data: bytes, size: int | None = None, colour: bool = False,
             progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, C, S, S) uint8, y (N,) and the class names of a zip of class folders.

    Two passes, so memory holds at most one decoded image: every header is read (and dropped)
    first, the pixels they declare together bounded by MAX_DECODED_PIXELS before anything is
    decoded; then each image is decoded, resized into `x` and dropped in turn."""
    report = progress or (lambda fraction, text: None)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DatasetError("The file is not a valid .zip archive.") from None
    with zf:
        images = _image_entries(userdata._check_zip_entries(zf))
        class_names = sorted({c for c, _ in images})
        pixels, smallest = 0, None
        for i, (_, info) in enumerate(images):
            with _open_image(userdata._read_entry(zf, info), info.filename) as image:
                w, h = image.size
            pixels += w * h
            smallest = min(w, h) if smallest is None else min(smallest, w, h)
            if i % 200 == 0:
                report(0.1 * i / len(images), f"Checking {len(images):,} images…")
        if pixels > userdata.MAX_DECODED_PIXELS:
            raise DatasetError(f"The images together have {pixels / 1e6:,.0f} million pixels; "
                               f"the limit is {userdata.MAX_DECODED_PIXELS / 1e6:,.0f} million. Use "
                               "fewer or smaller images.")
        size = size if size is not None else min(userdata.DEFAULT_SIZE, smallest)
        userdata._check_stored(len(images), size * size * (3 if colour else 1))
        mode = "RGB" if colour else "L"
        x = np.empty((len(images), size, size, 3) if colour else (len(images), size, size),
                     np.uint8)
        for i, (_, info) in enumerate(images):
            with _open_image(userdata._read_entry(zf, info), info.filename) as image:
                x[i] = _decode(image, info.filename, size, mode)
            if i % 100 == 0:
                report(0.1 + 0.8 * i / len(images), f"Decoding image {i + 1:,} of {len(images):,}…")
    x = x.transpose(0, 3, 1, 2) if colour else x[:, None]
    index = {c: k for k, c in enumerate(class_names)}
    y = np.array([index[cls] for cls, _ in images], dtype=np.int64)
    return np.ascontiguousarray(x), y, class_names
