"""Which browser session owns a training job: one active job per session, a closed tab cancels
its job, and a session that reconnects after a dropped connection keeps it."""

import uuid

import streamlit as st


def _release_session(owner: str) -> None:
    from explorer.jobs import get_engine

    get_engine().release_owner(owner)


@st.cache_resource(scope="session", on_release=_release_session, max_entries=64,
                   show_spinner=False)
def _released_with_session(owner: str) -> str:
    return owner  # the entry lives as long as the session; Streamlit releases it when it ends


def session_owner() -> str:
    """This browser session's id for the job engine: one active job per session, and a session
    that ends (the tab closed) cancels its queued or running job."""
    if "_owner" not in st.session_state:
        st.session_state["_owner"] = uuid.uuid4().hex
    return _released_with_session(st.session_state["_owner"])


def reclaim_session() -> None:
    """Every run: a session that reconnected after a dropped connection keeps its job (its
    session cache was released on the disconnect; this registers it again)."""
    if "_owner" in st.session_state:
        from explorer.jobs import running_engine

        if (engine := running_engine()) is not None:
            engine.reclaim(session_owner())
