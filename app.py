"""Latent Explorer: see what autoencoders learn. Run with ``streamlit run app.py``.

This file is only the router: page setup, the shared sidebar (model picker) and navigation.
The pages live in ``explorer/ui/``; everything they compute comes from the ``explorer`` backend.
"""

import streamlit as st

from explorer.training import configure_threads
from explorer.ui import common

configure_threads()  # one torch thread per operation: many sessions share two cores
st.set_page_config(page_title="Latent Explorer", page_icon="🧭", layout="wide")

UI = "explorer/ui"
pages = {
    "Learn": [
        st.Page(f"{UI}/lessons.py", title="Lessons", icon=":material/school:",
                url_path="lessons"),
    ],
    "Explore": [
        st.Page(f"{UI}/latent_map.py", title="Latent map", icon=":material/scatter_plot:",
                default=True),  # the default page lives at "/"
        st.Page(f"{UI}/compare.py", title="Reconstructions", icon=":material/compare:",
                url_path="compare"),
        st.Page(f"{UI}/interpolate.py", title="Interpolate", icon=":material/linear_scale:",
                url_path="interpolate"),
        st.Page(f"{UI}/sample.py", title="Sample", icon=":material/casino:", url_path="sample"),
        st.Page(f"{UI}/draw.py", title="Draw a digit", icon=":material/draw:", url_path="draw"),
        st.Page(f"{UI}/inside.py", title="Inside the latent space", icon=":material/biotech:",
                url_path="inside"),
    ],
    "Build": [
        st.Page(f"{UI}/train.py", title="Train", icon=":material/model_training:",
                url_path="train"),
    ],
}
page = st.navigation(pages)
st.session_state["_entry"] = common.sidebar()
page.run()
