"""Pictures from images in [0, 1]: tiling a batch into one grid, uint8 pixels, crisp enlargement.

numpy only (no torch): the pages, exports and figures draw with these before any model is loaded.
"""

from __future__ import annotations

import math

import numpy as np


def image_grid(
    images: np.ndarray, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0
) -> np.ndarray:
    """Tile images into one picture, row-major, with `pad` pixels of `pad_value` around each tile.

    images: (B, H, W), (B, 1, H, W) or (B, C, H, W). Returns (H', W') for greyscale or (H', W', C)
    channel-last for colour, with H' = rows * (H + pad) + pad and W' = cols * (W + pad) + pad.
    ncols defaults to a square-ish grid and is capped at B; empty cells show `pad_value`.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)  # (B, H, W, C) channel-last for display
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"Expected a non-empty stack of images, got shape {images.shape}.")
    b, h, w = images.shape[:3]
    ncols = min(ncols or math.ceil(math.sqrt(b)), b)
    nrows = math.ceil(b / ncols)
    out = np.full(
        (nrows * (h + pad) + pad, ncols * (w + pad) + pad, *images.shape[3:]),
        pad_value,
        dtype=np.float32,
    )
    for k, img in enumerate(images):
        r, c = divmod(k, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        out[top : top + h, left : left + w] = img
    return out


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 0..255, clipped and rounded, ready for an image widget or PNG."""
    return np.round(np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an (H, W) or (H, W, C) picture by an integer factor, so 8x8
    digits stay crisp instead of being blurred by the browser's smoothing."""
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"Upscale factor must be a whole number >= 1, got {factor}.")
    img = np.asarray(img)
    return np.repeat(np.repeat(img, int(factor), axis=0), int(factor), axis=1)
