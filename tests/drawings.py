"""Test helpers: small image files and zips of class folders, as a class would upload them."""

import io
import zipfile

import numpy as np
from PIL import Image


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def class_zip(counts=None, side=12, extra=(), fmt="PNG", ext="png", colour=False) -> bytes:
    """Class `k` of `counts` holds images filled with grey level 40 * k (+ 1 pixel of noise)."""
    counts = counts or {"circle": 6, "square": 6}
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for k, (name, n) in enumerate(counts.items()):
            for i in range(n):
                shape = (side, side, 3) if colour else (side, side)
                a = np.full(shape, 40 * k, np.uint8)
                a[0, 0] = rng.integers(0, 30)
                if colour:
                    a[..., 0] = 250  # red in every image
                zf.writestr(f"class-drawings/{name}/{i}.{ext}", png(a, fmt))
        for entry, data in extra:
            zf.writestr(entry, data)
    return buffer.getvalue()


def npz(**arrays) -> bytes:
    """Arrays as the bytes of an .npz file, as a user would upload them."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
