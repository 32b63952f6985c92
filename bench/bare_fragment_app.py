"""The reference for the refresh benchmark: the least a Streamlit page can do to show a live
progress bar. One fragment, rerun every second, draws a bar and a Stop button; nothing else is
on the page. No model, no torch, no data.

    streamlit run bench/bare_fragment_app.py
"""

import time

import streamlit as st

st.title("Bare live bar")


@st.fragment(run_every=1.0)
def live():
    second = int(time.time()) % 60
    st.progress(second / 60, text=f"Epoch {second} of 60")
    st.button("Stop", key="stop")


live()
