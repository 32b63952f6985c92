"""What the server does once, for everyone, whichever page a first visitor opens."""

from __future__ import annotations

import streamlit as st

from explorer import store, warmup


@st.cache_resource(show_spinner=False)
def once_per_server() -> None:
    """What a save killed mid-write left behind (a full disk, kill -9) goes before anyone looks;
    then, in the background, what the next visitors' pages need is prepared (explorer.warmup)."""
    store.clean_stale_temps()
    warmup.start_in_background()
