"""Adding one of the user's own datasets: the file read (a zip of image folders or an .npz, each
checked by :mod:`explorer.data.userdata`'s limits), split, and stored in the data folder.

Apart from :mod:`explorer.data.userdata` (the stored sets and the checks) so that the zip reader,
which uses those checks, and the split (:mod:`explorer.data.splits`) sit below it, not beside it.
"""

from __future__ import annotations

import io
import time
from pathlib import PurePosixPath

import numpy as np

from explorer.data import userdata
from explorer.data.splits import SPLIT_SEED, stratified_split
from explorer.data.userdata_zip import read_zip
from explorer.errors import DatasetError, plain


def add_dataset(name: str, data: bytes, filename: str, taken: set[str] | frozenset[str],
                size: int | None = None, colour: bool = False,
                progress: userdata.Progress | None = None) -> dict:
    """Validate, split and store the file `filename` (bytes `data`) as the dataset `name`; return
    its description. Every problem is a DatasetError with one sentence and leaves no file."""
    report = progress or (lambda fraction, text: None)
    started = time.perf_counter()
    userdata.check_name(name, taken)
    userdata._check_size(size)
    if (userdata.user_dir() / name).exists():
        raise DatasetError(f"A dataset named {name!r} already exists; choose another name.")
    if len(data) > userdata.MAX_FILE_BYTES:
        raise DatasetError(f"The file is {len(data) / 2**20:,.0f} MB; the limit is "
                           f"{userdata.MAX_FILE_BYTES // 2**20} MB.")
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix == ".zip":
        x, y, class_names = read_zip(data, size, colour, report)
    elif suffix == ".npz":
        x, y, class_names = userdata.read_npz(data, size)
    else:
        raise DatasetError(f"'{plain(filename)}' is neither a .zip of image folders nor an .npz.")
    if x.shape[1] * x.shape[2] * x.shape[3] > 3 * 256 * 256:
        raise DatasetError(f"Images of shape {x.shape[1:]} are too large; pick a smaller size.")
    userdata._check_classes(y, class_names)
    report(0.9, "Splitting and saving…")
    n_test = max(len(class_names), round(userdata.TEST_FRACTION * len(y)))
    train, test = stratified_split(y, n_test, SPLIT_SEED)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test])
    shape = list(x.shape[1:])
    del x
    userdata._check_quota(buffer.getbuffer().nbytes)
    meta = {
        "format_version": userdata.FORMAT_VERSION, "name": name, "image_shape": shape,
        "n_train": len(train), "n_test": len(test), "class_names": class_names,
        "source": plain(PurePosixPath(filename).name, 80),
        "added": time.strftime("%Y-%m-%d %H:%M"),
    }
    userdata._store(name, buffer.getvalue(), meta)
    report(1.0, f"Added {name} in {time.perf_counter() - started:.1f} s.")
    return meta
