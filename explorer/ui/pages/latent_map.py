"""Latent map page: the test set's codes in 2-D, in one of several views (bound to the URL as
``?map_view=``), each a module with ``show(cur)``:

- ``map``: the 2-D map, coloured by class or by one number per image; find or select points to
  see them (:mod:`map_2d`);
- ``beside``: two models' maps of the same test images side by side (:mod:`map_beside`);
- ``3d``: the codes in 3-D, to rotate (:mod:`map_3d`);
- ``plane``: decode anywhere, a plane of the latent space that decodes any clicked point
  (:mod:`map_plane`).

Where a view's picture comes from (the latent, a shipped or cached projection, PCA, a background
UMAP / t-SNE job) is :func:`explorer.ui.parts.map_parts.map_coords`.
"""

import importlib

import streamlit as st

from explorer.ui.parts import page_start, theory

# A view: its label on the switch (also what the URL holds) and the module whose show(cur) draws
# it, imported when chosen (the plane's decoder needs torch; the first map, drawn from kept
# codes, does not). A new view is one more entry here and one module with show(cur).
VIEWS = {
    "map": ("Map", "map_2d"),
    "beside": ("Two models", "map_beside"),
    "3d": ("3-D", "map_3d"),
    "plane": ("Decode anywhere", "map_plane"),
}

cur = page_start.start_page("Latent map", needs="encode", what="The latent map", load=False)
theory.explain(
    "Each point is one test image, placed where the encoder puts it: its **code** (for a VAE, "
    "the posterior mean μ). Colours are the true classes, which the model never saw while "
    "training; if same-coloured points gather, the code has captured what makes a digit that "
    "digit. A 2-D code is drawn as it is; a longer one is squeezed onto the screen by a "
    "projection — PCA keeps the broad layout, UMAP and t-SNE keep neighbours together but "
    "distort distances between clusters.",
    cfg=cur.cfg,
)
view = st.segmented_control(
    "View", list(VIEWS), default="map", key="map_view", required=True,
    format_func=lambda v: VIEWS[v][0], bind="query-params",
    help="Map: one model's test images, placed by their codes. Two models: the same test "
         "images on two models' maps, side by side. 3-D: the codes in three dimensions, to "
         "rotate. Decode anywhere: click any point of the latent plane to see what it decodes "
         "to.",
) or "map"
importlib.import_module(f"explorer.ui.parts.{VIEWS[view][1]}").show(cur)
