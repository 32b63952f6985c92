"""A lesson as a static site: ``index.html`` with its data, the page's script and style, and ONNX
Runtime Web. It opens from the file system or any static host, with no server and no network.

What the bundle holds, and only this: the lesson's title, text, tags and steps (label, prompt,
suggested minutes); for each of its models
a label made from its config (never a folder name or a path: a run's name may be a student's),
its decoder as ONNX, the test images' codes and map coordinates, their labels and the class
names; one sprite of the test images per dataset. All of it is one JSON document inside
``index.html`` in a ``<script type="application/json">`` element: the page parses it with
``JSON.parse`` and shows every string with ``textContent``, so a tampered value stays text.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.lessons import catalogue as lessons
from explorer.lessons.homework.onnx_decoder import ExportError, check_exportable, decoder_onnx
from explorer.lessons.homework.runtime import runtime_files

PAGE = Path(__file__).with_name("page")
FORMAT = 1
MAX_POINTS = 2000  # test images on a map: enough to see its shape, small enough to ship
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass
class ModelData:
    """One model's share of the bundle, before it is written."""

    label: str
    dataset: str
    onnx: bytes
    codes: np.ndarray  # (N, D) float32: the test images' codes (posterior means)
    coords: np.ndarray  # (N, 2) float32: where each is drawn on the map
    origin: np.ndarray  # (D,) a map point (x, y) is the code origin + x axes[0] + y axes[1]
    axes: np.ndarray  # (2, D)


def _b64(array_or_bytes) -> str:
    data = array_or_bytes
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data, dtype="<f4").tobytes()
    return base64.b64encode(data).decode("ascii")


def map_plane(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map coordinates (N, 2) and the plane they live in. A 2-D code is its own map; a longer one
    is drawn on the plane of its first two principal components (PCA), so a point clicked there
    decodes the code origin + x axes[0] + y axes[1] (the mean code plus the two directions)."""
    d = codes.shape[1]
    if d == 2:
        return codes.astype(np.float32), np.zeros(2, np.float32), np.eye(2, dtype=np.float32)
    if d == 1:
        raise ExportError("A model with a 1-D code has no 2-D map to explore; export a model "
                          "with 2 or more latent dimensions.")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="full").fit(codes)
    coords = pca.transform(codes).astype(np.float32)
    return coords, pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


def model_data(model, card: dict, x_test) -> ModelData:
    from explorer.analysis.latent import encode_dataset

    label = f"{model.cfg.describe()} on {card.get('dataset', {}).get('name', '?')}"
    check_exportable(model, label)
    codes = encode_dataset(model, x_test[:MAX_POINTS])  # (N, D)
    coords, origin, axes = map_plane(codes)
    return ModelData(label, card["dataset"]["name"], decoder_onnx(model, label), codes, coords,
                     origin, axes)


def sprite_png(x: np.ndarray) -> tuple[bytes, int]:
    """All images (N, C, H, W) in [0, 1] tiled row-major into one PNG, and its column count."""
    n, c, h, w = x.shape
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    sheet = np.zeros((rows * h, columns * w, c), np.uint8)
    for i, image in enumerate(np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)):
        r, k = divmod(i, columns)
        sheet[r * h:(r + 1) * h, k * w:(k + 1) * w] = image.transpose(1, 2, 0)
    picture = Image.fromarray(sheet[..., 0] if c == 1 else sheet)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), columns


def lesson_data(lesson: lessons.Lesson) -> dict:
    """The lesson's document: text and steps, its models and their datasets (JSON-ready)."""
    from explorer.data.datasets import get_info, load_dataset
    from explorer.runs.checkpoints import load_model
    from explorer.runs.store import list_models

    ids = lesson.models()
    if not ids:
        raise ExportError(f"The lesson {lesson.title!r} opens no model, so there is nothing to "
                          "explore at home.")
    entries = {e.id: e for e in list_models()[0]}
    models, datasets = [], {}
    for model_id in ids:
        if model_id not in entries:
            raise ExportError(f"The lesson's model {model_id} is not here; run `python -m explorer "
                              "pretrain` to rebuild the shipped models.")
        model, card = load_model(entries[model_id].path)
        name = card["dataset"]["name"]
        if name not in datasets:
            datasets[name] = load_dataset(name)
        models.append(model_data(model, card, datasets[name].x_test.numpy()))
    index = {name: i for i, name in enumerate(datasets)}
    return {
        "format": FORMAT,
        "lesson": {
            "slug": lesson.slug, "title": lesson.title, "text": lesson.text,
            "tags": list(lesson.tags), "minutes": lesson.minutes,
            # the steps, in order: what to look at and do, and which model to explore it on
            "steps": [{"label": s.label, "page": s.page, "prompt": s.prompt,
                       "minutes": s.minutes, "model": ids.index(s.model) if s.model else None}
                      for s in lesson.steps],
        },
        "models": [{
            "label": m.label, "dataset": index[m.dataset], "latent_dim": int(m.codes.shape[1]),
            "onnx": _b64(m.onnx), "codes": _b64(m.codes), "coords": _b64(m.coords),
            "origin": m.origin.tolist(), "axes": m.axes.tolist(),
            "map_about": ("Each dot is a test image at its code: this model's code has two "
                          "numbers, so the map is the latent space itself."
                          if m.codes.shape[1] == 2 else
                          f"Each dot is a test image, drawn on the plane of the first two "
                          f"principal components of its {m.codes.shape[1]}-number code (PCA); "
                          "a click decodes the code at that point of the plane."),
        } for m in models],
        "datasets": [_dataset_entry(get_info(name), data) for name, data in datasets.items()],
    }


def _dataset_entry(info, data) -> dict:
    x = data.x_test.numpy()[:MAX_POINTS]
    png, columns = sprite_png(x)
    return {"name": info.name, "class_names": list(info.class_names),
            "labels": data.y_test.numpy()[:MAX_POINTS].astype(int).tolist(),
            "image_shape": list(info.image_shape), "sprite": _b64(png), "columns": columns}


def json_for_html(document: dict) -> str:
    """JSON that cannot end its <script> element early: every <, > and & is a \\u escape."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def bundle_files(slug: str) -> dict[str, bytes]:
    """Every file of the lesson's bundle, by its path inside the bundle."""
    try:
        lesson = lessons.lesson(slug)
    except KeyError:
        raise ExportError(f"There is no lesson called {slug!r}; the lessons are "
                          f"{', '.join(x.slug for x in lessons.LESSONS)}.") from None
    files = runtime_files()  # first: a missing runtime is said before minutes of work
    html = (PAGE / "index.html").read_text(encoding="utf-8")
    html = html.replace("{{TITLE}}", lesson.title.replace("&", "&amp;").replace("<", "&lt;"))
    html = html.replace("{{DATA}}", json_for_html(lesson_data(lesson)))
    files["index.html"] = html.encode("utf-8")
    for name in ("app.js", "style.css"):
        files[name] = (PAGE / name).read_bytes()
    return files


def write_bundle(slug: str, out: Path) -> Path:
    """Write the bundle into the folder `out` (created; files already there are replaced)."""
    files = bundle_files(slug)
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return out / "index.html"


def bundle_zip(slug: str) -> bytes:
    """The bundle as one zip, its files under a folder named after the lesson."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(bundle_files(slug).items()):
            zf.writestr(zipfile.ZipInfo(f"{slug}/{name}", ZIP_DATE), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
