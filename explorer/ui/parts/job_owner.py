"""Which browser session owns a training job: one active job per session, a closed tab cancels
its job, and a session that reconnects after a dropped connection keeps it."""

import uuid

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def _release_session(owner: str) -> None:
    from explorer.jobs import get_engine

    get_engine().release_owner(owner)


@st.cache_resource(scope="session", on_release=_release_session, max_entries=64,
                   show_spinner=False)
def _released_with_session(owner: str) -> str:
    return owner  # the entry lives as long as the session; Streamlit releases it when it ends


# owner -> the Streamlit session it belongs to (a session keeps its id when its connection drops
# and comes back). Read by the engine's thread through owner_connected.
_SESSIONS: dict[str, str] = {}


def owner_connected(owner: str) -> bool:
    """Is `owner`'s browser session connected to this server now? A tab whose connection came
    back is, even before its page runs again (under load a page's reruns lag far behind)."""
    from streamlit.runtime import Runtime

    session = _SESSIONS.get(owner)
    return session is not None and Runtime.exists() and Runtime.instance().is_active_session(
        session)


def session_owner() -> str:
    """This browser session's id for the job engine: one active job per session, and a session
    that ends (the tab closed) cancels its queued or running job."""
    if "_owner" not in st.session_state:
        st.session_state["_owner"] = uuid.uuid4().hex
    owner = st.session_state["_owner"]
    if (ctx := get_script_run_ctx()) is not None:
        _SESSIONS[owner] = ctx.session_id
    return _released_with_session(owner)


def owner_for(engine) -> str:
    """This session's owner id for a job given to `engine`, which learns from here how to ask
    whether a tab is connected (explorer.jobs knows nothing of Streamlit, and is not imported
    here: it brings torch, which the first page does without)."""
    engine.owner_connected = owner_connected
    return session_owner()


def reclaim_session() -> None:
    """Every run: a session that reconnected after a dropped connection keeps its job (its
    session cache was released on the disconnect; this registers it again)."""
    if "_owner" in st.session_state:
        from explorer.jobs import running_engine

        if (engine := running_engine()) is not None:
            engine.reclaim(owner_for(engine))
