"""Files a teacher takes away or passes on: latent coordinates as CSV and a trained model as one
.zip to share (pictures and movies for slides: :mod:`explorer.figures.export`).

Everything here turns arrays into bytes (or bytes into a model folder) and knows nothing about
the UI. A shared model travels as a zip holding exactly ``card.json`` and ``model.safetensors``,
plus ``dataset.npz`` when it was trained on a class's own dataset (which another machine lacks);
importing one checks every member before anything is written, so a refused file leaves no trace.
Messages quote names from a file only through :func:`explorer.errors.plain`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from explorer.data import datasets
from explorer.errors import ConfigError, ModelFileError, plain
from explorer.families.config import ModelConfig
from explorer.runs import checkpoints, store
from explorer.runs.checkpoints import CARD, MAX_CARD_BYTES, WEIGHTS

DATASET = "dataset.npz"  # a class's own dataset, as `datasets add` takes it (dataset_export)
MAX_DATASET_BYTES = 64 * 2**20  # explorer.data.userdata.MAX_FILE_BYTES: what `datasets add` takes
MAX_ZIP_BYTES = checkpoints.MAX_WEIGHTS_BYTES + MAX_CARD_BYTES + MAX_DATASET_BYTES
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same model always zips to the same bytes


# -- coordinates ------------------------------------------------------------------------------
def coords_csv(
    codes: np.ndarray, coords: np.ndarray, labels: Sequence[int], class_names: Sequence[str]
) -> bytes:
    """One row per test image: index, label, class_name, the map's x and y, and its full code
    z_0 .. z_{D-1}. codes (N, D), coords (N, 2), labels (N,)."""
    codes = np.asarray(codes, dtype=np.float32)
    coords = np.asarray(coords, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if codes.ndim != 2 or coords.shape != (len(codes), 2) or labels.shape != (len(codes),):
        raise ValueError(
            f"Expected codes (N, D), coords (N, 2) and labels (N,), got {codes.shape}, "
            f"{coords.shape} and {labels.shape}."
        )
    import pandas as pd  # here, not at the top: the first page need not pay for pandas

    table = pd.DataFrame({
        "index": np.arange(len(codes)),
        "label": labels,
        "class_name": [class_names[int(y)] for y in labels],
        "x": coords[:, 0],
        "y": coords[:, 1],
    })
    z = pd.DataFrame(codes, columns=[f"z_{d}" for d in range(codes.shape[1])])
    return pd.concat([table, z], axis=1).to_csv(index=False).encode()


# -- sharing a model --------------------------------------------------------------------------
def _member(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info, data


def model_zip(folder: str | Path) -> bytes:
    """A model folder as one .zip to share: card.json and model.safetensors, and the dataset
    when it is a class's own (so the pages have its test images on another machine), nothing
    else (no replays, no projections), checked to load before it is packed."""
    folder = Path(folder)
    _, card = checkpoints.load_model(folder)  # refuse to pass on a model that would not load
    files = {name: (folder / name).read_bytes() for name in (CARD, WEIGHTS)}
    name = card.get("dataset", {}).get("name")
    if name in datasets.INFOS and datasets.INFOS[name].user:
        from explorer.data.dataset_export import dataset_npz

        files[DATASET] = dataset_npz(name)[0]
    return _pack(files)


def unsaved_model_zip(data: bytes, card: dict) -> bytes:
    """The same .zip for a model kept in memory (``checkpoints.model_bytes``' weights and card),
    e.g. one the server's disk had no room for."""
    return _pack({CARD: json.dumps(card, indent=1).encode(), WEIGHTS: data})


def _pack(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in (CARD, WEIGHTS, DATASET):
            if name in files:
                zf.writestr(*_member(name, files[name]))
    return buffer.getvalue()


def _looks_pickled(data: bytes) -> bool:
    """torch.save writes a zip (PK..) around a pickle; older files and plain pickles start with
    the protocol opcode 0x80. A safetensors file starts with its header's length (8 bytes, little
    endian) and then the JSON header itself, '{' first."""
    header = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if 0 < header <= len(data) - 8 and data[8:9] == b"{":
        return False
    return data[:4] == b"PK\x03\x04" or (len(data) > 1 and data[0] == 0x80 and data[1] <= 5)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    """A shared model's zip, every member's name checked before anything is read."""
    if len(data) > MAX_ZIP_BYTES:
        raise ModelFileError(
            f"The file is {len(data) / 2**20:.0f} MB; a shared model is at most "
            f"{MAX_ZIP_BYTES // 2**20} MB."
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise ModelFileError(
            "This is not a .zip file. Share a model with the sidebar's 'Download model (.zip)' "
            "button and upload that file as it is."
        ) from None
    names = [info.filename for info in zf.infolist()]
    problem = None
    for name in names:
        # dataset.npz is read with allow_pickle=False (explorer.data.userdata.read_npz)
        if name != DATASET and name.lower().endswith(checkpoints.PICKLE_SUFFIXES):
            problem = (f"The zip holds '{plain(name, 80)}', a pickled Python file; only safetensors "
                       "weights are accepted, because loading a pickle can run any code.")
        elif "/" in name or "\\" in name or name.startswith(".") or ":" in name:
            problem = (f"The zip holds a path or folder ('{plain(name, 80)}'); a shared model is "
                       f"files at the top level: {CARD}, {WEIGHTS} and perhaps {DATASET}.")
        if problem:
            break
    if problem is None and len(set(names)) != len(names):
        problem = "The zip holds the same file twice; it was not made by this app."
    if problem is None and (extra := sorted(set(names) - {CARD, WEIGHTS, DATASET})):
        problem = (f"The zip holds unexpected files ({plain(', '.join(extra[:4]), 120)}); a shared "
                   f"model is {CARD} and {WEIGHTS}, with {DATASET} for a class's own dataset.")
    if problem is None and (missing := [n for n in (CARD, WEIGHTS) if n not in names]):
        problem = f"The zip has no {' and no '.join(missing)}; it is not a model."
    if problem is None and any(info.flag_bits & 0x1 for info in zf.infolist()):
        problem = "The zip is password-protected; share it without a password."
    if problem:
        zf.close()
        raise ModelFileError(problem)
    return zf


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member's bytes, refused unread when its header says it is larger than `limit`."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise ModelFileError(
            f"{name} in the zip is {info.file_size / 2**20:.1f} MB unpacked; at most "
            f"{limit / 2**20:.1f} MB is accepted"
            f"{' for the model its card describes' if name == WEIGHTS else ''}."
        )
    try:
        with zf.open(info) as f:
            content = f.read(limit + 1)  # the header's size may lie; never read past it
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError):
        raise ModelFileError(
            f"{name} in the zip is damaged or packed in a way this app cannot read; download the "
            "model again."
        ) from None
    if len(content) > limit:
        raise ModelFileError(f"{name} in the zip is larger than its header says.")
    return content


def _card_from_bytes(data: bytes, carried: bool = False) -> dict:
    """card.json parsed and checked as far as it can be without the weights; a dataset the zip
    carries and this machine lacks is checked from its file (:func:`_carried_dataset`)."""
    card = checkpoints.parse_card(data, f"{CARD} in the zip")
    name = card.get("dataset", {}).get("name")
    if carried and name not in datasets.INFOS:
        return card
    if name not in datasets.INFOS:
        raise ModelFileError(
            f"{CARD} in the zip names the dataset {plain(repr(name), 80)}, which this app does not "
            f"know; it knows {', '.join(datasets.INFOS)}."
        )
    shape = tuple(card["config"]["image_shape"])
    if shape != datasets.INFOS[name].image_shape:
        raise ModelFileError(
            f"{CARD} in the zip describes images of shape {shape}, but {name} images are "
            f"{datasets.INFOS[name].image_shape}."
        )
    return card


def _carried_dataset(zf: zipfile.ZipFile, card: dict) -> bytes | None:
    """The dataset file to add before the model, when the zip carries one this machine lacks;
    checked as `datasets add` checks it, and against the images the card describes."""
    name = card.get("dataset", {}).get("name")
    if DATASET not in zf.namelist() or name in datasets.INFOS:
        return None  # known here (built-in, or added before): the one here is used
    from explorer.data import userdata

    data = _read_member(zf, DATASET, MAX_DATASET_BYTES)
    userdata.check_name(str(name), set(datasets.INFOS))
    x, _, _ = userdata.read_npz(data)
    shape = tuple(card["config"]["image_shape"])
    if tuple(x.shape[1:]) != shape:
        raise ModelFileError(f"{DATASET} in the zip holds images of shape {tuple(x.shape[1:])}, "
                             f"but the model takes {shape}.")
    return data


def import_model_zip(data: bytes, runs_dir: str | Path, name: str) -> Path:
    """Check a shared model's zip and save it as a new run named after `name` (made safe, and
    `name-2`, ... when taken, even by an upload finishing at the same moment); returns the new
    folder, whose name is the one it got. Every check runs before anything is written: names,
    the card, the model's size from its config before the weights are unpacked, their dtypes,
    and room in the runs folder. The weights are rebuilt through safetensors, so a refused file
    leaves nothing behind."""
    with _open_zip(bytes(data)) as zf:
        card = _card_from_bytes(_read_member(zf, CARD, MAX_CARD_BYTES), DATASET in zf.namelist())
        limit = checkpoints.weights_limit(ModelConfig.from_dict(card["config"]))
        weights = _read_member(zf, WEIGHTS, limit)
        dataset = _carried_dataset(zf, card)
    if _looks_pickled(weights):
        raise ModelFileError(
            f"{WEIGHTS} in the zip is a pickled PyTorch file (torch.save), not safetensors; it is "
            "refused because loading a pickle can run any code."
        )
    model = checkpoints.model_from_bytes(card, weights, source="The shared model")
    runs_dir = Path(runs_dir)
    store.check_writable(runs_dir, limit + MAX_CARD_BYTES)
    try:
        base = store.sanitize_run_name(name)
    except ConfigError:
        base = "shared-model"
    if dataset is not None:  # the model passed every check: its dataset goes in first
        datasets.add_user_dataset(card["dataset"]["name"], dataset, DATASET)
    folder = store.new_run_path(store.unique_run_name(base, runs_dir), runs_dir, overwrite=True)
    card = checkpoints.save_model(model, folder, card)  # takes the next free name if need be
    return folder.with_name(card["name"])
