"""The reference for the slider and start-up benchmarks: the least a Streamlit app can do for
"move a slider, see a new 28x28 picture". A fragment holds a slider and an st.image of a 28x28
array upscaled to 196 px (nearest neighbour), captioned like the Interpolate page's image so the
same browser timer finds it. No model, no torch, no dataset.

    streamlit run bench/bare_slider_app.py
"""

import numpy as np
import streamlit as st

st.title("Bare slider")


@st.fragment
def pair_slider():
    t = st.slider("t: from start (0) to end (1)", 0.0, 1.0, 0.5, 0.01, key="t")
    rng = np.random.default_rng(int(round(t * 100)))  # a different picture for every t
    img = (rng.random((28, 28)) * 255).astype(np.uint8)
    big = np.repeat(np.repeat(img, 7, axis=0), 7, axis=1)  # 196 x 196, crisp pixels
    st.image([big], caption=[f"decoded at t = {t:.2f}"], width=196)


pair_slider()
