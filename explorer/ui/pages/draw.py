"""Draw a digit: a canvas (or an uploaded picture), prepared the way the training images were,
then encoded: its reconstruction, its nearest test images (by code and by pixels) and its place on
the latent map.

The preparation and every number come from the backend (:mod:`explorer.data.drawing`,
:mod:`explorer.analysis.latent`, :mod:`explorer.analysis.neighbours`, :mod:`explorer.analysis.projection`); this page only
wires widgets to them.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from explorer import analysis, data
from explorer.errors import ExplorerError
from explorer.figures import map as figures_map
from explorer.ui.parts import common, export_buttons, neighbours, page_start

CANVAS_PX = 280  # ten canvas pixels per MNIST pixel
PEN_PX = 22  # about 2 MNIST pixels once a digit's box is scaled to 20x20

cur = page_start.start_page("Draw a digit", needs="encode")
codes = cur.codes()  # (N, D) posterior means of the test set, cached per model
labels, names = cur.labels, cur.names
dim = codes.shape[1]
c, h, w = cur.cfg.image_shape
if c != 1 or h != w:
    st.info("Drawing works with models of square greyscale images; pick another model in the "
            "sidebar.")
    st.stop()
digits8 = h == data.DIGITS_SIZE


def fitted_map(path: str, content_hash: str, dataset: str, method: str) -> analysis.Projection:
    """The test set's map, kept fitted so new codes can be placed on it with ``transform``.
    Same codes and settings as the Latent map page, so the same picture."""
    # 2-D codes come back as they are ("latent") whatever the method asked for.
    params = analysis.ProjectionParams(method="pca" if method == "latent" else method)
    return common.ask(common.view_of(path, content_hash), "fit_map",
                      "Fitting the map once for this model…", params)


def canvas_picture() -> np.ndarray | None:
    """The canvas's RGBA pixels, or None if the component is not there (or sent nothing yet)."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except ImportError:
        st.warning("The drawing canvas is not installed (`pip install streamlit-drawable-canvas`); "
                   "upload a picture instead.")
        return None
    st.write("")  # room for the canvas's toolbar, which floats above its top edge
    # The pen slider sits below the canvas but is read first: its value from the last run.
    # Presenter mode draws a bigger canvas and a pen to match, so a drawing keeps its shape.
    size = common.px(CANVAS_PX)
    pen = round(st.session_state.get("draw_pen", PEN_PX) * size / CANVAS_PX)
    result = st_canvas(stroke_width=pen,
                       stroke_color="#FFFFFF", background_color="#000000", width=size,
                       height=size, drawing_mode="freedraw", return_image_data=True,
                       key="draw_canvas")
    st.caption("Draw one digit, large, anywhere on the canvas. The toolbar above it undoes a "
               "stroke or (bin) clears it all.")
    st.slider("Pen width", 8, 40, PEN_PX, key="draw_pen",
              help="MNIST strokes are 2 to 3 pixels wide after scaling; about 22 canvas pixels "
                   "gives the same.")
    return result.image_data


def upload_picture() -> np.ndarray | None:
    upload = st.file_uploader(
        "A picture of one digit (PNG or JPEG, up to 2 MB)", type=["png", "jpg", "jpeg"],
        key="draw_upload", max_upload_size=2,
        help="Dark ink on light paper or light on dark: either works. Crop it to the digit.")
    if upload is None:
        return None
    try:
        return data.load_upload(upload.getvalue())
    except data.DrawingError as e:
        st.error(str(e))
        return None


def example_picture() -> np.ndarray:
    digit = st.segmented_control("Example", data.EXAMPLE_DIGITS, default="7", required=True,
                                 key="draw_example", bind="query-params")
    return data.example_drawing(digit or "7", size=CANVAS_PX, offset=(0.14, -0.08))


# -- 1. the picture -----------------------------------------------------------------------------
# Half the page each: the canvas needs its full width even on a projector's narrow page.
left, right = st.columns(2, gap="medium")
with left:
    source = st.segmented_control(
        "Source", ["draw", "upload", "example"], default="draw", required=True, key="draw_source",
        bind="query-params",
        format_func={"draw": "Draw", "upload": "Upload", "example": "Example"}.get) or "draw"
    if source == "draw":
        picture = canvas_picture()
    elif source == "upload":
        picture = upload_picture()
    else:
        picture = example_picture()
        st.image(picture, caption="An example drawing, deliberately off-centre", width=180)

with right:
    if picture is None:
        st.info("Draw a digit on the canvas (or upload a picture, or try an example): the "
                "model will encode it, rebuild it, show the test images nearest to it (by code "
                "and by pixels) and find it on the map.", icon=":material/draw:")
        st.stop()
    try:
        x = data.preprocess_for(picture, cur.cfg.image_shape)  # (1, H, W) like the data
    except data.EmptyDrawingError as e:
        if source == "upload":
            st.error("The picture looks blank: no strokes stand out from the background.")
        else:
            st.info(str(e), icon=":material/draw:")
        st.stop()
    except data.DrawingError as e:
        st.error(str(e))
        st.stop()

    # -- 2. what the model makes of it ----------------------------------------------------------
    z = analysis.encode_dataset(cur.model, torch.from_numpy(x[None]))[0]  # (D,) posterior mean
    x_hat = analysis.decode(cur.model, z)[0]  # (H, W)
    how = ("Prepared as scikit-learn's digits were: scaled to fill 32×32, cut into 4×4 blocks "
           "whose 'on' pixels are counted (0–16)." if digits8 else
           "Prepared as MNIST was: the strokes' box scaled to fit 20×20 (grey levels from the "
           "anti-aliasing), placed in a 28×28 frame with its centre of mass at the centre.")
    common.show_images([x[0], x_hat], [f"What the model sees ({h}×{w})",
                                       "The model's reconstruction"], size=168)
    st.caption(how)

# -- 3. its nearest test images ------------------------------------------------------------------
st.subheader("Nearest test images")
found = neighbours.index_of(cur).query_new(z, x, neighbours.K)
neighbours.show_rows(cur, found)

# -- 4. its place on the map ---------------------------------------------------------------------
st.subheader("Where it lands on the latent map")
if dim == 2:
    method = "latent"
    st.caption("The code is 2-D: the map is the latent space itself, no projection.")
else:
    method = st.segmented_control(
        "Projection", ["umap", "pca"], default="umap", required=True, key="draw_map_method",
        bind="query-params",
        format_func={"umap": "UMAP", "pca": "PCA"}.get,
        help=f"The codes are {dim}-D. The map is fitted once on the test codes; your drawing "
             "is placed on it with the projection's transform.") or "umap"
try:
    fitted = fitted_map(str(cur.entry.path), cur.hash, cur.entry.dataset, method)
    spot = fitted.transform(z[None])[0]  # (2,)
except ExplorerError as e:
    st.error(f"The map could not be drawn: {e}")
    st.stop()
fig = figures_map.map_figure(fitted.coords, labels, names, method,
                             highlight=found.code_index.tolist())
fig.update_traces(selector=dict(name="chosen"), name="nearest test codes")
# WebGL like the rings, and added after them, so the star is drawn on top.
fig.add_trace(go.Scattergl(
    x=[spot[0]], y=[spot[1]], mode="markers", name="your drawing",
    marker=dict(symbol="star", size=22, color="black", line=dict(width=2, color="white")),
    hovertemplate="your drawing<extra></extra>"))
export_buttons.chart(common.chart_style(fig), key="draw_map", name=cur.entry.name,
                     settings=["your drawing on the map", export_buttons.method_name(method)])
st.caption("The black star is your drawing; the ringed points are its nearest test codes (in the "
           "full latent space, so on a projected map they may not look nearest).")
