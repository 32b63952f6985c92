"""Nearest neighbours of a test image in two spaces at once: its code and its pixels.

The map page asks "what is near this point?" on every click; an index built once per model holds
the test codes and the flattened test images as float32 with their squared norms, so a query is one
matrix-vector product per space (|a - b|² = |a|² - 2 a·b + |b|²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Neighbours:
    """The k nearest test images of one query in each space, nearest first, without the query."""

    code_index: np.ndarray  # (k,) int
    code_distance: np.ndarray  # (k,) Euclidean, in code units
    pixel_index: np.ndarray  # (k,) int
    pixel_distance: np.ndarray  # (k,) Euclidean, in pixel units ([0, 1] per pixel)

    @property
    def shared(self) -> int:
        """How many images both spaces list: high when the code keeps what the pixels show."""
        return len(set(self.code_index.tolist()) & set(self.pixel_index.tolist()))


class _Space:
    def __init__(self, points: np.ndarray):
        self.points = np.ascontiguousarray(points, dtype=np.float32).reshape(len(points), -1)
        self.norms = (self.points.astype(np.float64) ** 2).sum(1)  # (N,)

    def nearest(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = self.points[i].astype(np.float64)
        d2 = self.norms - 2.0 * (self.points @ q.astype(np.float32)) + self.norms[i]  # (N,)
        d2[i] = np.inf  # the query itself is not its own neighbour
        k = min(k, len(d2) - 1)
        part = np.argpartition(d2, k - 1)[:k] if k < len(d2) else np.arange(len(d2))
        order = part[np.argsort(d2[part], kind="stable")]
        return order, np.sqrt(np.maximum(d2[order], 0.0))


class NeighbourIndex:
    """Test codes (N, D) and test images (N, C, H, W): answers `query(i, k)` for test image i."""

    def __init__(self, codes: np.ndarray, images: np.ndarray | torch.Tensor):
        if isinstance(images, torch.Tensor):
            images = images.numpy()
        if len(codes) != len(images):
            raise ValueError(f"{len(codes)} codes for {len(images)} images")
        self.codes, self.pixels = _Space(codes), _Space(images)

    def __len__(self) -> int:
        return len(self.codes.points)

    def query(self, i: int, k: int = 8) -> Neighbours:
        code_index, code_distance = self.codes.nearest(i, k)
        pixel_index, pixel_distance = self.pixels.nearest(i, k)
        return Neighbours(code_index, code_distance, pixel_index, pixel_distance)
