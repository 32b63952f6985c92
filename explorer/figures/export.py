"""Pictures for slides: a chart or an image grid as a PNG at twice its on-screen size and as an
SVG, titled with the model's name and the settings; a sequence of pictures (an interpolation, a
path across the decoded plane, the training replay) as an animated GIF or an MP4.

Bytes out, made only when asked: the pages hand these functions to deferred download buttons.

- Charts are drawn by plotly's own static renderer, Kaleido 1.x, which drives a headless Chromium
  (Debian's /usr/bin/chromium, found on the PATH; the ``BROWSER_PATH`` variable names another).
  One browser is started on the first chart export and kept for the process; a lock renders one
  chart at a time, so thirty students pressing PNG queue instead of starting thirty browsers.
  MathJax is off: a chart's text is plain, and the page must not fetch a script from the web.
- Image grids and movies need no browser: Pillow draws them (the title in a band above), SVG
  embeds the crisp 2x PNG, and imageio-ffmpeg's bundled ffmpeg encodes MP4 (H.264).

A title is text the page builds from the model's name and its settings: never a student's token
or the teacher key. It is escaped for plotly, which reads a few HTML tags in titles
(:func:`explorer.usertext.html`), and for SVG.
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from explorer import usertext
from explorer.errors import ExplorerError
from explorer.images import image_grid, to_uint8, upscale

SCALE = 2  # exported pixels per on-screen pixel: crisp on a slide and on a 4K projector
CHART_WIDTH = 960  # a chart's width when its figure leaves it to the page (half a 1920 slide)
CHART_HEIGHT = 450  # plotly's own default height
TITLE_PX = 16  # a picture's title, in on-screen pixels (doubled with the picture)
TILE_PX = 56  # an image grid's tile on screen when the page does not say (112 px exported)
MAX_FRAMES = 60  # a replay's movie keeps at most this many frames, evenly spread
RENDER_TIMEOUT_S = 60


class ExportError(ExplorerError):
    """A picture could not be made (no browser for charts, a chart too big...): one sentence."""


def title_text(name: str, settings: Sequence[str] = ()) -> str:
    """The title of an export: the model's name, then each setting, e.g.
    ``"mnist-vae · UMAP · colour = digit"``."""
    return " · ".join(str(part).strip() for part in (name, *settings) if str(part).strip())


def file_stem(title: str) -> str:
    """A file name (no extension) from a title: ASCII letters, digits, dashes and decimal points,
    e.g. ``"mnist-vae-UMAP-colour-digit"``; at most 120 characters."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"(?<=\d)\.(?=\d)", "\0", text)  # a decimal point stays (β = 0.5)
    text = re.sub(r"[^A-Za-z0-9\0]+", "-", text).strip("-").replace("\0", ".")
    return text[:120].rstrip("-.") or "export"


# -- charts -----------------------------------------------------------------------------------
def chart_size(fig: go.Figure) -> tuple[int, int]:
    """(width, height) of a chart on screen in CSS pixels: its figure's, else the defaults."""
    return int(fig.layout.width or CHART_WIDTH), int(fig.layout.height or CHART_HEIGHT)


def titled(fig: go.Figure, title: str) -> go.Figure:
    """A copy of `fig` (without its animation frames) with `title` above it, as plain text, and
    room for it; the page's figure is left as it is."""
    # WebGL traces become SVG ones: a vector SVG (WebGL would be embedded as a raster), and the
    # server's headless browser draws them without a GPU faster.
    data = [go.Scatter({k: v for k, v in t.to_plotly_json().items() if k != "type"},
                       skip_invalid=True) if t.type == "scattergl" else t for t in fig.data]
    out = go.Figure(data=data, layout=fig.layout)
    width, height = chart_size(out)
    top = max(int(out.layout.margin.t or 0), 60)
    out.update_layout(title=dict(text=usertext.html(title), x=0.01, xanchor="left", y=0.98,
                                 yanchor="top"),
                      width=width, height=height, margin_t=top,
                      template="plotly_white")  # white like Streamlit's theme on the page
    return out


_lock = threading.Lock()
_started = False


def _render(fig: go.Figure, fmt: str, scale: float) -> bytes:
    """One figure as `fmt` bytes through the kept Kaleido browser (started on first use)."""
    global _started
    import kaleido  # here: the app starts without it, and only an export pays for it
    from kaleido.errors import ChromeNotFoundError

    width, height = chart_size(fig)
    with _lock:
        try:
            if not _started:
                kaleido.start_sync_server(mathjax=False, timeout=RENDER_TIMEOUT_S,
                                          silence_warnings=True)
                _started = True
            return kaleido.calc_fig_sync(fig.to_plotly_json(), opts=dict(
                format=fmt, width=width, height=height, scale=scale))
        except ChromeNotFoundError as e:
            raise ExportError("Charts are exported by a headless Chromium, and none was found: "
                              "install chromium (scripts/setup.sh does) or set BROWSER_PATH.") from e
        except Exception as e:  # the browser died or timed out: start a fresh one next time
            kaleido.stop_sync_server(silence_warnings=True)
            _started = False
            raise ExportError(f"The chart could not be drawn as {fmt.upper()}: {e}") from e


def chart_png(fig: go.Figure, title: str, scale: int = SCALE) -> bytes:
    """The chart with its title as a PNG of `scale` times its on-screen size."""
    return _render(titled(fig, title), "png", scale)


def chart_svg(fig: go.Figure, title: str) -> bytes:
    """The chart with its title as an SVG (vector: any size on a slide)."""
    return _render(titled(fig, title), "svg", 1)


def chart_frames(fig: go.Figure, title: str, max_frames: int = MAX_FRAMES) -> list[np.ndarray]:
    """An animated chart (plotly frames, e.g. the training replay) as pictures, one per frame
    (at most `max_frames`, evenly spread, the last always kept), each (H, W, 3) uint8 at its
    on-screen size, titled with the frame's name (e.g. "epoch 7")."""
    frames = list(fig.frames)
    if not frames:
        raise ExportError("This chart has no frames to make a movie of.")
    keep = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round())
    still = go.Figure(fig)
    still.frames = []
    still.layout.updatemenus, still.layout.sliders = (), ()  # a movie has no Play, no slider
    still.update_layout(margin_b=60)
    pictures = []
    for k in keep.astype(int):
        frame = frames[k]
        one = go.Figure(still)
        for trace, data in zip(one.data, frame.data, strict=False):
            trace.update(data.to_plotly_json())
        name = f"{frame.name}" if frame.name is not None else f"frame {k}"
        png = _render(titled(one, f"{title} · {name}"), "png", 1)
        pictures.append(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    return pictures


# -- image grids ------------------------------------------------------------------------------
ASCII = str.maketrans({"→": "->", "×": "x", "β": "beta", "±": "+/-", "σ": "sigma", "−": "-"})


def _font(size: int) -> tuple[ImageFont.ImageFont, bool]:
    """DejaVu Sans (Debian's fonts-dejavu-core, beside Chromium) at `size` px, which has every
    symbol a title uses (→ × β σ); else Pillow's own font, which lacks them: (font, has them)."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size), True
    except OSError:
        return ImageFont.load_default(size=size), False


def _band(width: int, title: str, scale: int) -> np.ndarray:
    """A white band `width` wide holding `title` in dark grey, (h, width, 3) uint8; a title
    too long for the picture is drawn smaller (down to 60%), then cut with an ellipsis."""
    size = TITLE_PX * scale
    room = width - size  # half a letter's margin each side
    for shrink in (1.0, 0.9, 0.8, 0.7, 0.6):
        font, full = _font(round(size * shrink))
        text = title if full else title.translate(ASCII)
        if font.getlength(text) <= room:
            break
    while len(text) > 1 and font.getlength(text) > room:
        text = text[:-2] + "…"
    band = Image.new("RGB", (width, int(size * 1.8)), "white")
    ImageDraw.Draw(band).text((size // 2, int(size * 0.9)), text, fill=(40, 40, 40),
                              font=font, anchor="lm")
    return np.asarray(band)


def _rgb(picture: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 as (H, W, 3)."""
    if picture.ndim == 2:
        return np.repeat(picture[:, :, None], 3, axis=2)
    return picture[:, :, :3] if picture.shape[2] >= 3 else np.repeat(picture[:, :, :1], 3, axis=2)


def _tiles(images) -> np.ndarray:
    """Images in [0, 1] as (B, H, W) or (B, C, H, W) float32; each may be (H, W) or (1, H, W)."""
    images = [np.asarray(im, dtype=np.float32) for im in images]
    if not images:
        raise ExportError("There is no picture to export.")
    images = np.stack([im[0] if im.ndim == 3 and im.shape[0] == 1 else im for im in images])
    if images.ndim not in (3, 4):
        raise ExportError(f"Expected images (H, W) or (C, H, W), got shape {images.shape[1:]}.")
    return images


def _factor(images: np.ndarray, tile_px: int) -> int:
    """The whole-number enlargement the page draws a tile with (common.show_grid's rule)."""
    return max(1, int(tile_px) // images.shape[-1])


def grid_picture(images, ncols: int, tile_px: int = TILE_PX, scale: int = 1) -> np.ndarray:
    """The grid as the page draws it (a 1-pixel white border round each tile, pixels enlarged by
    a whole number so digits stay crisp), `scale` times larger: (H, W, 3) uint8."""
    tiles = _tiles(images)
    grid = image_grid(tiles, ncols=ncols, pad=1, pad_value=1.0)
    return _rgb(to_uint8(upscale(grid, _factor(tiles, tile_px) * int(scale))))


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    if picture.ndim == 3 and (picture == picture[:, :, :1]).all():
        picture = picture[:, :, 0]  # grey: a third of the bytes to compress
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def grid_png(images, ncols: int, title: str = "", tile_px: int = TILE_PX,
             scale: int = SCALE) -> bytes:
    """The grid at `scale` times its on-screen size (tiles `tile_px` wide on screen), the title
    in a band above it."""
    picture = grid_picture(images, ncols, tile_px, scale)
    if title:
        picture = np.concatenate([_band(picture.shape[1], title, scale), picture])
    return _png(picture)


def grid_svg(images, ncols: int, title: str, tile_px: int = TILE_PX) -> bytes:
    """The grid as an SVG of its on-screen size: the title as text, the pictures as the embedded
    2x PNG, drawn without smoothing."""
    picture = grid_picture(images, ncols, tile_px, SCALE)
    width, height = picture.shape[1] // SCALE, picture.shape[0] // SCALE
    band = int(TITLE_PX * 1.8)
    data = base64.b64encode(_png(picture)).decode("ascii")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + band}" '
        f'viewBox="0 0 {width} {height + band}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="{TITLE_PX // 2}" y="{int(TITLE_PX * 1.25)}" font-family="sans-serif" '
        f'font-size="{TITLE_PX}" fill="#262730">{escape(title)}</text>'
        f'<image x="0" y="{band}" width="{width}" height="{height}" '
        f'style="image-rendering:pixelated" href={quoteattr("data:image/png;base64," + data)}/>'
        "</svg>")
    return svg.encode("utf-8")


# -- movies -----------------------------------------------------------------------------------
def strip_frames(images, title: str, tile_px: int = TILE_PX,
                 scale: int = SCALE) -> list[np.ndarray]:
    """One titled picture per image of a strip (an interpolation, a path): each (H, W, 3)
    uint8, the image `scale` times its on-screen size under the title."""
    tiles = _tiles(images)
    factor = _factor(tiles, tile_px) * int(scale)
    if tiles.ndim == 4:
        tiles = tiles.transpose(0, 2, 3, 1)  # (B, H, W, C) channel-last
    pictures = [_rgb(to_uint8(upscale(im, factor))) for im in tiles]
    width = max(pictures[0].shape[1], 320 * scale)  # room for the title
    framed = []
    for picture in pictures:
        canvas = np.full((picture.shape[0], width, 3), 255, dtype=np.uint8)
        left = (width - picture.shape[1]) // 2
        canvas[:, left:left + picture.shape[1]] = picture
        framed.append(np.concatenate([_band(width, title, scale), canvas]))
    return framed


def _bounced(frames: list[np.ndarray], bounce: bool) -> list[np.ndarray]:
    """Forward then back (2n - 2 frames): an interpolation reads better on a loop."""
    return frames + frames[-2:0:-1] if bounce and len(frames) > 2 else frames


def gif(frames: Sequence[np.ndarray], duration_ms: int = 150, bounce: bool = False) -> bytes:
    """An animated GIF looping forever, one frame per picture ((H, W, 3) uint8, same size).
    Grey pictures (digits under a grey title) keep every grey exactly; colour ones get an
    adaptive palette per frame."""
    frames = _bounced([np.asarray(f, dtype=np.uint8) for f in frames], bounce)
    if not frames:
        raise ExportError("There is no frame to make a movie of.")
    if all((f == f[:, :, :1]).all() for f in frames):
        frames = [f[:, :, 0] for f in frames]  # grey pictures: one exact 256-grey palette
    images = [Image.fromarray(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(duration_ms), loop=0, disposal=1)
    return buffer.getvalue()


def mp4(frames: Sequence[np.ndarray], fps: float = 6.0, bounce: bool = False) -> bytes:
    """An H.264 MP4 (yuv420p, plays in browsers and slide software), one frame per picture.
    Frames are padded with white to a multiple of 16 pixels, as the encoder wants."""
    import imageio_ffmpeg  # here: only a movie export pays for it

    frames = _bounced([np.asarray(f, dtype=np.uint8) for f in frames], bounce)
    if not frames:
        raise ExportError("There is no frame to make a movie of.")
    h, w = frames[0].shape[:2]
    H, W = -(-h // 16) * 16, -(-w // 16) * 16  # noqa: N806 - padded sizes
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "movie.mp4"
        writer = imageio_ffmpeg.write_frames(str(path), (W, H), fps=fps, codec="libx264",
                                             pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
                                             macro_block_size=1, quality=8,
                                             ffmpeg_log_level="error")
        writer.send(None)  # start the encoder
        for frame in frames:
            padded = np.full((H, W, 3), 255, dtype=np.uint8)
            padded[:h, :w] = frame[:, :, :3]
            writer.send(np.ascontiguousarray(padded))
        writer.close()
        return path.read_bytes()
