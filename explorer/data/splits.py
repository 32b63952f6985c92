"""How a dataset is split and sampled: the seeded, class-stratified train/test split every
dataset shares (its seed is part of a dataset's identity), and "a sample" of a split, the same
images for every run and page."""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0  # the seed of every split; part of a dataset's identity, so never per-run


def stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, class-stratified train/test split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    return np.sort(train), np.sort(test)


REFERENCE_SEED = 0  # the seed of "a sample" of a split: the same images for every run and page


def mixed_indices(labels: np.ndarray, k: int, seed: int | None = None) -> np.ndarray:
    """`k` indices of mixed classes, for examples shown to a student or a reference sample (a
    split may be sorted by class, so a prefix is one class): the first image of each class in
    turn, then the second of each, and so on. With a `seed`, each class's images are taken in a
    seeded random order instead of the split's: a class-mixed random sample, the same every call."""
    labels = np.asarray(labels)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    if seed is not None:
        rng = np.random.default_rng(seed)
        by_class = [rng.permutation(ix) for ix in by_class]
    picked: list[int] = []
    for rank in range(max((len(ix) for ix in by_class), default=0)):
        picked += [int(ix[rank]) for ix in by_class if rank < len(ix)]
        if len(picked) >= k:
            break
    return np.array(picked[:k], dtype=np.int64)
