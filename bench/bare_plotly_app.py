"""A second reference for the start-up benchmark: the least a Streamlit app can do to open on a
selectable plotly map like the Latent map's (1,000 points in ten WebGL class traces). What it
costs beyond ``bare_slider_app.py`` is Chromium loading and drawing plotly.js, which any page
opening on a plotly chart pays. No model, no torch, no dataset.

    streamlit run bench/bare_plotly_app.py
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(layout="wide")
st.title("Bare map")
rng = np.random.default_rng(0)
xy = rng.normal(size=(1000, 2))
label = rng.integers(0, 10, 1000)
fig = go.Figure([go.Scattergl(x=xy[label == c, 0], y=xy[label == c, 1], mode="markers",
                              name=str(c)) for c in range(10)])
st.plotly_chart(fig, on_select="rerun", key="map")
