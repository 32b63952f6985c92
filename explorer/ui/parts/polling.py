"""Fragments that look again every few seconds, at a period that depends on what they show.

Every rerun of a fragment costs its browser tens of milliseconds: Streamlit's page redraws its
element tree, more on a long page (bench/README.md, "What a page's refresh costs"). A classroom's
pages used to look twice a second whether or not there was anything to see; on a two-core server
that hosts the students' browsers in the benchmarks, that was most of the machine. So each
periodic fragment says how often it should look *now* (quickly while a run trains or the class
follows the teacher, slowly while nothing moves), and a full rerun draws it again when that
period changes: Streamlit keeps a fragment's ``run_every`` from the full run that drew it.

    polling.fragment("train_progress", 2.0, draw_progress)   # in the page's script
    ...
    polling.keep("train_progress", wanted)                    # first thing inside draw_progress
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

_PERIODS = "_polling_periods"  # {name: the run_every its fragment was drawn with}
_DRAWING = "_polling_full_run"  # the fragment a full run is drawing right now


def fragment(name: str, period: float | None, body: Callable, *args) -> None:
    """Draw `body(*args)` as a fragment rerun every `period` seconds (None: only when one of its
    own widgets changes)."""
    st.session_state.setdefault(_PERIODS, {})[name] = period
    st.session_state[_DRAWING] = name
    try:
        st.fragment(run_every=period)(body)(*args)
    finally:
        st.session_state.pop(_DRAWING, None)


def keep(name: str, period: float | None) -> None:
    """Inside `name`'s fragment: when it should now look every `period` seconds and was drawn
    with another period, a full rerun draws it again (nothing happens during a full run)."""
    if st.session_state.get(_DRAWING) == name:
        return
    if st.session_state.get(_PERIODS, {}).get(name, period) != period:
        st.rerun(scope="app")
