"""What the server does once, for everyone, whichever page a first visitor opens."""

from __future__ import annotations

import streamlit as st

from explorer import store, warmup


@st.cache_resource(show_spinner=False)
def once_per_server() -> None:
    """What a save killed mid-write left behind (a full disk, kill -9) goes before anyone looks."""
    store.clean_stale_temps()


@st.cache_resource(show_spinner=False)
def after_first_page() -> None:
    """Once the first visitor's page is drawn (it needs no torch: it is drawn sooner without the
    import competing for the CPU), prepare in the background what the next pages need."""
    warmup.start_in_background()
