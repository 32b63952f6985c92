import numpy as np
import plotly.graph_objects as go
import streamlit as st
st.set_page_config(layout="wide")
st.title("Latent map")
rng = np.random.default_rng(0)
xy = rng.normal(size=(1000, 2)); lab = rng.integers(0, 10, 1000)
fig = go.Figure([go.Scattergl(x=xy[lab == c, 0], y=xy[lab == c, 1], mode="markers", name=str(c)) for c in range(10)])
st.plotly_chart(fig, on_select="rerun", key="m")
