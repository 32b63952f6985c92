"""Shared page parts: cached loaders, the sidebar model picker, and image helpers.

Caching follows one rule: models and datasets are resources (``st.cache_resource``, shared by all
sessions, capped); arrays derived from them are data (``st.cache_data``, capped), keyed by the
model's content hash so a retrained model never shows a stale picture.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import checkpoints, datasets, latent, store
from explorer.errors import ExplorerError
from explorer.models import Autoencoder

IMAGE_PX = 84  # on-screen size of one digit; nearest-neighbour upscaling keeps pixels crisp


# -- cached loaders ---------------------------------------------------------------------------
@st.cache_resource(max_entries=24, show_spinner=False)
def get_model(path: str, content_hash: str) -> Autoencoder:
    """A loaded model (eval mode, CPU). `content_hash` is part of the key on purpose."""
    model, _ = checkpoints.load_model(path)
    return model


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def get_dataset(name: str) -> datasets.Dataset:
    return datasets.load_dataset(name)


@st.cache_data(max_entries=48, show_spinner="Encoding the test set…")
def test_codes(path: str, content_hash: str, dataset: str) -> np.ndarray:
    """(N, D) posterior means of the test split; computed once per model, never on a slider."""
    return latent.encode_dataset(get_model(path, content_hash), get_dataset(dataset).x_test)


def list_entries() -> tuple[list[store.ModelEntry], list[str]]:
    return store.list_models()


# -- the current model -------------------------------------------------------------------------
class Current:
    """The model the sidebar picked, with its dataset; what every page starts from."""

    def __init__(self, entry: store.ModelEntry):
        self.entry = entry
        self.card = entry.card
        self.hash = entry.card.get("content_hash", "")
        self.model = get_model(str(entry.path), self.hash)
        self.data = get_dataset(entry.dataset)
        self.cfg = self.model.cfg

    @property
    def is_vae(self) -> bool:
        return self.cfg.kind == "vae"

    def codes(self) -> np.ndarray:
        return test_codes(str(self.entry.path), self.hash, self.entry.dataset)

    def label_names(self) -> list[str]:
        names = self.data.class_names
        return [names[int(y)] for y in self.data.y_test]


def sidebar() -> store.ModelEntry | None:
    """The model picker shared by every page; the choice lives in the URL (?model=...)."""
    entries, problems = list_entries()
    with st.sidebar:
        if not entries:
            st.warning("No models found. Train one on the Train page, or run "
                       "`python -m explorer pretrain` to rebuild the shipped models.")
            return None
        by_id = {e.id: e for e in entries}
        default = store.default_entry(entries)
        if st.session_state.get("model") not in by_id:
            st.session_state["model"] = default.id
        chosen = st.selectbox(
            "Model",
            options=list(by_id),
            format_func=lambda i: by_id[i].name + (" · shipped" if by_id[i].read_only else " · yours"),
            key="model",
            bind="query-params",
            help="'shipped' models come with the app (read-only); 'yours' are runs you trained.",
        )
        entry = by_id[chosen]
        st.caption(entry.summary)
        with st.expander("Model card"):
            show_card(entry.card)
        for p in problems:
            st.caption(f"⚠️ Skipped a model folder: {p}")
    return entry


def show_card(card: dict) -> None:
    metrics = card.get("metrics", {})
    train = card.get("train", {})
    rows = {
        "dataset": card.get("dataset", {}).get("name"),
        "epochs": train.get("epochs_done"),
        "batch size": train.get("batch_size"),
        "learning rate": train.get("lr"),
        "seed": card.get("seed"),
        **{f"test {k}": round(v, 4) for k, v in metrics.items() if isinstance(v, float)},
    }
    st.table({k: [str(v)] for k, v in rows.items() if v is not None})
    st.json(card.get("config", {}), expanded=False)


def current() -> Current | None:
    """The sidebar's model, loaded; shows a readable message and returns None if it cannot be."""
    entry = st.session_state.get("_entry")
    if entry is None:
        st.info("Pick or train a model first (sidebar).")
        return None
    try:
        return Current(entry)
    except ExplorerError as e:
        st.error(f"This model could not be loaded: {e}")
        return None


# -- images ------------------------------------------------------------------------------------
def pixels(img: np.ndarray, size: int = IMAGE_PX) -> np.ndarray:
    """One image (H, W) or (C, H, W) in [0, 1] as crisp uint8 pixels about `size` wide."""
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    factor = max(1, size // img.shape[1])
    return latent.to_uint8(latent.upscale(img, factor))


def show_images(images, captions=None, size: int = IMAGE_PX) -> None:
    """A row (wrapping) of images with optional captions."""
    st.image([pixels(im, size) for im in images], caption=captions, width=size)


def show_grid(images: np.ndarray, ncols: int, size: int = IMAGE_PX, caption: str | None = None):
    """Many images tiled into one picture: one element, so it is cheap to send and redraw."""
    tiles = np.stack([np.asarray(im).reshape(np.asarray(im).shape[-2:]) for im in images])
    grid = latent.image_grid(tiles, ncols=ncols, pad=1, pad_value=1.0)
    factor = max(1, size // tiles.shape[-1])
    st.image(latent.to_uint8(latent.upscale(grid, factor)), caption=caption)
