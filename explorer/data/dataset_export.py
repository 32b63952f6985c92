"""A dataset as one ``.npz`` that ``python -m explorer datasets add`` (and the sidebar's "Add a
dataset") accepts: ``x`` (N, H, W) or (N, C, H, W) as bytes when every pixel is a whole 0-255
level, ``y`` (N,) and ``class_names``, for a built-in set or a class's own.

Adding the file again splits it with the same seed and test share as every user dataset. The
images are placed so that this split gives back the dataset's own test images, whenever the two
splits take as many images of each class (true of every class's own dataset and of mnist-5k): a
model trained on the original is then scored on the same test images on another machine.
"""

from __future__ import annotations

import io

import numpy as np

from explorer.errors import DatasetError


def _as_stored(x: np.ndarray) -> np.ndarray:
    """uint8 when every value is a whole 0-255 level (as loaded images are), else float32."""
    levels = x * 255.0
    whole = np.abs(levels - np.rint(levels)).max(initial=0.0) < 1e-3
    x = np.rint(levels).astype(np.uint8) if whole else x.astype(np.float32)
    return x[:, 0] if x.shape[1] == 1 else x  # grey: (N, H, W)


def arranged(y_train: np.ndarray, y_test: np.ndarray, n_classes: int):
    """(order, same): where each image goes, as indices into train + test concatenated, and
    whether adding the file back splits off exactly the test images."""
    from explorer.data.datasets import SPLIT_SEED, stratified_split
    from explorer.data.userdata import TEST_FRACTION

    y = np.concatenate([y_train, y_test])
    n_test = max(n_classes, round(TEST_FRACTION * len(y)))
    _, test_at = stratified_split(y, n_test, SPLIT_SEED)
    is_test = np.zeros(len(y), bool)
    is_test[test_at] = True
    order = np.arange(len(y))
    for c in range(n_classes):
        train_c = np.flatnonzero(y_train == c)
        test_c = len(y_train) + np.flatnonzero(y_test == c)
        slots = np.flatnonzero((y == c) & is_test)
        if len(slots) != len(test_c):
            return np.arange(len(y)), False
        order[slots] = test_c
        order[np.flatnonzero((y == c) & ~is_test)] = train_c
    return order, True


def dataset_npz(name: str) -> tuple[bytes, bool]:
    """The dataset `name` as .npz bytes, and whether its test split survives a round trip."""
    from explorer.data.datasets import load_dataset
    from explorer.data.userdata import MAX_FILE_BYTES, MAX_IMAGES

    data = load_dataset(name)
    n = len(data.y_train) + len(data.y_test)
    if n > MAX_IMAGES:
        raise DatasetError(f"{name} has {n:,} images; a dataset file that `datasets add` takes "
                           f"holds at most {MAX_IMAGES:,}.")
    y_train, y_test = data.y_train.numpy(), data.y_test.numpy()
    order, same = arranged(y_train, y_test, len(data.class_names))
    x = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])[order]
    y = np.concatenate([y_train, y_test])[order].astype(np.int64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=_as_stored(x), y=y,
                        class_names=np.array(data.class_names, dtype=str))
    if buffer.tell() > MAX_FILE_BYTES:
        raise DatasetError(f"{name} packs to {buffer.tell() / 2**20:.0f} MB; a dataset file "
                           f"that `datasets add` takes is at most {MAX_FILE_BYTES // 2**20} MB.")
    return buffer.getvalue(), same
