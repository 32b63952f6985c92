"""Latent Explorer: see what autoencoders learn. Run with ``streamlit run app.py``.

This file is only the router: page setup, the shared sidebar (model picker) and navigation.
The pages live in ``explorer/ui/`` (their table in ``explorer/ui/pages.py``); everything they
compute comes from the ``explorer`` backend.
"""

import streamlit as st

from explorer.training import configure_threads
from explorer.ui import common, pages

configure_threads()  # one torch thread per operation: many sessions share two cores
st.set_page_config(page_title="Latent Explorer", page_icon="🧭", layout="wide")

page = st.navigation(pages.navigation())
st.session_state["_entry"] = common.sidebar()
pages.follow()  # a button's callback may have asked for another page
page.run()
