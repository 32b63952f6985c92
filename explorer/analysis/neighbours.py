"""Nearest neighbours, the one helper: of a test image, or of a new one (a drawing), in two spaces
at once, its code and its pixels; and of any batch of codes (where latent arithmetic lands).

A :class:`Space` holds its points flattened to float32 with their squared norms, so a query is
one matrix product (|a - b|² = |a|² - 2 a·b + |b|²); the k it picks get their distances again
from the differences themselves, so a point's own copy is at exactly 0. An index is built once
per model (the map's clicks, the Draw page) and a query costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

QUERY_BATCH = 1024  # queries answered at once: a (batch, N) float64 matrix of squared distances


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


class Space:
    """Points (N, ...) under Euclidean distance, each flattened to one row."""

    def __init__(self, points: np.ndarray | torch.Tensor):
        points = np.asarray(points)  # a CPU tensor too (torch is not imported here: maps need none)
        self.shape = tuple(np.shape(points)[1:])  # one point's shape: (D,) or (C, H, W)
        self.points = np.ascontiguousarray(points, dtype=np.float32).reshape(len(points), -1)
        self.norms = (self.points.astype(np.float64) ** 2).sum(1)  # (N,)

    def __len__(self) -> int:
        return len(self.points)

    def nearest(self, queries, k: int = 8, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """(index, distance) of the k points nearest each query, nearest first.

        One query (shaped like one point) gives (k,) arrays; a batch (B, ...) gives (B, k).
        `exclude` is a point's index (or one per query) never returned: a test image's own.
        k is capped at the number of points left.
        """
        q = np.asarray(queries, dtype=np.float32)
        single = q.shape in (self.shape, self.points.shape[1:])  # one point, flat or not
        q = q.reshape(-1, self.points.shape[1])  # (B, F)
        skip = None if exclude is None else np.broadcast_to(np.asarray(exclude), (len(q),))
        k = min(k, len(self) - (skip is not None))
        index = np.empty((len(q), k), dtype=np.int64)
        distance = np.empty((len(q), k))
        for start in range(0, len(q), QUERY_BATCH):
            rows = slice(start, start + QUERY_BATCH)
            index[rows], distance[rows] = self._nearest(
                q[rows], k, None if skip is None else skip[rows])
        return (index[0], distance[0]) if single else (index, distance)

    def _nearest(self, q: np.ndarray, k: int, skip) -> tuple[np.ndarray, np.ndarray]:
        q_norms = (q.astype(np.float64) ** 2).sum(1)  # (B,)
        d2 = self.norms[None] - 2.0 * (q @ self.points.T) + q_norms[:, None]  # (B, N)
        if skip is not None:
            d2[np.arange(len(q)), skip] = np.inf
        if k < d2.shape[1]:
            part = np.argpartition(d2, k - 1, axis=1)[:, :k]  # (B, k) unordered
        else:
            part = np.broadcast_to(np.arange(d2.shape[1]), d2.shape)
        # Exact distances of the chosen few: the norm trick's rounding never reorders them.
        exact = np.linalg.norm(self.points[part].astype(np.float64) - q[:, None], axis=2)  # (B, k)
        order = np.lexsort((part, exact), axis=1)  # by distance, ties by index
        return np.take_along_axis(part, order, 1), np.take_along_axis(exact, order, 1)


class NeighbourIndex:
    """Test codes (N, D) and test images (N, C, H, W): answers `query(i, k)` for test image i
    and `query_new(z, x, k)` for an image that is not in the test set."""

    def __init__(self, codes: np.ndarray, images: np.ndarray | torch.Tensor):
        if len(codes) != len(images):
            raise ValueError(f"{len(codes)} codes for {len(images)} images")
        self.codes, self.pixels = Space(codes), Space(images)

    def __len__(self) -> int:
        return len(self.codes)

    def query(self, i: int, k: int = 8) -> Neighbours:
        """Test image i's neighbours; it is not its own."""
        code_index, code_distance = self.codes.nearest(self.codes.points[i], k, exclude=i)
        pixel_index, pixel_distance = self.pixels.nearest(self.pixels.points[i], k, exclude=i)
        return Neighbours(code_index, code_distance, pixel_index, pixel_distance)

    def query_new(self, z: np.ndarray, x: np.ndarray, k: int = 8) -> Neighbours:
        """The neighbours of a new image: its code z (D,) and its pixels x, shaped like one test
        image."""
        code_index, code_distance = self.codes.nearest(z, k)
        pixel_index, pixel_distance = self.pixels.nearest(x, k)
        return Neighbours(code_index, code_distance, pixel_index, pixel_distance)


def most_common(labels: np.ndarray) -> tuple[int, list[int]]:
    """How many of `labels` share the most common class, and every class that many share: one
    class, or several on a tie, in increasing order."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    top = int(counts.max())
    return top, np.flatnonzero(counts == top).tolist()


def landing_ratio(codes: np.ndarray, new_codes: np.ndarray) -> float:
    """How far made-up codes (latent arithmetic's sums) land from the data's: the median
    distance from each new code to its nearest code, over the median distance from each code to
    its nearest other one. About 1: they land among the data's codes; above: in the gaps."""
    space = Space(codes)
    landed = space.nearest(np.asarray(new_codes).reshape(-1, space.points.shape[1]), k=1)[1]
    spacing = space.nearest(space.points, k=1, exclude=np.arange(len(space)))[1]
    gap = float(np.median(spacing))
    return float(np.median(landed)) / gap if gap > 0 else float("inf")
