"""What the server does once, for everyone, whichever page a first visitor opens."""

from __future__ import annotations

import time

import streamlit as st

from explorer import analysis, runs


@st.cache_resource(show_spinner=False)
def once_per_server() -> tuple[int, float]:
    """What a save killed mid-write left behind (a full disk, kill -9) goes before anyone looks.
    Returns how many jobs the server lost that way (their names freed) and when it started."""
    cleared = runs.clean_stale_temps()
    return sum(name.endswith(".reserved") for name in cleared), time.time()


@st.cache_resource(show_spinner=False)
def after_first_page() -> None:
    """Once the first visitor's page is drawn (it needs no torch: it is drawn sooner without the
    import competing for the CPU), prepare in the background what the next pages need."""
    analysis.start_in_background()
