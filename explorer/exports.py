"""Files a teacher takes away or passes on: latent coordinates as CSV, image grids as PNG, walks
through the latent space as animated GIFs, and a trained model as one .zip to share.

Everything here turns arrays into bytes (or bytes into a model folder) and knows nothing about
the UI. A shared model travels as a zip holding exactly ``card.json`` and ``model.safetensors``;
importing one checks every member before anything is written, so a refused file leaves no trace.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from explorer import checkpoints, datasets, latent, store
from explorer.checkpoints import CARD, WEIGHTS
from explorer.errors import ConfigError, ModelFileError

TILE_PX = 112  # exported tiles are upscaled to about this size: crisp when pasted into slides
MAX_CARD_BYTES = 5 * 1024 * 1024  # as checkpoints.read_card allows
MAX_ZIP_BYTES = checkpoints.MAX_WEIGHTS_BYTES + MAX_CARD_BYTES
# Files that hold pickles (torch.save, joblib, numpy object arrays): refused by name and by content,
# because unpickling runs whatever code the file asks for.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib", ".npy", ".npz")
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


# -- pictures ---------------------------------------------------------------------------------
def _stack(images) -> np.ndarray:
    """Images in [0, 1] as (B, H, W) or (B, C, H, W) float32; each may be (H, W) or (1, H, W)."""
    images = [np.asarray(im, dtype=np.float32) for im in images]
    images = np.stack([im[0] if im.ndim == 3 and im.shape[0] == 1 else im for im in images])
    if images.ndim not in (3, 4):
        raise ValueError(f"Expected images (H, W) or (C, H, W), got shape {images.shape[1:]}.")
    return images


def _scale(images: np.ndarray, scale: int | None) -> int:
    return int(scale) if scale else max(1, TILE_PX // images.shape[-1])


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(latent.to_uint8(picture)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def grid_png(images, ncols: int, scale: int | None = None) -> bytes:
    """Images tiled row-major into one PNG with a 1-pixel white border, each pixel enlarged to a
    `scale` x `scale` block (default: tiles about TILE_PX wide), so digits stay crisp."""
    images = _stack(images)
    grid = latent.image_grid(images, ncols=ncols, pad=1, pad_value=1.0)  # (H', W') or (H', W', C)
    return _png(latent.upscale(grid, _scale(images, scale)))


def strip_gif(images, scale: int | None = None, duration_ms: int = 120,
              bounce: bool = False) -> bytes:
    """An animated GIF with one frame per image, looping forever. With `bounce`, it plays forward
    then back (2n - 2 frames), which reads better for an interpolation shown on a loop.

    GIF stores each pixel as an index into a palette; greyscale frames use a 256-grey palette, so
    nothing is lost. Identical consecutive frames are merged by Pillow (a still dimension is
    one long frame)."""
    images = _stack(images)
    factor = _scale(images, scale)
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)  # (B, H, W, C) channel-last for PIL
    frames = [Image.fromarray(latent.to_uint8(latent.upscale(im, factor))) for im in images]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=int(duration_ms), loop=0)
    return buffer.getvalue()


# -- sharing a model --------------------------------------------------------------------------
def _member(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info, data


def model_zip(folder: str | Path) -> bytes:
    """A model folder as one .zip to share: exactly card.json and model.safetensors, nothing
    else (no replays, no projections), checked to load before it is packed."""
    folder = Path(folder)
    checkpoints.load_model(folder)  # refuse to pass on a model that would not load
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in (CARD, WEIGHTS):
            zf.writestr(*_member(name, (folder / name).read_bytes()))
    return buffer.getvalue()


def _looks_pickled(data: bytes) -> bool:
    """torch.save writes a zip (PK..) around a pickle; older files and plain pickles start with
    the protocol opcode 0x80. A safetensors file starts with its header's length (8 bytes, little
    endian) and then the JSON header itself, '{' first."""
    header = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if 0 < header <= len(data) - 8 and data[8:9] == b"{":
        return False
    return data[:4] == b"PK\x03\x04" or (len(data) > 1 and data[0] == 0x80 and data[1] <= 5)


def _read_zip(data: bytes) -> dict[str, bytes]:
    """The two members of a shared model, every name and size checked before anything is read."""
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
    with zf:
        infos = zf.infolist()
        names = [info.filename for info in infos]
        for name in names:
            if name.lower().endswith(PICKLE_SUFFIXES):
                raise ModelFileError(
                    f"The zip holds '{name}', a pickled Python file; only safetensors weights are "
                    "accepted, because loading a pickle can run any code."
                )
            if "/" in name or "\\" in name or name.startswith(".") or ":" in name:
                raise ModelFileError(
                    f"The zip holds a path or folder ('{name}'); a shared model is exactly two "
                    f"files at the top level: {CARD} and {WEIGHTS}."
                )
        if len(set(names)) != len(names):
            raise ModelFileError("The zip holds the same file twice; it was not made by this app.")
        if extra := sorted(set(names) - {CARD, WEIGHTS}):
            raise ModelFileError(
                f"The zip holds unexpected files ({', '.join(extra[:4])}); a shared model is "
                f"exactly {CARD} and {WEIGHTS}."
            )
        if missing := [n for n in (CARD, WEIGHTS) if n not in names]:
            raise ModelFileError(f"The zip has no {' and no '.join(missing)}; it is not a model.")
        limits = {CARD: MAX_CARD_BYTES, WEIGHTS: checkpoints.MAX_WEIGHTS_BYTES}
        members = {}
        for info in infos:
            if info.flag_bits & 0x1:
                raise ModelFileError("The zip is password-protected; share it without a password.")
            limit = limits[info.filename]
            if info.file_size > limit:
                raise ModelFileError(
                    f"{info.filename} in the zip is {info.file_size / 2**20:.0f} MB unpacked; "
                    f"at most {limit // 2**20} MB is accepted."
                )
            try:
                with zf.open(info) as f:
                    content = f.read(limit + 1)  # the header's size may lie; never read past it
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError):
                raise ModelFileError(
                    f"{info.filename} in the zip is damaged or packed in a way this app cannot "
                    "read; download the model again."
                ) from None
            if len(content) > limit:
                raise ModelFileError(f"{info.filename} in the zip is larger than its header says.")
            members[info.filename] = content
    return members


def _card_from_bytes(data: bytes) -> dict:
    """card.json parsed and checked as far as it can be without the weights."""
    try:
        card = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{CARD} in the zip is not valid JSON ({e}).") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise ModelFileError(f"{CARD} in the zip has no model 'config' section.")
    dataset = card.get("dataset")
    name = dataset.get("name") if isinstance(dataset, dict) else None
    if name not in datasets.INFOS:
        raise ModelFileError(
            f"{CARD} in the zip names the dataset {name!r}, which this app does not know; "
            f"it knows {', '.join(datasets.INFOS)}."
        )
    shape = card["config"].get("image_shape")
    if not isinstance(shape, list | tuple) or tuple(shape) != datasets.INFOS[name].image_shape:
        raise ModelFileError(
            f"{CARD} in the zip describes images of shape {shape}, but {name} images are "
            f"{datasets.INFOS[name].image_shape}."
        )
    return card


def import_model_zip(data: bytes, runs_dir: str | Path, name: str) -> Path:
    """Check a shared model's zip and save it as a new run named after `name` (made safe and
    unique); returns the new folder. Every check runs before anything is written, and the weights
    are rebuilt through safetensors, so a refused file leaves nothing behind."""
    members = _read_zip(bytes(data))
    if _looks_pickled(members[WEIGHTS]):
        raise ModelFileError(
            f"{WEIGHTS} in the zip is a pickled PyTorch file (torch.save), not safetensors; it is "
            "refused because loading a pickle can run any code."
        )
    card = _card_from_bytes(members[CARD])
    model = checkpoints.model_from_bytes(card, members[WEIGHTS], source="The shared model")
    runs_dir = Path(runs_dir)
    try:
        base = store.sanitize_run_name(name)
    except ConfigError:
        base = "shared-model"
    folder = store.new_run_path(store.unique_run_name(base, runs_dir), runs_dir)
    card["name"] = folder.name
    checkpoints.save_model(model, folder, card)
    return folder
