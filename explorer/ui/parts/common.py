"""Shared page parts: cached loaders, how a page starts, the sidebar (model picker, sharing,
presenter mode), presenter-aware settings, the teaching helpers ("What am I looking at?") and
image helpers (their downloads: :mod:`explorer.ui.parts.export_buttons`).

What a model does with its test set (codes, maps, per-image numbers) comes from its one
:class:`explorer.analysis.view.ModelView`, shared by every session and memoised by the model's content hash,
so a retrained model never shows a stale picture; pages cache only what is theirs alone.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from explorer import analysis, data, families, runs, usertext
from explorer.analysis import ModelView
from explorer.errors import ExplorerError
from explorer.families import ModelConfig
from explorer.images import image_grid, to_uint8, upscale
from explorer.ui.pages import presenting  # noqa: F401 - the pages ask common for it

if TYPE_CHECKING:
    from explorer.families import Autoencoder

IMAGE_PX = 84  # on-screen size of one digit; nearest-neighbour upscaling keeps pixels crisp
PRESENTER_SCALE = 1.6  # presenter mode: images and text big enough for the back of a room
# Our own constant CSS, never built from user input, drawn on every page.
# A classroom projector is 1024×768 with the sidebar open, which leaves the page about 700 px:
# - less side padding on such screens, so the page's columns get the width;
# - a column too narrow for its widgets moves to the next line instead of clipping them, and a
#   label wraps between words, never inside one;
# - a group of choices (segmented control) wraps whole buttons of equal width, never clips one;
# - an image never spills out of its column: it shrinks to fit, keeping its shape;
# - the sidebar's model picker is a one-line text box: a smaller font there (in px, so presenter
#   mode does not enlarge it) shows every shipped model's whole id, "pretrained/…" included.
# - a row of images (one st.image of several) stays one line: its tiles shrink together, so the
#   columns of rows drawn one under another (originals, reconstructions) line up.
LAYOUT_CSS = """<style>
@media (max-width: 1300px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; }
}
[data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[data-testid="stColumn"] { min-width: min(100%, 11rem); }
[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label {
  word-break: normal; overflow-wrap: normal; hyphens: none; }
[data-testid="stButtonGroup"] > div { flex-wrap: wrap; }
[data-testid="stButtonGroup"] button { flex: 1 0 auto; }
[data-testid="stImageContainer"] img { max-width: 100%; height: auto; }
[data-testid="stImage"] { flex-wrap: nowrap; }
[data-testid="stImage"] > [data-testid="stImageContainer"] { flex: 0 1 auto; min-width: 0; }
[data-testid="stImageCaption"] { max-width: 100%; }
[data-testid="stSidebar"] [data-testid="stTable"] td,
[data-testid="stSidebar"] [data-testid="stTable"] th { white-space: normal; overflow: visible; }
[data-testid="stSidebar"] .st-key-model input { font-size: 12px; }
</style>"""
# Presenter mode: Streamlit sizes text in rem, so a larger root font scales text and spacing
# together (less on a small screen, where 22 px text would leave no room for the pictures);
# images are scaled by px() instead.
PRESENTER_CSS = """<style>
html { font-size: clamp(17px, 1.2vw + 5px, 22px); }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; max-width: 100%; }
[data-testid="stMarkdown"] p, [data-testid="stMarkdown"] li { font-size: 1.1rem; }
[data-testid="stCaptionContainer"], [data-testid="stImageCaption"] { font-size: 0.95rem; }
h1 { font-size: 2.6rem !important; overflow-wrap: normal; word-break: normal; }
h2, h3 { overflow-wrap: normal; word-break: normal; }
</style>"""
CHART_FONT_PX = 14  # a chart's text in presenter mode, before PRESENTER_SCALE


# -- the model's view --------------------------------------------------------------------------
# Every model's numbers come from its one ModelView (explorer.analysis.view), shared by every session and
# memoised by content hash; these helpers only add a spinner where the answer is not ready yet.
# torch (seconds to import) is first imported by the view, not at start-up: the model list and a
# map drawn from stored coordinates need none of it, so the first page appears sooner.
def view_of(path: str, content_hash: str) -> ModelView:
    return ModelView.of(path, content_hash)


def ask(model_view: ModelView, what: str, text: str, *args):
    """``model_view.<what>(*args)``, with a spinner saying `text` while it is being computed."""
    key = (what, *args) if args else what
    with st.spinner(text) if not model_view.ready(key) else contextlib.nullcontext():
        return getattr(model_view, what)(*args)


def get_model(path: str, content_hash: str) -> Autoencoder:
    """A loaded model (eval mode, CPU)."""
    return ask(view_of(path, content_hash), "model", "Loading the model…")


def get_dataset(name: str) -> data.Dataset:
    return analysis.dataset(name)


def test_labels(name: str) -> np.ndarray:
    """(N,) class of each test image, without loading the dataset where its split is saved."""
    return analysis.test_labels(name)


def test_codes(path: str, content_hash: str, dataset: str) -> np.ndarray:
    """(N, D) test codes (posterior means); computed once per model's weights, never on a
    slider, and kept on disk, so a restarted server draws a 2-D model's map without the model."""
    return ask(view_of(path, content_hash), "codes", "Encoding the test set…")


def codes_or_stop(path: str, content_hash: str, dataset: str) -> np.ndarray:
    """(N, D) test codes of a model; a model that cannot be loaded, or whose codes overflow, stops
    the page with a sentence saying which."""
    try:
        return test_codes(path, content_hash, dataset)
    except ExplorerError as e:
        try:  # the codes may come from disk before the model is loaded: was it the model?
            get_model(path, content_hash)
        except ExplorerError as load_error:
            st.error(f"This model could not be loaded: {load_error}")
        else:
            st.error(str(e))
        st.stop()


def list_entries() -> tuple[list[runs.ModelEntry], list[str]]:
    return runs.list_models()


# -- the current model -------------------------------------------------------------------------
class Current:
    """The model the sidebar picked, with its dataset; what every page starts from. The config,
    labels and class names come from the card and the saved split; the model and the images are
    loaded when first asked for (a map drawn from stored coordinates needs neither)."""

    def __init__(self, entry: runs.ModelEntry):
        self.entry = entry
        self.card = entry.card
        self.hash = entry.card.get("content_hash", "")
        self.cfg: ModelConfig = entry.config

    @property
    def model(self) -> Autoencoder:
        """The loaded model; one that cannot be loaded stops the page with the reason."""
        try:
            return get_model(str(self.entry.path), self.hash)
        except ExplorerError as e:
            st.error(f"This model could not be loaded: {e}")
            st.stop()

    @property
    def data(self) -> data.Dataset:
        try:
            return get_dataset(self.entry.dataset)
        except ExplorerError as e:
            st.error(f"This model's dataset could not be loaded: {e}")
            st.stop()

    @property
    def is_vae(self) -> bool:
        return families.of(self.cfg).posterior

    @property
    def labels(self) -> np.ndarray:
        """(N,) class index of each test image."""
        return test_labels(self.entry.dataset)

    @property
    def names(self) -> tuple[str, ...]:
        return data.get_info(self.entry.dataset).class_names

    def codes(self) -> np.ndarray:
        """(N, D) codes of the test split (see :func:`codes_or_stop`)."""
        return codes_or_stop(str(self.entry.path), self.hash, self.entry.dataset)


def presenter_switch() -> None:
    """The presenter toggle (``?present=true``); in presenter mode pages draw bigger and simpler."""
    st.toggle("Presenter mode", key="present", bind="query-params",
              help="Bigger images and text, fewer controls: readable from the back of a room.")
    st.html(LAYOUT_CSS)
    if presenting():
        st.html(PRESENTER_CSS)


def chart_style(fig):
    """A plotly figure with fonts readable from the back of a room when presenting. Streamlit's
    chart theme sizes ticks, legends and titles itself, so each is set, not just the base font."""
    if not presenting():
        return fig
    size = px(CHART_FONT_PX)
    fig.update_layout(font_size=size, legend_font_size=size, legend_title_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size)
    fig.update_yaxes(tickfont_size=size, title_font_size=size)
    axis = dict(tickfont_size=size, title_font_size=size)
    fig.update_scenes(xaxis=axis, yaxis=axis, zaxis=axis)  # a 3-D chart's axes
    return fig.update_annotations(font_size=size)


def form_start(form: str, key: str, default):
    """A form field's starting value: a lesson's link (``?train_beta=20``), else what this
    session last submitted (widgets forget theirs on another page), else `default`."""
    try:
        if (raw := st.query_params.get(key)) is not None:
            return int(float(raw)) if isinstance(default, int) else type(default)(raw)
    except ValueError:
        pass
    return st.session_state.get(f"_form_{form}", {}).get(key, default)


def remember_form(form: str, values: dict) -> None:
    """Keep a form's submitted values (by widget key) for :func:`form_start`."""
    st.session_state[f"_form_{form}"] = values


def px(size: int) -> int:
    """An on-screen size in pixels, enlarged in presenter mode."""
    return round(size * PRESENTER_SCALE) if presenting() else int(size)


def setting(kind: str, label: str, key: str, default, *, lo=None, hi=None, step=None,
            options=None, where=st, **kwargs):
    """An advanced setting, bound to the URL: drawn as ``where.<kind>`` ("slider",
    "number_input" or "radio") on `where` (a column, or the page), or, in presenter mode, not
    drawn at all and its value taken from :func:`hidden_setting`."""
    if presenting():
        return hidden_setting(key, default, options=options, lo=lo, hi=hi)
    widget = getattr(where, kind)
    if options is not None:
        return widget(label, options, index=list(options).index(default), key=key,
                      bind="query-params", **kwargs)
    return widget(label, lo, hi, default, step, key=key, bind="query-params", **kwargs)


def hidden_setting(key: str, default, options=None, lo=None, hi=None):
    """The value of a setting that presenter mode does not draw: its last value in this session,
    else the link's (?key=...), checked against `options` or clamped to [lo, hi], else (also
    for nan and inf) the default. The widget is not drawn, so nothing else reads the URL for it."""
    if key in st.session_state:
        return st.session_state[key]
    raw = st.query_params.get(key)
    if raw is None:
        return default
    if options is not None:
        return raw if raw in options else default
    try:
        value = type(default)(raw)
    except ValueError:
        return default
    if not math.isfinite(value):  # ?x=nan would pass any range check and break the widget
        return default
    if lo is not None and hi is not None:
        value = min(max(value, lo), hi)
    return value


# -- images ------------------------------------------------------------------------------------
def pixels(img: np.ndarray, size: int = IMAGE_PX) -> np.ndarray:
    """One image (H, W) or (C, H, W) in [0, 1] as crisp uint8 pixels about `size` wide."""
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    factor = max(1, size // img.shape[1])
    return to_uint8(upscale(img, factor))


ROW_MAX = 16  # images in one row; more are shown as several rows of equal length


def show_images(images, captions=None, size: int = IMAGE_PX) -> None:
    """Images with optional captions in a row, bigger in presenter mode. The row stays one line,
    its tiles shrinking together where the page is narrower than `size` each (LAYOUT_CSS), so
    rows drawn one under another keep their columns; more than ROW_MAX images make equal rows."""
    size = px(size)
    images = [pixels(im, size) for im in images]
    if not images:
        return
    per_row = math.ceil(len(images) / math.ceil(len(images) / ROW_MAX))
    for start in range(0, len(images), per_row):
        st.image(images[start:start + per_row], width=size,  # captions hold users' class names
                 caption=None if captions is None else
                 [usertext.md(c) for c in captions[start:start + per_row]])


def show_grid(images: np.ndarray, ncols: int, size: int = IMAGE_PX, caption: str | None = None):
    """Many images tiled into one picture: one element, so it is cheap to send and redraw."""
    size = px(size)
    tiles = np.stack([np.asarray(im).reshape(np.asarray(im).shape[-2:]) for im in images])
    grid = image_grid(tiles, ncols=ncols, pad=1, pad_value=1.0)
    factor = max(1, size // tiles.shape[-1])
    picture = to_uint8(upscale(grid, factor))
    # A fixed width: left to "content", the element takes its caption's width when that is wider,
    # and the picture stretches with it, so grids beside each other differed in tile size.
    st.image(picture, caption=None if caption is None else usertext.md(caption),
             width=picture.shape[1])
