"""Exports for slides, one helper for every page: a chart or an image grid drawn with one small
row of download buttons under it — PNG at twice the on-screen size and SVG, titled with the
model's name and the settings — and GIF / MP4 for a strip of pictures or an animated chart.

Nothing is rendered until a button is pressed: each button's data is a callable that Streamlit
runs on its own thread when clicked (``st.download_button(data=callable)``), and the click does
not rerun the page (``on_click="ignore"``). The row is one line of small "tertiary" buttons under
the chart, so it never pushes a chart down, and it stays in presenter mode.

The plotly camera in the chart's toolbar saves a 2x PNG under the same file name.
The title names the model and the settings the page passes: never a student's token or the
teacher key (a run's owner shows as the name they chose).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer.analysis import TITLES
from explorer.figures import export
from explorer.ui.parts import common

MOVIE_MS = 150  # a strip's frame in a GIF (an MP4 plays at the same pace)


def title(name: str, settings: Sequence[str] = ()) -> str:
    """The export's title: the model's name, then the settings (see export.title_text)."""
    return export.title_text(name, settings)


def method_name(shown: str) -> str:
    """A map's projection for a title: "UMAP", "PCA", "t-SNE", or the code's own axes."""
    return TITLES.get(shown, "latent axes")


def chart_config(title_: str, config: dict | None = None) -> dict:
    """st.plotly_chart's config: the toolbar camera saves a 2x PNG named after the title."""
    camera = {"format": "png", "scale": export.SCALE, "filename": export.file_stem(title_)}
    return {"toImageButtonOptions": camera, "displaylogo": False, **(config or {})}


def _row(key: str, title_: str, files: Sequence[tuple[str, Callable[[], bytes], str, str]]):
    """One line of small download buttons: (label, make the bytes, extension, mime) each."""
    stem = export.file_stem(title_)
    with st.container(horizontal=True, gap="small", key=f"{key}_export"):
        for label, make, ext, mime in files:
            st.download_button(label, data=make, file_name=f"{stem}.{ext}", mime=mime,
                               key=f"{key}_export_{ext}", on_click="ignore", type="tertiary",
                               icon=":material/download:",
                               help=f"Download as {label}, titled with the model and settings")


def chart(fig, *, name: str, settings: Sequence[str] = (), key: str, config: dict | None = None,
          movie: bool = False, width: int | None = None, **kwargs):
    """Draw a plotly chart (``st.plotly_chart(fig, key=key, **kwargs)``, whose event it returns)
    with PNG (2x) and SVG buttons under it; with `movie`, an animated chart (the training replay)
    also gets GIF and MP4, one frame per frame of its animation. `width`: the chart's width on
    screen in px where the page knows it is not the page's (a column), for the exported size."""
    title_ = title(name, settings)
    event = st.plotly_chart(fig, key=key, config=chart_config(title_, config), **kwargs)

    def sized():  # on the click: a copy, the page's own figure untouched
        return go.Figure(fig).update_layout(width=width) if width else fig

    files = [("PNG", lambda: export.chart_png(sized(), title_), "png", "image/png"),
             ("SVG", lambda: export.chart_svg(sized(), title_), "svg", "image/svg+xml")]
    if movie:
        frames = partial(export.chart_frames, fig, title_)
        files += [("GIF", lambda: export.gif(frames(), duration_ms=400), "gif", "image/gif"),
                  ("MP4", lambda: export.mp4(frames(), fps=2.5), "mp4", "video/mp4")]
    _row(key, title_, files)
    return event


def _movie_files(make_images: Callable[[], np.ndarray], title_: str, tile_px: int) -> list:
    """GIF and MP4 of a strip (played forward then back), its pictures made on the click."""
    frames = lambda: export.strip_frames(make_images(), title_, tile_px)  # noqa: E731
    return [("GIF", lambda: export.gif(frames(), MOVIE_MS, bounce=True), "gif", "image/gif"),
            ("MP4", lambda: export.mp4(frames(), 1000 / MOVIE_MS, bounce=True), "mp4",
             "video/mp4")]


def movie(make_images: Callable[[], np.ndarray], *, name: str, settings: Sequence[str] = (),
          key: str, size: int = common.IMAGE_PX) -> None:
    """GIF and MP4 buttons for a strip of pictures that `make_images` makes when one is pressed
    (e.g. decodes along a path), each drawn `size` px on screen before presenter scaling."""
    title_ = title(name, settings)
    _row(key, title_, _movie_files(make_images, title_, common.px(size)))


def images(images_, ncols: int, *, name: str, settings: Sequence[str] = (), key: str,
           size: int = common.IMAGE_PX, movie: bool = False) -> None:
    """PNG (2x) and SVG buttons for an image grid drawn `size` px a tile (before presenter
    scaling, as common.show_grid takes it); with `movie`, the strip as GIF and MP4 too."""
    title_ = title(name, settings)
    tile_px = common.px(size)
    images_ = np.asarray(images_)
    files = [("PNG", partial(export.grid_png, images_, ncols, title_, tile_px), "png",
              "image/png"),
             ("SVG", partial(export.grid_svg, images_, ncols, title_, tile_px), "svg",
              "image/svg+xml")]
    if movie:
        files += _movie_files(lambda: images_, title_, tile_px)
    _row(key, title_, files)


def grid(images_, ncols: int, *, name: str, settings: Sequence[str] = (), key: str,
         size: int = common.IMAGE_PX, caption: str | None = None, movie: bool = False) -> None:
    """An image grid (common.show_grid) with its export buttons under it."""
    common.show_grid(images_, ncols=ncols, size=size, caption=caption)
    images(images_, ncols, name=name, settings=settings, key=key, size=size, movie=movie)
